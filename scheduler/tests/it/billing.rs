//! Billing rounds against the real PostgreSQL (issue 7): hand-computed
//! totals, duplicated and late events, rerun idempotence, proration, the
//! immutability of finalised invoices and gap-free numbering. Usage events
//! are inserted directly with backdated times; every round gets `as_of`.

use catalytic_scheduler::billing::Billing;
use catalytic_shared::db;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use catalytic_shared::testkit::TestDatabase;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use std::time::Duration;

pub(crate) fn t(s: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(s)?.with_timezone(&Utc))
}

fn billing(pool: &PgPool) -> Billing {
    Billing {
        pool: pool.clone(),
        interval: Duration::from_secs(300),
        finalize_after: Duration::from_secs(3600),
        usage_retention: Duration::from_secs(400 * 86_400),
        meter: None,
    }
}

/// A tenant on `plan` since `since`.
async fn tenant(pool: &PgPool, plan: Plan, since: &str) -> anyhow::Result<TenantId> {
    let id = TenantId::new();
    db::tenants::create(pool, id, "billed", plan).await?;
    sqlx::query("UPDATE tenants SET created_at = $2 WHERE id = $1")
        .bind(id.as_uuid())
        .bind(t(since)?)
        .execute(pool)
        .await?;
    Ok(id)
}

/// What one batch of finished jobs looked like.
pub(crate) struct Jobs<'a> {
    pub n: i64,
    pub at: &'a str,
    pub billable: bool,
    pub visits: i64,
    pub compute_ms: i64,
    pub device: &'a str,
}

/// `n` finished jobs, each with its one usage event at `at`.
pub(crate) async fn usage(pool: &PgPool, tenant: TenantId, jobs: Jobs<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "WITH j AS (
             INSERT INTO jobs (id, tenant_id, status, operation, spec, queue_class, max_attempts, finished_at)
             SELECT gen_random_uuid(), $1, 'cancelled', 'shortest_path', '{}', 'low', 1, $7
             FROM generate_series(1, $2) RETURNING id)
         INSERT INTO usage_events (id, tenant_id, job_id, outcome, billable, vertex_visits, compute_ms, device, occurred_at)
         SELECT gen_random_uuid(), $1, j.id, 'succeeded', $3, $4, $5, $6, $7 FROM j",
    )
    .bind(tenant.as_uuid())
    .bind(jobs.n)
    .bind(jobs.billable)
    .bind(jobs.visits)
    .bind(jobs.compute_ms)
    .bind(jobs.device)
    .bind(t(jobs.at)?)
    .execute(pool)
    .await?;
    Ok(())
}

/// (status, number, total) of the tenant's invoice for the month starting at `start`.
async fn invoice(
    pool: &PgPool,
    tenant: TenantId,
    start: &str,
) -> anyhow::Result<(String, Option<String>, i64)> {
    Ok(sqlx::query_as(
        "SELECT status, number, total_cents FROM invoices WHERE tenant_id = $1 AND period_start = $2",
    )
    .bind(tenant.as_uuid())
    .bind(t(start)?)
    .fetch_one(pool)
    .await?)
}

/// (kind, quantity, cents) of each line, in order.
async fn lines(
    pool: &PgPool,
    tenant: TenantId,
    start: &str,
) -> anyhow::Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT l.kind, l.quantity, l.amount_cents FROM invoice_lines l
         JOIN invoices i ON i.id = l.invoice_id
         WHERE i.tenant_id = $1 AND i.period_start = $2 ORDER BY l.position",
    )
    .bind(tenant.as_uuid())
    .bind(t(start)?)
    .fetch_all(pool)
    .await?)
}

/// Every billing row that must not move on a rerun, timestamps of the
/// writes themselves aside.
async fn snapshot(pool: &PgPool) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT format('%s', r) FROM (
             SELECT tenant_id::text, hour::text, jobs, billable_jobs, vertex_visits,
                    cpu_vertex_visits, cpu_compute_ms, gpu_compute_ms, NULL::text AS x
             FROM usage_hourly
             UNION ALL
             SELECT id::text, period_start::text, total_cents, usage_micro_cents,
                    adjustment_micro_cents, NULL, NULL, NULL, status || coalesce(number, '')
             FROM invoices
             UNION ALL
             SELECT invoice_id::text, position::text, quantity, amount_micro_cents,
                    amount_cents, NULL, NULL, NULL, kind || description
             FROM invoice_lines) r
         ORDER BY 1",
    )
    .fetch_all(pool)
    .await?)
}

const APRIL: &str = "2026-04-01T00:00:00Z";
const MAY: &str = "2026-05-01T00:00:00Z";
const JUNE: &str = "2026-06-01T00:00:00Z";

