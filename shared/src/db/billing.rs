//! SQL of billing (docs/adr/0003-plans.md, docs/adr/0005-scheduler.md): plan history, hourly usage
//! rollups, and invoices with their lines and gap-free numbers. The arithmetic lives in
//! `crate::billing`; this module only moves rows.

use super::DbError;
use crate::billing::{Line, Period, PlanChange, Usage};
use crate::ids::{InvoiceId, TenantId};
use crate::tenant::Plan;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// Records a plan change (inside the transaction that made it).
pub async fn record_plan_change(
    conn: &mut PgConnection,
    tenant: TenantId,
    from: &str,
    to: Plan,
) -> Result<(), DbError> {
    sqlx::query!(
        "INSERT INTO plan_changes (tenant_id, from_plan, to_plan) VALUES ($1, $2, $3)",
        tenant as TenantId,
        from,
        to.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Re-rolls every (tenant, UTC hour) holding an event recorded since the
/// watermark, recomputing the hour from all its events (an upsert, so
/// duplicates and late events land on the same totals), then advances the
/// watermark. The rescan overlaps by `overlap` so an event whose
/// transaction committed after a later one's is not missed. Hours before
/// `usage_pruned_before` are never re-rolled: their events are pruned. One
/// transaction; the watermark row lock serialises scheduler replicas.
/// Returns the hours re-rolled.
pub async fn reroll_hours(pool: &PgPool, overlap: std::time::Duration) -> Result<u64, DbError> {
    let mut tx = pool.begin().await?;
    let state = sqlx::query!(
        "SELECT rollup_watermark, usage_pruned_before FROM billing_state WHERE singleton FOR UPDATE"
    )
    .fetch_one(&mut *tx)
    .await?;
    let newest = sqlx::query_scalar!(r#"SELECT max(recorded_at) AS "newest" FROM usage_events"#)
        .fetch_one(&mut *tx)
        .await?;
    let Some(newest) = newest else {
        return Ok(0);
    };
    // Surprise: date_trunc on timestamptz follows the session time zone;
    // the 'UTC' argument pins hours to UTC whatever the connection says.
    let rolled = sqlx::query!(
        r#"WITH touched AS (
               SELECT DISTINCT tenant_id, date_trunc('hour', occurred_at, 'UTC') AS hour
               FROM usage_events
               WHERE recorded_at > $1::timestamptz - make_interval(secs => $2)
                 AND occurred_at >= $3)
           INSERT INTO usage_hourly AS u (tenant_id, hour, jobs, billable_jobs, vertex_visits,
                                          cpu_vertex_visits, cpu_compute_ms, gpu_compute_ms, rolled_at)
           SELECT t.tenant_id, t.hour, count(*),
                  count(*) FILTER (WHERE e.billable),
                  coalesce(sum(e.vertex_visits) FILTER (WHERE e.billable), 0)::bigint,
                  coalesce(sum(e.vertex_visits) FILTER (WHERE e.billable AND e.device IS DISTINCT FROM 'gpu'), 0)::bigint,
                  coalesce(sum(e.compute_ms) FILTER (WHERE e.billable AND e.device IS DISTINCT FROM 'gpu'), 0)::bigint,
                  coalesce(sum(e.compute_ms) FILTER (WHERE e.billable AND e.device = 'gpu'), 0)::bigint,
                  now()
           FROM touched t
           JOIN usage_events e ON e.tenant_id = t.tenant_id
                AND e.occurred_at >= t.hour AND e.occurred_at < t.hour + interval '1 hour'
           GROUP BY t.tenant_id, t.hour
           ON CONFLICT (tenant_id, hour) DO UPDATE SET
               jobs = EXCLUDED.jobs, billable_jobs = EXCLUDED.billable_jobs,
               vertex_visits = EXCLUDED.vertex_visits, cpu_vertex_visits = EXCLUDED.cpu_vertex_visits,
               cpu_compute_ms = EXCLUDED.cpu_compute_ms, gpu_compute_ms = EXCLUDED.gpu_compute_ms,
               rolled_at = EXCLUDED.rolled_at,
               -- Changed since the Billing Meter export: due again (the difference).
               meter_exported_at = CASE
                   WHEN (EXCLUDED.billable_jobs, EXCLUDED.cpu_vertex_visits, EXCLUDED.gpu_compute_ms)
                        = (u.meter_sent_jobs, u.meter_sent_cpu_visits, u.meter_sent_gpu_ms)
                   THEN u.meter_exported_at END"#,
        state.rollup_watermark,
        overlap.as_secs_f64(),
        state.usage_pruned_before,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query!(
        "UPDATE billing_state SET rollup_watermark = greatest(rollup_watermark, $1) WHERE singleton",
        newest,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rolled)
}

/// The traces of jobs whose usage events were recorded since the rollup
/// watermark (at most `limit`): the next rollup makes a span in each (issue
/// 23). Best effort: an event that commits after this read and before the
/// rollup is rolled without a span.
pub async fn unrolled_traces(pool: &PgPool, limit: i64) -> Result<Vec<String>, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT j.traceparent AS "traceparent!"
           FROM usage_events e JOIN jobs j ON j.id = e.job_id
           WHERE e.recorded_at > (SELECT rollup_watermark FROM billing_state WHERE singleton)
             AND j.traceparent IS NOT NULL
           ORDER BY e.recorded_at LIMIT $1"#,
        limit,
    )
    .fetch_all(pool)
    .await?)
}

