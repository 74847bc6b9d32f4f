//! SQL of the Stripe Billing Meter export (issue 7): the hourly rollups not
//! yet (fully) sent for tenants mapped to a Stripe customer, and the marker
//! that records what was sent. `usage_hourly.meter_sent_*` hold the totals
//! Stripe has; `meter_exported_at` is set once they equal the row's, and a
//! re-roll that changes the row clears it (see `billing::reroll_hours`).

use catalytic_shared::db::DbError;
use catalytic_shared::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The three metered quantities of an hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MeterTotals {
    pub jobs: i64,
    pub cpu_vertex_visits: i64,
    pub gpu_ms: i64,
}

/// One rollup row due for export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterDue {
    pub tenant: TenantId,
    pub hour: DateTime<Utc>,
    pub customer: String,
    /// The row's totals now.
    pub totals: MeterTotals,
    /// What Stripe already has for the hour.
    pub sent: MeterTotals,
}

/// Rows not exported of hours starting before `closed_before`, oldest
/// first. Partial index `usage_hourly_meter_due`.
pub async fn due(
    pool: &PgPool,
    closed_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<MeterDue>, DbError> {
    let rows = sqlx::query!(
        r#"SELECT u.tenant_id AS "tenant: TenantId", u.hour, c.customer_id,
                  u.billable_jobs, u.cpu_vertex_visits, u.gpu_compute_ms,
                  u.meter_sent_jobs, u.meter_sent_cpu_visits, u.meter_sent_gpu_ms
           FROM usage_hourly u JOIN stripe_customers c ON c.tenant_id = u.tenant_id
           WHERE u.meter_exported_at IS NULL AND u.hour < $1
           ORDER BY u.hour, u.tenant_id LIMIT $2"#,
        closed_before,
        limit,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MeterDue {
            tenant: r.tenant,
            hour: r.hour,
            customer: r.customer_id,
            totals: MeterTotals {
                jobs: r.billable_jobs,
                cpu_vertex_visits: r.cpu_vertex_visits,
                gpu_ms: r.gpu_compute_ms,
            },
            sent: MeterTotals {
                jobs: r.meter_sent_jobs,
                cpu_vertex_visits: r.meter_sent_cpu_visits,
                gpu_ms: r.meter_sent_gpu_ms,
            },
        })
        .collect())
}

/// Records what Stripe now has for the hour; the row is exported when that
/// is all of it (a re-roll since the read leaves it due).
pub async fn mark_sent(
    pool: &PgPool,
    tenant: TenantId,
    hour: DateTime<Utc>,
    sent: MeterTotals,
) -> Result<(), DbError> {
    sqlx::query!(
        "UPDATE usage_hourly SET meter_sent_jobs = $3, meter_sent_cpu_visits = $4,
             meter_sent_gpu_ms = $5,
             meter_exported_at = CASE
                 WHEN (billable_jobs, cpu_vertex_visits, gpu_compute_ms) = ($3, $4, $5)
                 THEN now() END
         WHERE tenant_id = $1 AND hour = $2",
        tenant as TenantId,
        hour,
        sent.jobs,
        sent.cpu_vertex_visits,
        sent.gpu_ms,
    )
    .execute(pool)
    .await?;
    Ok(())
}