#[tokio::test]
async fn a_starter_month_is_billed_as_computed_by_hand() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let pool = &db.pool;
    let tenant = tenant(pool, Plan::Starter, "2026-04-01T00:00:00Z").await?;
    // 10,000 CPU jobs of 7·10^6 visits, 3 GPU jobs of 10 s, and 5 platform
    // failures (not billed, however large).
    let cpu = Jobs {
        n: 10_000,
        at: "2026-04-10T10:15:00Z",
        billable: true,
        visits: 7_000_000,
        compute_ms: 20,
        device: "cpu",
    };
    usage(pool, tenant, cpu).await?;
    let gpu = Jobs {
        n: 3,
        at: "2026-04-10T11:30:00Z",
        billable: true,
        visits: 1_000,
        compute_ms: 10_000,
        device: "gpu",
    };
    usage(pool, tenant, gpu).await?;
    let failed = Jobs {
        n: 5,
        at: "2026-04-10T10:20:00Z",
        billable: false,
        visits: 1_000_000_000_000,
        compute_ms: 99_999,
        device: "gpu",
    };
    usage(pool, tenant, failed).await?;

    let round = billing(pool).run_once(t("2026-04-20T12:00:00Z")?).await?;
    assert_eq!(round.hours_rolled, 2);
    let hour: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT jobs, billable_jobs, cpu_vertex_visits, gpu_compute_ms FROM usage_hourly
         WHERE tenant_id = $1 AND hour = '2026-04-10T10:00:00Z'",
    )
    .bind(tenant.as_uuid())
    .fetch_one(pool)
    .await?;
    assert_eq!(hour, (10_005, 10_000, 70_000_000_000, 0));

    // Base 2,900 ¢; overage 3 × 0.2 ¢ = 0.6 → 1 ¢; CPU 70 × 0.01 ¢ = 0.7 →
    // 1 ¢; GPU 30 s × 0.05 ¢ = 1.5 → 2 ¢. Each line rounded once.
    let expected = vec![
        ("base".to_owned(), 30 * 86_400, 2_900),
        ("overage".to_owned(), 3, 1),
        ("compute_cpu".to_owned(), 70_000_000_000, 1),
        ("compute_gpu".to_owned(), 30_000, 2),
    ];
    assert_eq!(lines(pool, tenant, APRIL).await?, expected);
    assert_eq!(
        invoice(pool, tenant, APRIL).await?,
        ("draft".into(), None, 2_904)
    );

    // An hour after the month ends it is finalised, unchanged, numbered.
    let round = billing(pool).run_once(t("2026-05-01T01:00:00Z")?).await?;
    assert_eq!(round.invoices.finalised, 1);
    assert_eq!(
        invoice(pool, tenant, APRIL).await?,
        ("finalized".into(), Some("INV-2026-000001".into()), 2_904)
    );
    assert_eq!(lines(pool, tenant, APRIL).await?, expected);
    assert_eq!(invoice(pool, tenant, MAY).await?.0, "draft");
    db.drop_database().await
}