/// What invoicing needs to know of a tenant.
#[derive(Debug, Clone)]
pub struct BillableTenant {
    pub id: TenantId,
    pub plan: Plan,
    pub created_at: DateTime<Utc>,
    /// The end of its latest finalised period, if any.
    pub finalised_until: Option<DateTime<Utc>>,
}

pub async fn billable_tenants(pool: &PgPool) -> Result<Vec<BillableTenant>, DbError> {
    let rows = sqlx::query!(
        r#"SELECT t.id AS "id: TenantId", t.plan, t.created_at,
                  (SELECT max(period_end) FROM invoices i
                   WHERE i.tenant_id = t.id AND i.status = 'finalized') AS finalised_until
           FROM tenants t ORDER BY t.id"#
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(BillableTenant {
                id: r.id,
                plan: parse_plan(&r.plan)?,
                created_at: r.created_at,
                finalised_until: r.finalised_until,
            })
        })
        .collect()
}

fn parse_plan(s: &str) -> Result<Plan, DbError> {
    s.parse()
        .map_err(|_| DbError::Corrupt(format!("unknown plan {s:?}")))
}

/// The tenant's plan changes, oldest first.
pub async fn plan_changes(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Vec<PlanChange>, DbError> {
    let rows = sqlx::query!(
        "SELECT changed_at, from_plan, to_plan FROM plan_changes
         WHERE tenant_id = $1 ORDER BY changed_at, id",
        tenant as TenantId,
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PlanChange {
                at: r.changed_at,
                from: parse_plan(&r.from_plan)?,
                to: parse_plan(&r.to_plan)?,
            })
        })
        .collect()
}

/// Billed usage of the tenant's rolled-up hours in `period`.
pub async fn period_usage(
    conn: &mut PgConnection,
    tenant: TenantId,
    period: Period,
) -> Result<Usage, DbError> {
    let r = sqlx::query!(
        r#"SELECT coalesce(sum(billable_jobs), 0)::bigint AS "jobs!",
                  coalesce(sum(cpu_vertex_visits), 0)::bigint AS "cpu_visits!",
                  coalesce(sum(gpu_compute_ms), 0)::bigint AS "gpu_ms!"
           FROM usage_hourly WHERE tenant_id = $1 AND hour >= $2 AND hour < $3"#,
        tenant as TenantId,
        period.start,
        period.end,
    )
    .fetch_one(conn)
    .await?;
    Ok(Usage {
        billable_jobs: r.jobs,
        cpu_vertex_visits: r.cpu_visits,
        gpu_compute_ms: r.gpu_ms,
    })
}

