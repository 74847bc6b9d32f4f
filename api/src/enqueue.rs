//! The submit: the plan's quotas are checked, and the job row, its outbox
//! row and its idempotency record (when the request had an
//! `Idempotency-Key`) commit together. The api never talks to RabbitMQ: the
//! relay publishes after commit, so a 202 means the job is durable whatever
//! the broker is doing (docs/adr/0001-processes.md). Every submit, single, re-run or bulk,
//! goes through the group commit of `submit_batch`, which may share its
//! transaction with concurrent submits.

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::submit_batch::{Item, Submission, SubmitBatcher};
use catalytic_shared::db;
use catalytic_shared::ids::{JobId, LatticeId, TenantId};
use catalytic_shared::job::JobSpec;
use catalytic_shared::tenant::Plan;
use chrono::{DateTime, Utc};

pub use crate::submit_batch::Submit;

/// The row a validated job becomes; `run_at` (from `JobIn::run_at`)
/// makes it a scheduled one.
pub fn new_job(
    tenant: TenantId,
    plan: Plan,
    spec: &JobSpec,
    lattice_id: Option<LatticeId>,
    run_at: Option<DateTime<Utc>>,
) -> Result<db::jobs::NewJob, ApiError> {
    let limits = plan.limits();
    Ok(db::jobs::NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        operation: spec.operation.name(),
        spec: serde_json::to_value(spec).map_err(|e| ApiError::Internal(e.into()))?,
        queue_class: plan.queue(),
        max_attempts: i32::try_from(limits.attempts).unwrap_or(i32::MAX),
        time_limit: limits.time_limit,
        lattice_id,
        run_at,
    })
}

/// Stores the job, answered after the commit that holds it. With
/// `idempotency`, a live record of the same key (a concurrent submit that
/// committed first, or came first in the same batch) stores nothing and
/// answers `Submit::KeyTaken`; the caller re-reads the record.
pub async fn submit(
    submits: &SubmitBatcher,
    tenant: TenantId,
    plan: Plan,
    spec: &JobSpec,
    lattice_id: Option<LatticeId>,
    run_at: Option<DateTime<Utc>>,
    idempotency: Option<&IdempotencyKey>,
) -> Result<JobId, Submit> {
    let job = new_job(tenant, plan, spec, lattice_id, run_at)?;
    let outcome = call(
        submits,
        Submission {
            tenant,
            plan,
            items: vec![Item::Job(job)],
            idempotency: idempotency.cloned(),
            bulk: false,
        },
    )
    .await?;
    match outcome.into_iter().next() {
        Some(Ok(id)) => Ok(id),
        Some(Err(refusal)) => Err(Submit::Refused(refusal)),
        None => Err(Submit::Refused(ApiError::Internal(anyhow::anyhow!(
            "a submit was answered without its job"
        )))),
    }
}

/// Hands a submission to the group commit and waits for its commit.
pub async fn call(
    submits: &SubmitBatcher,
    submission: Submission,
) -> Result<Vec<Result<JobId, ApiError>>, Submit> {
    // One lane per tenant (submit_batch.rs): the tenant's lock is then
    // only ever taken by one flusher at a time.
    let lane = submission.tenant.as_uuid().as_u64_pair().1;
    submits
        .call_in(lane, submission)
        .await
        .map_err(|stopped| Submit::Refused(ApiError::Internal(anyhow::Error::new(stopped))))?
}
