//! Plan quotas (docs/adr/0003-plans.md): monthly jobs on plans without overage (402),
//! queued jobs (429), stored lattices (402). Checked inside the write's
//! transaction under a per-tenant lock, so they hold under concurrency.

use crate::db::quotas::{self, SubmitCounts};
use crate::error::ApiError;
use catalytic_shared::db::quotas::{self as shared_quotas, Refusal};
use catalytic_shared::ids::TenantId;
use catalytic_shared::tenant::Plan;
use sqlx::PgConnection;

/// Seconds a client is asked to wait when its queue is full: about how long
/// a job of the free plan may run.
pub const QUEUE_FULL_RETRY_SECS: u64 = 10;

/// Whether one more job of `tenant` may be admitted, given its counts read
/// under its lock and the jobs already admitted in this transaction (a
/// group-committed batch admits a tenant's submits one after the other
/// against one read of the counts). `None` admits it. The decision is
/// shared with the scheduler's cron fires (`quotas::refusal`); this says
/// it as the API answers it.
pub fn submit_refusal(plan: Plan, counts: &SubmitCounts, admitted: i64) -> Option<ApiError> {
    Some(match shared_quotas::refusal(plan, counts, admitted)? {
        Refusal::Suspended { since } => ApiError::PaymentRequired {
            message: format!(
                "the tenant is suspended since {} after {} consecutive failed payments; pay the open Stripe invoice to resume submitting",
                since.to_rfc3339(),
                crate::stripe::FAILURES_TO_SUSPEND
            ),
            limit: "billing_suspended",
        },
        Refusal::JobsPerMonth {
            included,
            resets_at,
        } => ApiError::PaymentRequired {
            message: format!(
                "the {plan} plan includes {included} jobs per month and they are used; the count resets at {}; upgrade for more",
                resets_at.to_rfc3339()
            ),
            limit: "jobs_per_month",
        },
        Refusal::QueuedJobs { at_most } => ApiError::TooManyRequests {
            message: format!(
                "{at_most} jobs are already queued, the {plan} plan's limit; submit again as they start"
            ),
            limit: "queued_jobs",
            retry_after: Some(QUEUE_FULL_RETRY_SECS),
        },
    })
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