/// A finalised invoice as adjustments see it.
#[derive(Debug, Clone, Copy)]
pub struct Finalised {
    pub period: Period,
    pub usage_micro_cents: i64,
    pub adjustment_micro_cents: i64,
}

/// The tenant's finalised invoices for periods before `before`.
pub async fn finalised_before(
    conn: &mut PgConnection,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<Vec<Finalised>, DbError> {
    let rows = sqlx::query!(
        "SELECT period_start, period_end, usage_micro_cents, adjustment_micro_cents
         FROM invoices WHERE tenant_id = $1 AND status = 'finalized' AND period_start < $2
         ORDER BY period_start",
        tenant as TenantId,
        before,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Finalised {
            period: Period {
                start: r.period_start,
                end: r.period_end,
            },
            usage_micro_cents: r.usage_micro_cents,
            adjustment_micro_cents: r.adjustment_micro_cents,
        })
        .collect())
}

/// Locks the tenant's draft for `period`, creating it if absent. None when
/// the period's invoice is already finalised (immutable).
pub async fn lock_draft(
    conn: &mut PgConnection,
    tenant: TenantId,
    period: Period,
) -> Result<Option<InvoiceId>, DbError> {
    sqlx::query!(
        "INSERT INTO invoices (id, tenant_id, period_start, period_end) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, period_start) DO NOTHING",
        InvoiceId::new() as InvoiceId,
        tenant as TenantId,
        period.start,
        period.end,
    )
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query!(
        r#"SELECT id AS "id: InvoiceId", status FROM invoices
           WHERE tenant_id = $1 AND period_start = $2 FOR UPDATE"#,
        tenant as TenantId,
        period.start,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.status == "draft").then_some(row.id))
}

/// What a draft holds after a refresh.
pub struct DraftContent<'a> {
    pub lines: &'a [Line],
    pub total_cents: i64,
    pub usage_micro_cents: i64,
    pub adjustment_micro_cents: i64,
}

fn micro_i64(micro: i128) -> Result<i64, DbError> {
    i64::try_from(micro).map_err(|_| DbError::Corrupt(format!("amount {micro} µ¢ overflows")))
}

