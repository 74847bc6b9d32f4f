//! `quotas::begin_locked` (issue 17: BEGIN and the quota locks in one round
//! trip) takes the very locks `lock_tenant` and `lock_tenants` take: a
//! transaction begun with it waits while another holds a tenant's lock,
//! and goes on once that one ends.

use catalytic_shared::db::quotas;
use catalytic_shared::ids::TenantId;
use catalytic_shared::testkit::TestDatabase;
use std::time::{Duration, Instant};

#[tokio::test]
async fn begin_locked_waits_for_a_tenants_quota_lock_and_then_holds_it() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let (a, b) = (TenantId::new(), TenantId::new());
    let mut sorted = vec![a, b];
    sorted.sort();
    let mut holder = db.pool.begin().await?;
    quotas::lock_tenant(&mut holder, b).await?;

    let pool = db.pool.clone();
    let locked = sorted.clone();
    let waiter = tokio::spawn(async move {
        let tx = quotas::begin_locked(&pool, &locked).await?;
        anyhow::Ok(tx)
    });
    // The waiter blocks on an advisory lock (polled with a deadline).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event = 'advisory'",
        )
        .fetch_one(&db.pool)
        .await?;
        if waiting == 1 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "begin_locked never waited");
        tokio::task::yield_now().await;
    }
    assert!(!waiter.is_finished(), "it must wait for b's lock");
    holder.commit().await?;
    let mut tx = waiter.await??;
    // Now it holds both: another session cannot take either.
    let mut other = db.pool.acquire().await?;
    for t in sorted {
        let free: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1::uuid::text, 7))")
                .bind(t.as_uuid())
                .fetch_one(&mut *other)
                .await?;
        assert!(!free, "tenant {t}'s lock is held by the begun transaction");
    }
    sqlx::query("SELECT 1").execute(&mut *tx).await?;
    tx.rollback().await?;
    drop(other);
    db.drop_database().await
}
