//! Nothing lost, nothing done twice (issue 5), through process faults: a
//! worker killed mid-job, and a worker stopped with jobs in flight. Each
//! test ends with the ledger: every accepted job terminal exactly once.

use catalytic_e2e::{Binary, Client, Env, Ledger, wait_ready, wait_until};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::time::Duration;

/// Short leases so a lost worker is noticed in seconds, not the default 30.
const FAST_LEASES: [(&str, &str); 2] = [
    ("CATALYTIC_WORKER__LEASE_SECS", "3"),
    ("CATALYTIC_WORKER__HEARTBEAT_SECS", "1"),
];

/// A job that computes for a few seconds in a debug build: components of a
/// blocked 3-D lattice (blocking defeats the closed form).
fn long_job() -> Value {
    json!({"lattice": {"size": [300, 300, 300], "blocked": {"fraction": 0.05, "seed": 7}}, "operation": "components"})
}

fn small_job(i: u32) -> Value {
    json!({"lattice": {"dimensions": 2, "size": 20}, "operation": "shortest_path",
           "params": {"start": [0, i % 20], "end": [19, 19 - i % 20]}})
}

async fn status(client: &Client, id: &str) -> anyhow::Result<String> {
    Ok(client.job(id).await?["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_nothing_and_does_nothing_twice() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("enterprise")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _scheduler = env.spawn(
        Binary::Scheduler,
        &[("CATALYTIC_SCHEDULER__REAPER_INTERVAL_MS", "200")],
    )?;
    let mut doomed = env.spawn(Binary::Worker, &FAST_LEASES)?;
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;
    let client = Client::new(env.api_url(), key);

    let long = client.submit(&long_job()).await?;
    for i in 0..10 {
        client.submit(&small_job(i)).await?;
    }
    wait_until("the long job to run", Duration::from_secs(30), || async {
        Ok((status(&client, &long).await? == "running").then_some(()))
    })
    .await?;
    doomed.signal(Signal::SIGKILL)?;
    doomed.wait_exit(Duration::from_secs(10)).await?;

    // A fresh worker takes over once the dead one's lease expires.
    let _rescuer = env.spawn(Binary::Worker, &FAST_LEASES)?;
    Ledger::settle(&env.db.pool, Duration::from_secs(120)).await?;
    let job = client.job(&long).await?;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        job["attempt"], 2,
        "the lost attempt was counted and retried"
    );
    env.teardown().await
}

#[tokio::test]
async fn sigterm_lets_in_flight_jobs_finish_then_exits_cleanly() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("enterprise")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let _scheduler = env.spawn(Binary::Scheduler, &[])?;
    let mut worker = env.spawn(
        Binary::Worker,
        &[("CATALYTIC_WORKER__SHUTDOWN_GRACE_SECS", "60")],
    )?;
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;
    let client = Client::new(env.api_url(), key);

    let long = client.submit(&long_job()).await?;
    wait_until("the long job to run", Duration::from_secs(30), || async {
        Ok((status(&client, &long).await? == "running").then_some(()))
    })
    .await?;
    worker.signal(Signal::SIGTERM)?;
    let exit = worker.wait_exit(Duration::from_secs(90)).await?;
    assert!(
        exit.success(),
        "the worker drains and exits 0: {exit:?}\n{}",
        worker.log_text()
    );
    let job = client.job(&long).await?;
    assert_eq!(
        (job["status"].clone(), job["attempt"].clone()),
        (json!("succeeded"), json!(1)),
        "{job}"
    );
    assert!(worker.log_text().contains("draining in-flight jobs"));
    Ledger::settle(&env.db.pool, Duration::from_secs(10)).await?;
    env.teardown().await
}

/// The scheduler stops on SIGTERM within its bounds (its duties' grace,
/// then each close: catalytic_shared::shutdown), after it has published
/// and relayed work, and exits 0. A scheduler once waited 17 minutes on a
/// SIGTERM with nothing left to do.
#[tokio::test]
async fn the_scheduler_exits_promptly_and_cleanly_on_sigterm() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let key = env.bootstrap("enterprise")?;
    let _api = env.spawn(Binary::Api, &[])?;
    let mut scheduler = env.spawn(Binary::Scheduler, &[])?;
    let _worker = env.spawn(Binary::Worker, &[])?;
    wait_ready(
        &format!("{}/readyz", env.api_url()),
        Duration::from_secs(30),
    )
    .await?;
    let client = Client::new(env.api_url(), key);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(client.submit(&small_job(i)).await?);
    }
    for id in &ids {
        wait_until("each job to succeed", Duration::from_secs(30), || async {
            Ok((status(&client, id).await? == "succeeded").then_some(()))
        })
        .await?;
    }
    let stopping = std::time::Instant::now();
    scheduler.signal(Signal::SIGTERM)?;
    // 10 s for the duties and 5 s for each of two closes, with room.
    let exit = scheduler.wait_exit(Duration::from_secs(30)).await?;
    assert!(
        exit.success(),
        "the scheduler exits 0: {exit:?}\n{}",
        scheduler.log_text()
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(25),
        "stopping took {:?}",
        stopping.elapsed()
    );
    Ledger::settle(&env.db.pool, Duration::from_secs(10)).await?;
    env.teardown().await
}