/// Replaces a locked draft's lines and totals. Only touches drafts (a
/// trigger refuses any change to a finalised invoice besides).
pub async fn write_draft(
    conn: &mut PgConnection,
    invoice: InvoiceId,
    content: &DraftContent<'_>,
) -> Result<(), DbError> {
    sqlx::query!(
        "DELETE FROM invoice_lines WHERE invoice_id = $1",
        invoice as InvoiceId
    )
    .execute(&mut *conn)
    .await?;
    for (position, line) in (1_i32..).zip(content.lines) {
        sqlx::query!(
            "INSERT INTO invoice_lines (invoice_id, position, kind, description, quantity,
                                        amount_micro_cents, amount_cents)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            invoice as InvoiceId,
            position,
            line.kind.as_str(),
            line.description,
            line.quantity,
            micro_i64(line.amount_micro_cents)?,
            line.amount_cents,
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE invoices SET total_cents = $2, usage_micro_cents = $3, adjustment_micro_cents = $4,
                             updated_at = now()
         WHERE id = $1 AND status = 'draft'",
        invoice as InvoiceId,
        content.total_cents,
        content.usage_micro_cents,
        content.adjustment_micro_cents,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Finalises a locked draft: takes the next number of `at`'s year from its
/// counter row in this same transaction (so a rollback returns it: no gaps)
/// and freezes the invoice. Returns the number, `INV-2026-000001`.
pub async fn finalise(
    conn: &mut PgConnection,
    invoice: InvoiceId,
    year: i32,
    at: DateTime<Utc>,
) -> Result<String, DbError> {
    let n = sqlx::query_scalar!(
        "INSERT INTO invoice_counters (year, last_number) VALUES ($1, 1)
         ON CONFLICT (year) DO UPDATE SET last_number = invoice_counters.last_number + 1
         RETURNING last_number",
        year,
    )
    .fetch_one(&mut *conn)
    .await?;
    let number = format!("INV-{year}-{n:06}");
    sqlx::query!(
        "UPDATE invoices SET status = 'finalized', number = $2, finalized_at = $3, updated_at = now()
         WHERE id = $1 AND status = 'draft'",
        invoice as InvoiceId,
        number,
        at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(number)
}

/// One bucket of `GET /v1/usage`.
#[derive(Debug, Clone)]
pub struct UsageBucket {
    pub start: DateTime<Utc>,
    pub jobs: i64,
    pub billable_jobs: i64,
    pub vertex_visits: i64,
    pub cpu_compute_ms: i64,
    pub gpu_compute_ms: i64,
}

/// The tenant's rolled-up hours starting in `[from, to)`, summed per UTC
/// `granularity` (`hour`, `day` or `month`: a date_trunc field).
pub async fn usage_buckets(
    pool: &PgPool,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: &str,
) -> Result<Vec<UsageBucket>, DbError> {
    Ok(sqlx::query_as!(
        UsageBucket,
        r#"SELECT date_trunc($4, hour, 'UTC') AS "start!",
                  sum(jobs)::bigint AS "jobs!", sum(billable_jobs)::bigint AS "billable_jobs!",
                  sum(vertex_visits)::bigint AS "vertex_visits!",
                  sum(cpu_compute_ms)::bigint AS "cpu_compute_ms!",
                  sum(gpu_compute_ms)::bigint AS "gpu_compute_ms!"
           FROM usage_hourly WHERE tenant_id = $1 AND hour >= $2 AND hour < $3
           GROUP BY 1 ORDER BY 1"#,
        tenant as TenantId,
        from,
        to,
        granularity,
    )
    .fetch_all(pool)
    .await?)
}

/// An invoice as its tenant sees it.
#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub id: InvoiceId,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub status: String,
    pub number: Option<String>,
    pub currency: String,
    pub total_cents: i64,
    pub finalized_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The tenant's invoices, newest first (ids are UUIDv7), after `after`.
pub async fn list_invoices(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<InvoiceId>,
    limit: i64,
) -> Result<Vec<InvoiceRow>, DbError> {
    Ok(sqlx::query_as!(
        InvoiceRow,
        r#"SELECT id AS "id: InvoiceId", period_start, period_end, status, number, currency,
                  total_cents, finalized_at, updated_at
           FROM invoices WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
           ORDER BY id DESC LIMIT $3"#,
        tenant as TenantId,
        after.map(|a| a.as_uuid()),
        limit,
    )
    .fetch_all(pool)
    .await?)
}

pub async fn get_invoice(
    pool: &PgPool,
    tenant: TenantId,
    id: InvoiceId,
) -> Result<Option<InvoiceRow>, DbError> {
    Ok(sqlx::query_as!(
        InvoiceRow,
        r#"SELECT id AS "id: InvoiceId", period_start, period_end, status, number, currency,
                  total_cents, finalized_at, updated_at
           FROM invoices WHERE tenant_id = $1 AND id = $2"#,
        tenant as TenantId,
        id as InvoiceId,
    )
    .fetch_optional(pool)
    .await?)
}

/// A stored line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub kind: String,
    pub description: String,
    pub quantity: i64,
    pub amount_cents: i64,
}

/// The lines of an invoice already scoped to its tenant, in order.
pub async fn invoice_lines(pool: &PgPool, invoice: InvoiceId) -> Result<Vec<LineRow>, DbError> {
    Ok(sqlx::query_as!(
        LineRow,
        "SELECT kind, description, quantity, amount_cents FROM invoice_lines
         WHERE invoice_id = $1 ORDER BY position",
        invoice as InvoiceId,
    )
    .fetch_all(pool)
    .await?)
}

/// The database's clock: billing's time, so every replica agrees.
pub async fn now(pool: &PgPool) -> Result<DateTime<Utc>, DbError> {
    Ok(sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(pool)
        .await?)
}
