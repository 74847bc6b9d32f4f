//! An endpoint's rate limit across scheduler replicas: two delivery loops,
//! each with its own database pool and Redis connection, share one budget.

use crate::harness::{eventually, tenant};
use crate::webhook_receiver::*;
use catalytic_scheduler::webhooks::Webhooks;
use catalytic_scheduler::webhooks::rate_limit::RateLimiter;
use catalytic_shared::testkit::{TestDatabase, redis_url, unique_name};
use sqlx::PgPool;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn replica(
    db: &TestDatabase,
    settings: &catalytic_shared::config::WebhookSettings,
    prefix: &str,
) -> anyhow::Result<Webhooks> {
    let pool = PgPool::connect(&db.url).await?;
    let redis = redis::aio::ConnectionManager::new(redis::Client::open(redis_url())?).await?;
    Webhooks::with(
        pool,
        settings,
        fake_lookup(),
        RateLimiter::shared(redis, prefix),
    )
}

#[tokio::test]
async fn the_rate_limit_holds_across_two_replicas() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let mut settings = settings(0.001, true)?;
    // Small claims, so both replicas take turns at the endpoint.
    settings.batch = 4;
    let tenant = tenant(&db.pool).await?;
    let receiver = Receiver::start().await?;
    let url = format!("http://127.0.0.1:{}/hook", receiver.addr.port());
    endpoint(&db, &settings, tenant, &url).await?;
    let per_second = 20;
    sqlx::query("UPDATE webhook_endpoints SET rate_limit_per_second = $1")
        .bind(per_second)
        .execute(&db.pool)
        .await?;
    let n = 50;
    messages(&db, tenant, n).await?;
    let prefix = unique_name();
    let shutdown = CancellationToken::new();
    let a = tokio::spawn(
        replica(&db, &settings, &prefix)
            .await?
            .run(shutdown.clone()),
    );
    let b = tokio::spawn(
        replica(&db, &settings, &prefix)
            .await?
            .run(shutdown.clone()),
    );
    eventually(Duration::from_secs(30), || async {
        Ok((receiver.received().len() >= n).then_some(()))
    })
    .await?;
    shutdown.cancel();
    a.await?;
    b.await?;

    let mut arrivals: Vec<_> = receiver.received().iter().map(|r| r.at).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), n, "each message once");
    // Per-process limits would let two replicas reach 40/s. Slots are
    // 50 ms apart; allow 10 ms of scheduling jitter per gap.
    let spread = arrivals[n - 1] - arrivals[0];
    assert!(
        spread >= Duration::from_millis(40 * (n as u64 - 1)),
        "{n} sends in {spread:?}"
    );
    // About the limit in any one-second window: +1 for the window's edge,
    // +2 for a send that its task started late (a loaded machine) arriving
    // close to the next one. Per-process limits give ~40.
    let most = arrivals
        .iter()
        .enumerate()
        .map(|(i, start)| {
            arrivals[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        most <= per_second as usize + 3,
        "{most} arrivals in one second"
    );
    let deliveries: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT status FROM webhook_deliveries")
            .fetch_all(&db.pool)
            .await?;
    assert_eq!(deliveries, vec!["succeeded"]);
    receiver.stop.cancel();
    db.drop_database().await
}
