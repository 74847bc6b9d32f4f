//! The counts plan quotas are checked against (issue 4, docs/adr/0003-plans.md). They run
//! inside the submitting transaction after `lock_tenant`, so two concurrent
//! submits of one tenant cannot both pass a cap with one slot left.

use catalytic_shared::db::DbError;
use catalytic_shared::ids::TenantId;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Serialises one tenant's quota checks until the transaction ends.
pub async fn lock_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<(), DbError> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::uuid::text, 7))",
        tenant as TenantId
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a submit is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitCounts {
    /// Jobs submitted since the start of this UTC calendar month, when
    /// asked for (only plans that stop at their included jobs need it).
    pub jobs_this_month: Option<i64>,
    /// Jobs waiting to run.
    pub queued: i64,
    /// When the monthly count resets: the next UTC month's first instant.
    pub month_resets_at: DateTime<Utc>,
    /// Set while the tenant is suspended for failed payments (issue 7).
    pub suspended_at: Option<DateTime<Utc>>,
}

/// `count_month`: whether to count the month's jobs. The count scans the
/// tenant's jobs of the month, which on a metered plan grows without bound
/// and was a fifth of the database's time per submit under load (issue 8);
/// on a plan that stops at its quota it is bounded by that quota.
pub async fn submit_counts(
    conn: &mut PgConnection,
    tenant: TenantId,
    count_month: bool,
) -> Result<SubmitCounts, DbError> {
    let row = sqlx::query!(
        r#"WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
           SELECT
             (SELECT count(*) FROM jobs, month
              WHERE $2 AND tenant_id = $1 AND created_at >= month.start) AS "month!",
             (SELECT count(*) FROM jobs WHERE tenant_id = $1 AND status = 'queued') AS "queued!",
             (SELECT start + interval '1 month' FROM month) AS "resets!",
             (SELECT suspended_at FROM stripe_customers WHERE tenant_id = $1) AS "suspended_at?""#,
        tenant as TenantId,
        count_month,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(SubmitCounts {
        jobs_this_month: count_month.then_some(row.month),
        queued: row.queued,
        month_resets_at: row.resets,
        suspended_at: row.suspended_at,
    })
}

/// Live (not deleted) lattices of the tenant.
pub async fn live_lattices(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM lattices WHERE tenant_id = $1 AND deleted_at IS NULL"#,
        tenant as TenantId
    )
    .fetch_one(&mut *conn)
    .await?)
}