#[tokio::test]
async fn reruns_duplicates_and_late_events_land_on_the_same_totals() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let pool = &db.pool;
    let tenant = tenant(pool, Plan::Starter, "2026-04-01T00:00:00Z").await?;
    let cpu = |n, at| Jobs {
        n,
        at,
        billable: true,
        visits: 1_000_000_000,
        compute_ms: 5,
        device: "cpu",
    };
    usage(pool, tenant, cpu(10_001, "2026-04-05T08:00:00Z")).await?;
    let as_of = t("2026-04-20T12:00:00Z")?;
    billing(pool).run_once(as_of).await?;
    let first = snapshot(pool).await?;

    // A rerun changes nothing.
    billing(pool).run_once(as_of).await?;
    assert_eq!(snapshot(pool).await?, first);

    // A duplicated event (same job) is refused: a job is billed once.
    let duplicate = sqlx::query(
        "INSERT INTO usage_events (id, tenant_id, job_id, outcome, billable, vertex_visits, occurred_at)
         SELECT gen_random_uuid(), tenant_id, job_id, outcome, billable, vertex_visits, occurred_at
         FROM usage_events LIMIT 1",
    )
    .execute(pool)
    .await;
    assert!(
        duplicate.is_err(),
        "a second usage event for one job was accepted"
    );
    billing(pool).run_once(as_of).await?;
    assert_eq!(snapshot(pool).await?, first);

    // A late event for an already rolled hour re-rolls that hour whole.
    usage(pool, tenant, cpu(1, "2026-04-05T08:59:59Z")).await?;
    billing(pool).run_once(as_of).await?;
    let billed: i64 = sqlx::query_scalar(
        "SELECT billable_jobs FROM usage_hourly WHERE tenant_id = $1 AND hour = '2026-04-05T08:00:00Z'",
    )
    .bind(tenant.as_uuid())
    .fetch_one(pool)
    .await?;
    assert_eq!(billed, 10_002);
    // 2 overage jobs × 0.2 ¢ = 0.4 → 0 ¢; 10,002 × 10^9 visits × 0.01 ¢ per 10^9 = 100.02 → 100 ¢.
    assert_eq!(invoice(pool, tenant, APRIL).await?.2, 2_900 + 100);

    billing(pool).run_once(t("2026-05-01T01:00:00Z")?).await?;
    let april = invoice(pool, tenant, APRIL).await?;
    let april_lines = lines(pool, tenant, APRIL).await?;
    assert_eq!(april.0, "finalized");

    // After finalisation, 4 more April jobs: 6 overage in all (+0.8 ¢),
    // 3 × 10^9 more CPU visits (+0.03 ¢) and 100 GPU seconds (+5 ¢).
    usage(pool, tenant, cpu(3, "2026-04-30T23:00:00Z")).await?;
    let gpu = Jobs {
        n: 1,
        at: "2026-04-29T12:00:00Z",
        billable: true,
        visits: 0,
        compute_ms: 100_000,
        device: "gpu",
    };
    usage(pool, tenant, gpu).await?;
    billing(pool).run_once(t("2026-05-10T00:00:00Z")?).await?;
    assert_eq!(invoice(pool, tenant, APRIL).await?, april);
    assert_eq!(lines(pool, tenant, APRIL).await?, april_lines);
    // The late usage, 5.83 ¢, rounded once: 6 ¢ on May's invoice.
    let may = lines(pool, tenant, MAY).await?;
    assert_eq!(may.last(), Some(&("adjustment".to_owned(), 1, 6)));
    assert_eq!(invoice(pool, tenant, MAY).await?.2, 2_900 + 6);

    // The finalised invoice refuses any change, even by hand.
    let edit = sqlx::query("UPDATE invoices SET total_cents = 0 WHERE period_start = $1")
        .bind(t(APRIL)?)
        .execute(pool)
        .await;
    assert!(edit.is_err(), "a finalised invoice was changed");

    // Once May is finalised, the adjustment is not carried again.
    billing(pool).run_once(t("2026-06-01T01:00:00Z")?).await?;
    assert_eq!(invoice(pool, tenant, MAY).await?.2, 2_906);
    let june = lines(pool, tenant, JUNE).await?;
    assert!(
        june.iter().all(|(kind, _, _)| kind != "adjustment"),
        "{june:?}"
    );
    db.drop_database().await
}

#[tokio::test]
async fn a_mid_month_plan_change_prorates_the_base_by_seconds() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let pool = &db.pool;
    let tenant = tenant(pool, Plan::Free, "2026-03-01T00:00:00Z").await?;
    db::tenants::change_plan(pool, tenant, Plan::Professional).await?;
    let recorded: (String, String) =
        sqlx::query_as("SELECT from_plan, to_plan FROM plan_changes WHERE tenant_id = $1")
            .bind(tenant.as_uuid())
            .fetch_one(pool)
            .await?;
    assert_eq!(recorded, ("free".into(), "professional".into()));
    // The change happened on April 16 at midnight: 15 of April's 30 days.
    sqlx::query("UPDATE plan_changes SET changed_at = '2026-04-16T00:00:00Z'")
        .execute(pool)
        .await?;

    billing(pool).run_once(t("2026-04-20T12:00:00Z")?).await?;
    // March: free all month, finalised an hour after it ended.
    assert_eq!(
        invoice(pool, tenant, "2026-03-01T00:00:00Z").await?,
        ("finalized".into(), Some("INV-2026-000001".into()), 0)
    );
    // April: 9,900 × 15/30 = 4,950 ¢.
    assert_eq!(
        lines(pool, tenant, APRIL).await?.first(),
        Some(&("base".to_owned(), 30 * 86_400, 4_950))
    );
    db.drop_database().await
}

#[tokio::test]
async fn invoice_numbers_stay_gap_free_when_rounds_finalise_concurrently() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let pool = &db.pool;
    let mut tenants = Vec::new();
    for _ in 0..3 {
        tenants.push(tenant(pool, Plan::Starter, "2026-04-01T00:00:00Z").await?);
    }
    let as_of = t("2026-05-01T01:00:00Z")?;
    let (one, two) = (billing(pool), billing(pool));
    let (a, b) = tokio::join!(one.run_once(as_of), two.run_once(as_of));
    assert_eq!(a?.invoices.finalised + b?.invoices.finalised, 3);
    let numbers: Vec<String> = sqlx::query_scalar(
        "SELECT number FROM invoices WHERE status = 'finalized' ORDER BY number",
    )
    .fetch_all(pool)
    .await?;
    assert_eq!(
        numbers,
        ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    );
    let counter: i64 =
        sqlx::query_scalar("SELECT last_number FROM invoice_counters WHERE year = 2026")
            .fetch_one(pool)
            .await?;
    assert_eq!(counter, 3);
    db.drop_database().await
}
