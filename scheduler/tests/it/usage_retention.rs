//! Usage event retention (issue 7): events go only once their period's
//! invoice has been final for the retention window; the rollups and the
//! invoice are untouched, and a pruned hour is never re-rolled smaller.

use crate::billing::{Jobs, t, usage};
use catalytic_scheduler::billing::Billing;
use catalytic_shared::db;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::TestDatabase;
use sqlx::PgPool;
use std::time::Duration;

/// `n` billable events of finished jobs, occurred and recorded at `at`
/// (as the terminal transaction would have written them then).
async fn events(pool: &PgPool, tenant: TenantId, n: i64, at: &str) -> anyhow::Result<()> {
    let jobs = Jobs {
        n,
        at,
        billable: true,
        visits: 100,
        compute_ms: 10,
        device: "cpu",
    };
    usage(pool, tenant, jobs).await?;
    sqlx::query("UPDATE usage_events SET recorded_at = occurred_at WHERE occurred_at = $1")
        .bind(t(at)?)
        .execute(pool)
        .await?;
    Ok(())
}

async fn count_events(pool: &PgPool, tenant: TenantId) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM usage_events WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_one(pool)
            .await?,
    )
}

/// (billable jobs of the January 10th 09:00 hour, January invoice total, its status).
async fn january(pool: &PgPool, tenant: TenantId) -> anyhow::Result<(i64, i64, String)> {
    let jobs: i64 = sqlx::query_scalar(
        "SELECT billable_jobs FROM usage_hourly WHERE tenant_id = $1 AND hour = '2026-01-10T09:00:00Z'",
    )
    .bind(tenant.as_uuid())
    .fetch_one(pool)
    .await?;
    let (total, status): (i64, String) = sqlx::query_as(
        "SELECT total_cents, status FROM invoices
         WHERE tenant_id = $1 AND period_start = '2026-01-01T00:00:00Z'",
    )
    .bind(tenant.as_uuid())
    .fetch_one(pool)
    .await?;
    Ok((jobs, total, status))
}

#[tokio::test]
async fn old_usage_events_are_pruned_only_after_their_invoice_is_final() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let billing = Billing {
        pool: db.pool.clone(),
        interval: Duration::from_secs(300),
        finalize_after: Duration::from_secs(3600),
        // A day after finalisation.
        usage_retention: Duration::from_secs(86_400),
        meter: None,
    };
    let tenant = TenantId::new();
    db::tenants::create(&db.pool, tenant, "retained", Plan::Starter).await?;
    sqlx::query("UPDATE tenants SET created_at = '2025-12-01T00:00:00Z' WHERE id = $1")
        .bind(tenant.as_uuid())
        .execute(&db.pool)
        .await?;
    events(&db.pool, tenant, 12_000, "2026-01-10T09:30:00Z").await?;
    events(&db.pool, tenant, 2, "2026-01-31T23:50:00Z").await?;
    events(&db.pool, tenant, 3, "2026-02-01T00:20:00Z").await?;

    // 00:30 on February 1st: January's events are 3 weeks old, but January
    // is still a draft.
    let round = billing.run_once(t("2026-02-01T00:30:00Z")?).await?;
    assert_eq!(round.usage_events_pruned, 0);
    assert_eq!(count_events(&db.pool, tenant).await?, 12_005);
    let (jobs, draft_total, status) = january(&db.pool, tenant).await?;
    assert_eq!((jobs, status.as_str()), (12_000, "draft"));

    // 02:00: January is finalised, but not yet for a day.
    let round = billing.run_once(t("2026-02-01T02:00:00Z")?).await?;
    assert_eq!(
        (round.invoices.finalised, round.usage_events_pruned),
        (1, 0)
    );

    // A day later all of January's events go; February's stay (its invoice
    // is a draft).
    let round = billing.run_once(t("2026-02-02T02:30:00Z")?).await?;
    assert_eq!(round.usage_events_pruned, 12_002);
    assert_eq!(count_events(&db.pool, tenant).await?, 3);
    assert_eq!(
        january(&db.pool, tenant).await?,
        (12_000, draft_total, "finalized".to_owned())
    );

    // A late event of a pruned hour does not re-roll it from the survivors.
    usage(
        &db.pool,
        tenant,
        Jobs {
            n: 1,
            at: "2026-01-10T09:40:00Z",
            billable: true,
            visits: 100,
            compute_ms: 10,
            device: "cpu",
        },
    )
    .await?;
    billing.run_once(t("2026-02-02T02:40:00Z")?).await?;
    assert_eq!(january(&db.pool, tenant).await?.0, 12_000);
    db.drop_database().await
}
