//! The counts plan quotas are checked against (issue 4, docs/adr/0003-plans.md),
//! and the decision on them. They run inside the submitting transaction after
//! `lock_tenant` (`lock_tenants` for a batch of submits), so two concurrent
//! submits of one tenant cannot both pass a cap with one slot left. The api's
//! submits and the scheduler's cron fires (issue 21) both go through them.

use super::DbError;
use crate::ids::TenantId;
use crate::tenant::Plan;
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Postgres, Transaction};
use std::collections::HashMap;

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

/// Serialises the quota checks of several tenants (a group-committed
/// batch of submits) until the transaction ends. The locks are taken in
/// the order given, one row of the function scan after the other; every
/// caller passes them sorted, so two batches (two api replicas) holding
/// overlapping tenants cannot deadlock.
pub async fn lock_tenants(conn: &mut PgConnection, sorted: &[TenantId]) -> Result<(), DbError> {
    let ids: Vec<uuid::Uuid> = sorted.iter().map(|t| t.as_uuid()).collect();
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended(t::text, 7)) FROM unnest($1::uuid[]) AS t",
        &ids,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A transaction that already holds `sorted`'s quota locks, as
/// [`lock_tenants`] takes them, begun in one round trip instead of two:
/// `BEGIN` and the lock statement go as one simple query (sqlx's
/// `begin_with`). A group-committed submit batch pays five round trips
/// (docs/benchmarks.md, "Running cheap jobs through"); this is one of them.
/// The ids are written into the statement as UUID literals: a `TenantId`
/// prints only hex digits and dashes, so nothing can be injected.
pub async fn begin_locked(
    pool: &PgPool,
    sorted: &[TenantId],
) -> Result<Transaction<'static, Postgres>, DbError> {
    let ids: Vec<String> = sorted
        .iter()
        .map(|t| format!("'{}'", t.as_uuid()))
        .collect();
    let statement = format!(
        "BEGIN; SELECT pg_advisory_xact_lock(hashtextextended(t::text, 7)) \
         FROM unnest(ARRAY[{}]::uuid[]) AS t",
        ids.join(",")
    );
    Ok(pool.begin_with(AssertSqlSafe(statement)).await?)
}

/// The counts of each `(tenant, count_month)`, in one statement. Run it
/// after `lock_tenants`, as its own statement: its snapshot must be taken
/// after the locks are held, or a submit that committed while we waited
/// would be missed.
///
/// `count_month`: whether to count the month's jobs. The count scans the
/// tenant's jobs of the month, which on a metered plan grows without bound
/// and was a fifth of the database's time per submit under load (issue 8);
/// on a plan that stops at its quota it is bounded by that quota.
///
/// Queued jobs are not counted but read from the ledger of
/// migrations/0018_queued_counts.sql (issue 17: counting them cost
/// O(queue depth) per submit and collapsed the first soak). The statement
/// folds each tenant's deltas into its counter row (`folded`) and answers
/// the new total; a tenant with no new deltas answers its stored row. Only
/// this statement writes counter rows, and only under the tenant's quota
/// lock, so the fold never races another. A delta committed after this
/// statement's snapshot is neither deleted nor counted: the next fold takes
/// it.
pub async fn submit_counts(
    conn: &mut PgConnection,
    tenants: &[(TenantId, bool)],
) -> Result<HashMap<TenantId, SubmitCounts>, DbError> {
    let ids: Vec<uuid::Uuid> = tenants.iter().map(|(t, _)| t.as_uuid()).collect();
    let count_month: Vec<bool> = tenants.iter().map(|(_, c)| *c).collect();
    let rows = sqlx::query!(
        r#"WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start),
           taken AS (
               DELETE FROM job_queue_deltas WHERE tenant_id = ANY($1::uuid[])
               RETURNING tenant_id, delta),
           folded AS (
               INSERT INTO tenant_queue_counts AS c (tenant_id, queued)
               SELECT tenant_id, sum(delta) FROM taken GROUP BY tenant_id
               ON CONFLICT (tenant_id) DO UPDATE SET queued = c.queued + EXCLUDED.queued
               RETURNING tenant_id, queued)
           SELECT
             t.id AS "tenant!: TenantId",
             t.count_month AS "count_month!",
             (SELECT count(*) FROM jobs, month
              WHERE t.count_month AND jobs.tenant_id = t.id AND jobs.created_at >= month.start) AS "month!",
             COALESCE((SELECT queued FROM folded f WHERE f.tenant_id = t.id),
                      (SELECT queued FROM tenant_queue_counts c WHERE c.tenant_id = t.id),
                      0)::int8 AS "queued!",
             (SELECT start + interval '1 month' FROM month) AS "resets!",
             (SELECT suspended_at FROM stripe_customers s WHERE s.tenant_id = t.id) AS "suspended_at?"
           FROM unnest($1::uuid[], $2::bool[]) AS t(id, count_month)"#,
        &ids,
        &count_month,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let counts = SubmitCounts {
                jobs_this_month: row.count_month.then_some(row.month),
                queued: row.queued,
                month_resets_at: row.resets,
                suspended_at: row.suspended_at,
            };
            (row.tenant, counts)
        })
        .collect())
}

/// Why one more job of a tenant is not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Suspended for failed payments since then.
    Suspended { since: DateTime<Utc> },
    /// The plan's included jobs of the month are used (plans without
    /// overage); the count resets then.
    JobsPerMonth {
        included: u64,
        resets_at: DateTime<Utc>,
    },
    /// The plan's queued-jobs cap is reached.
    QueuedJobs { at_most: u32 },
}

/// Whether one more job of a tenant on `plan` may be admitted, given its
/// counts read under its lock and the jobs already admitted since that
/// read in this transaction (a group-committed batch, or a round of cron
/// ticks). `None` admits it.
pub fn refusal(plan: Plan, counts: &SubmitCounts, admitted: i64) -> Option<Refusal> {
    let limits = plan.limits();
    if let Some(since) = counts.suspended_at {
        return Some(Refusal::Suspended { since });
    }
    // Only the free plan stops at its included jobs; paid plans are metered,
    // so only the free plan's submits count the month's jobs.
    if let Some(used) = counts.jobs_this_month
        && used + admitted >= limits.jobs_included_per_month as i64
    {
        return Some(Refusal::JobsPerMonth {
            included: limits.jobs_included_per_month,
            resets_at: counts.month_resets_at,
        });
    }
    if counts.queued + admitted >= i64::from(limits.queued_at_most) {
        return Some(Refusal::QueuedJobs {
            at_most: limits.queued_at_most,
        });
    }
    None
}

/// Whether the month's jobs must be counted for `plan` (only the free plan
/// stops at its included jobs).
pub fn counts_month(plan: Plan) -> bool {
    plan == Plan::Free
}
