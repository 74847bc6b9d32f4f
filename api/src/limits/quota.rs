//! Plan quotas (docs/adr/0003-plans.md): monthly jobs on plans without overage (402),
//! queued jobs (429), stored lattices (402). Checked inside the write's
//! transaction under a per-tenant lock, so they hold under concurrency.

use crate::db::quotas::{self, SubmitCounts};
use crate::error::ApiError;
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use sqlx::PgConnection;

/// Seconds a client is asked to wait when its queue is full: about how long
/// a job of the free plan may run.
pub const QUEUE_FULL_RETRY_SECS: u64 = 10;

/// Whether one more job of `tenant` may be admitted, given its counts read
/// under its lock and the jobs already admitted in this transaction (a
/// group-committed batch admits a tenant's submits one after the other
/// against one read of the counts). `None` admits it.
pub fn submit_refusal(plan: Plan, counts: &SubmitCounts, admitted: i64) -> Option<ApiError> {
    let limits = plan.limits();
    if let Some(since) = counts.suspended_at {
        return Some(ApiError::PaymentRequired {
            message: format!(
                "the tenant is suspended since {} after {} consecutive failed payments; pay the open Stripe invoice to resume submitting",
                since.to_rfc3339(),
                crate::stripe::FAILURES_TO_SUSPEND
            ),
            limit: "billing_suspended",
        });
    }
    // Only the free plan stops at its included jobs; paid plans are metered,
    // so only the free plan's submits count the month's jobs.
    if let Some(used) = counts.jobs_this_month
        && used + admitted >= limits.jobs_included_per_month as i64
    {
        return Some(ApiError::PaymentRequired {
            message: format!(
                "the {plan} plan includes {} jobs per month and they are used; the count resets at {}; upgrade for more",
                limits.jobs_included_per_month,
                counts.month_resets_at.to_rfc3339()
            ),
            limit: "jobs_per_month",
        });
    }
    if counts.queued + admitted >= i64::from(limits.queued_at_most) {
        return Some(ApiError::TooManyRequests {
            message: format!(
                "{} jobs are already queued, the {plan} plan's limit; submit again as they start",
                limits.queued_at_most
            ),
            limit: "queued_jobs",
            retry_after: Some(QUEUE_FULL_RETRY_SECS),
        });
    }
    None
}

/// Whether the month's jobs must be counted for `plan` (only the free plan
/// stops at its included jobs).
pub fn counts_month(plan: Plan) -> bool {
    plan == Plan::Free
}

pub async fn check_lattices(
    conn: &mut PgConnection,
    tenant: TenantId,
    plan: Plan,
) -> Result<(), ApiError> {
    let Some(cap) = plan.limits().lattices else {
        return Ok(());
    };
    quotas::lock_tenant(conn, tenant).await?;
    if quotas::live_lattices(conn, tenant).await? >= i64::from(cap) {
        return Err(ApiError::PaymentRequired {
            message: format!(
                "the {plan} plan stores at most {cap} lattices; delete one or upgrade"
            ),
            limit: "lattices",
        });
    }
    Ok(())
}
