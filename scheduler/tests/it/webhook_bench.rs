//! Webhook delivery measurements, never run in CI (`#[ignore]`); results in
//! docs/benchmarks.md.

use crate::harness::tenant;
use crate::webhook_receiver::*;
use catalytic_scheduler::webhooks::Webhooks;
use catalytic_shared::ids::WebhookMessageId;
use catalytic_shared::testkit::TestDatabase;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Not a CI test: `cargo nextest run -p catalytic-scheduler --run-ignored
/// only throughput` prints events/s to a local receiver.
#[tokio::test]
#[ignore]
async fn throughput_to_a_local_receiver() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let endpoints = 10;
    // WEBHOOK_BENCH_MESSAGES messages (100) to each of 10 endpoints.
    let n = endpoints
        * std::env::var("WEBHOOK_BENCH_MESSAGES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(100);
    let mut receivers = Vec::new();
    for _ in 0..endpoints {
        let r = Receiver::start().await?;
        endpoint(
            &db,
            &settings,
            tenant,
            &format!("http://127.0.0.1:{}/hook", r.addr.port()),
        )
        .await?;
        receivers.push(r);
    }
    messages(&db, tenant, n / endpoints).await?;
    let shutdown = CancellationToken::new();
    // The duty is built (HTTP client, TLS roots) before the clock starts;
    // the clock stops at the last delivery's arrival, not at a poll.
    let built = std::time::Instant::now();
    let webhooks = Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?;
    let build_time = built.elapsed();
    let started = std::time::Instant::now();
    let window_start = boot_clock();
    let task = tokio::spawn(webhooks.run(shutdown.clone()));
    for r in &receivers {
        r.wait_for(n / endpoints, Duration::from_secs(120)).await?;
    }
    let mut arrivals: Vec<std::time::Instant> = receivers
        .iter()
        .flat_map(|r| r.received().into_iter().map(|x| x.at))
        .collect();
    arrivals.sort();
    let at = |p: usize| {
        arrivals
            .get(arrivals.len() * p / 100)
            .map(|t| t.saturating_duration_since(started))
    };
    println!(
        "arrivals after the start: 10 % {:?}, 50 % {:?}, 90 % {:?}",
        at(10),
        at(50),
        at(90)
    );
    let last = arrivals.iter().max().copied().unwrap_or(started);
    let first = arrivals.iter().min().copied().unwrap_or(started);
    let elapsed = last.saturating_duration_since(started);
    if let (Some(from), Some(to)) = (window_start, boot_clock()) {
        // For `perf record -k boottime` then `perf report --time from,to`.
        println!("delivery window on the boot clock: {from},{to}");
    }
    shutdown.cancel();
    task.await?;
    println!(
        "{n} deliveries ({} messages x {endpoints} endpoints) in {elapsed:?}: {:.0} deliveries/s (first after {:?}; duty built in {build_time:?}, not counted)",
        n / endpoints,
        n as f64 / elapsed.as_secs_f64(),
        first.saturating_duration_since(started),
    );
    db.drop_database().await
}

/// Seconds since boot (`/proc/uptime`, CLOCK_BOOTTIME, 10 ms resolution):
/// marks the delivery phase for a system-wide profile.
fn boot_clock() -> Option<String> {
    let uptime = std::fs::read_to_string("/proc/uptime").ok()?;
    uptime.split_whitespace().next().map(str::to_owned)
}

/// Not a CI test: event → delivered latency at 200 events/s to one local
/// receiver (`--run-ignored only latency`).
#[tokio::test]
#[ignore]
async fn latency_at_200_events_per_second() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let settings = settings(0.001, true)?;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    endpoint(
        &db,
        &settings,
        tenant,
        &format!("http://127.0.0.1:{}/hook", receiver.addr.port()),
    )
    .await?;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(
        Webhooks::with_lookup(db.pool.clone(), &settings, fake_lookup())?.run(shutdown.clone()),
    );
    let n = 1000;
    let mut committed = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    for i in 0..n {
        tick.tick().await;
        let id = WebhookMessageId::new();
        sqlx::query("INSERT INTO webhook_messages (id, tenant_id, event_type, payload) VALUES ($1, $2, 'job.succeeded', $3)")
            .bind(id.as_uuid())
            .bind(tenant.as_uuid())
            .bind(json!({"type": "job.succeeded", "data": {"n": i}}))
            .execute(&db.pool)
            .await?;
        committed.insert(id.to_string(), std::time::Instant::now());
    }
    receiver.wait_for(n, Duration::from_secs(60)).await?;
    shutdown.cancel();
    task.await?;
    let mut latencies: Vec<Duration> = receiver
        .received()
        .iter()
        .filter_map(|r| {
            committed
                .get(&r.id)
                .map(|c| r.at.saturating_duration_since(*c))
        })
        .collect();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "event -> delivered at 200/s over {n}: p50 {:?}, p99 {:?}, max {:?}",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    receiver.stop.cancel();
    db.drop_database().await
}
