//! The submit: the plan's quotas are checked, and the job row, its outbox
//! row and its idempotency record (when the request had an
//! `Idempotency-Key`) commit together. The api never talks to RabbitMQ: the
//! relay publishes after commit, so a 202 means the job is durable whatever
//! the broker is doing (docs/adr/0001-processes.md). Every submit, single, re-run or bulk,
//! goes through the group commit of `submit_batch`, which may share its
//! transaction with concurrent submits.

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::job_request::{Dependencies, JobIn, ParentRef, Uniqueness};
use crate::submit_batch::{Item, Submission, SubmitBatcher};
use catalytic_shared::db;
use catalytic_shared::ids::{JobId, LatticeId, TenantId};
use catalytic_shared::job::{JobSpec, LatticeDef};
use catalytic_shared::tenant::Plan;
use chrono::{DateTime, Utc};

pub use crate::submit_batch::{Placed, Submit};

/// The row a validated job becomes; `run_at` (from `JobIn::run_at`)
/// makes it a scheduled one, `unique` (from `JobIn::uniqueness`) gives it a
/// uniqueness hold from now.
pub fn new_job(
    tenant: TenantId,
    plan: Plan,
    spec: &JobSpec,
    lattice_id: Option<LatticeId>,
    run_at: Option<DateTime<Utc>>,
    unique: Option<&Uniqueness>,
) -> Result<db::jobs::NewJob, ApiError> {
    let mut job = db::jobs::NewJob::from_spec(tenant, plan, spec, lattice_id)?;
    job.run_at = run_at;
    job.traceparent = crate::trace_context::for_new_job();
    job.unique = unique.map(|u| db::jobs::UniqueHold {
        key: u
            .key
            .clone()
            .unwrap_or_else(|| request_digest(&job.spec, lattice_id)),
        until: Utc::now() + u.window,
    });
    Ok(job)
}

/// The row a submitted body becomes (single submit or bulk item): when to
/// run it, its uniqueness, its validated spec. `stored` is the lattice its
/// `lattice_id` names, already looked up (tenant-scoped).
///
/// `earlier` are the job ids of the bulk submit's earlier items (None for a
/// refused one), which `depends_on` may name by index; None for a single
/// submit. Whether parents named by id exist is checked by
/// [`missing_parents`].
pub fn from_request(
    tenant: TenantId,
    plan: Plan,
    job: JobIn,
    stored: Option<(LatticeId, LatticeDef)>,
    earlier: Option<&[Option<JobId>]>,
) -> Result<db::jobs::NewJob, ApiError> {
    let limits = plan.limits();
    let lattice_id = stored.as_ref().map(|(id, _)| *id);
    let run_at = job.run_at(&limits, Utc::now())?;
    let unique = job.uniqueness()?;
    let parents = job
        .dependencies()?
        .map(|d| resolve_parents(&d, earlier))
        .transpose()?;
    let concurrency = job.concurrency()?;
    let result_ttl = job.result_ttl(&limits)?;
    let spec = job.into_spec(&limits, stored.map(|(_, def)| def))?;
    // A parent's output as this job's input: there must be one parent.
    if let catalytic_shared::job::Operation::Transform(t) = &spec.operation
        && t.data.from_parent()
        && parents.as_ref().is_none_or(|p| p.ids.len() != 1)
    {
        return Err(ApiError::field(
            "params.data.from",
            "needs depends_on naming exactly one parent, whose output it takes",
        ));
    }
    let mut new = new_job(tenant, plan, &spec, lattice_id, run_at, unique.as_ref())?;
    new.parents = parents;
    new.concurrency = concurrency;
    new.result_ttl = result_ttl;
    Ok(new)
}

/// Each parent as a job id: an id as given, an item index as that earlier
/// item's job.
fn resolve_parents(
    deps: &Dependencies,
    earlier: Option<&[Option<JobId>]>,
) -> Result<db::jobs::Parents, ApiError> {
    let ids = deps
        .parents
        .iter()
        .enumerate()
        .map(|(i, parent)| {
            let field = || format!("depends_on[{i}]");
            match (parent, earlier) {
                (ParentRef::Job(id), _) => Ok(JobId::from_uuid(*id)),
                (ParentRef::Item(_), None) => Err(ApiError::field(
                    field(),
                    "an item index names an item of the same bulk submit; give a job id",
                )),
                (ParentRef::Item(k), Some(items)) => match items.get(*k) {
                    None => Err(ApiError::field(
                        field(),
                        format!(
                            "must be the index of an earlier item (below {})",
                            items.len()
                        ),
                    )),
                    Some(None) => Err(ApiError::field(field(), format!("item {k} was refused"))),
                    Some(Some(id)) => Ok(*id),
                },
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(db::jobs::Parents {
        ids,
        run_on_failure: deps.run_on_failure,
    })
}

/// For each of `jobs`, its refusal if it names a parent by id that is not
/// one of the tenant's jobs (another tenant's job is the same as none),
/// naming that parent; one query for all of them, however many there are.
/// Parents among `jobs` themselves (a bulk submit's earlier items) exist
/// once it commits.
pub async fn missing_parents(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    jobs: &[&db::jobs::NewJob],
) -> Result<Vec<Option<ApiError>>, ApiError> {
    let known: std::collections::HashSet<JobId> = jobs.iter().map(|j| j.id).collect();
    let parents = |job: &db::jobs::NewJob| -> Vec<JobId> {
        job.parents
            .as_ref()
            .map(|p| p.ids.clone())
            .unwrap_or_default()
    };
    let mut outside: Vec<JobId> = jobs
        .iter()
        .flat_map(|job| parents(job))
        .filter(|id| !known.contains(id))
        .collect();
    outside.sort_by_key(|id| id.as_uuid());
    outside.dedup();
    let found: std::collections::HashSet<JobId> = match outside.is_empty() {
        true => Default::default(),
        false => db::job_queries::existing(pool, tenant, &outside)
            .await?
            .into_iter()
            .collect(),
    };
    Ok(jobs
        .iter()
        .map(|job| {
            let ids = parents(job);
            let i = ids
                .iter()
                .position(|id| !known.contains(id) && !found.contains(id))?;
            Some(ApiError::field(
                format!("depends_on[{i}]"),
                format!("no job {} of yours", ids[i]),
            ))
        })
        .collect())
}

/// The stored lattice a request names by `lattice_id`, with its
/// definition (tenant-scoped: another tenant's is 404 as a missing one).
pub async fn stored_lattice(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    lattice_id: Option<uuid::Uuid>,
) -> Result<Option<(LatticeId, LatticeDef)>, ApiError> {
    let Some(id) = lattice_id else {
        return Ok(None);
    };
    let id = LatticeId::from_uuid(id);
    let row = crate::db::lattices::get(pool, tenant, id)
        .await?
        .ok_or(ApiError::NotFound("lattice"))?;
    Ok(Some((id, row.definition()?)))
}

/// The default uniqueness key: a digest of the validated request (the
/// stored lattice's id too, when it named one), so two submits of the same
/// computation share it. `request:` keeps it apart from keys clients name
/// (a client may still name one that looks like it: that is its choice).
fn request_digest(spec: &serde_json::Value, lattice_id: Option<LatticeId>) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(spec.to_string().as_bytes());
    if let Some(lattice) = lattice_id {
        hash.update(lattice.as_uuid().as_bytes());
    }
    format!("request:{}", hex::encode(hash.finalize()))
}

/// Stores the job (made by `new_job`), answered after the commit that
/// holds it. With `idempotency`, a live record of the same key (a
/// concurrent submit that committed first, or came first in the same batch)
/// stores nothing and answers `Submit::KeyTaken`; the caller re-reads the
/// record. A job with a uniqueness hold whose key a live hold has is not
/// stored: the answer is `Placed::Existing` with the holder.
pub async fn submit(
    submits: &SubmitBatcher,
    plan: Plan,
    job: db::jobs::NewJob,
    idempotency: Option<&IdempotencyKey>,
) -> Result<Placed, Submit> {
    let outcome = call(
        submits,
        Submission {
            tenant: job.tenant_id,
            plan,
            items: vec![Item::Job(Box::new(job))],
            idempotency: idempotency.cloned(),
            bulk: false,
        },
    )
    .await?;
    match outcome.into_iter().next() {
        Some(Ok(placed)) => Ok(placed),
        Some(Err(refusal)) => Err(Submit::Refused(refusal)),
        None => Err(Submit::Refused(ApiError::Internal(anyhow::anyhow!(
            "a submit was answered without its job"
        )))),
    }
}

/// Submits a stored, already validated spec again, as a new job queued
/// now, without a key (a re-run, a schedule's manual trigger): the quotas
/// apply as to any submit.
pub async fn submit_stored(
    submits: &SubmitBatcher,
    scope: &crate::auth::TenantScope,
    spec: &JobSpec,
    lattice_id: Option<LatticeId>,
) -> Result<JobId, ApiError> {
    let job = db::jobs::NewJob::from_spec(scope.tenant_id, scope.plan, spec, lattice_id)?;
    match submit(submits, scope.plan, job, None).await {
        Ok(placed) => Ok(placed.id()),
        Err(Submit::Refused(e)) => Err(e),
        Err(Submit::KeyTaken) => Err(ApiError::Internal(anyhow::anyhow!(
            "idempotency conflict without a key"
        ))),
    }
}

/// Hands a submission to the group commit and waits for its commit.
pub async fn call(
    submits: &SubmitBatcher,
    submission: Submission,
) -> Result<Vec<Result<Placed, ApiError>>, Submit> {
    // One lane per tenant (submit_batch.rs): the tenant's lock is then
    // only ever taken by one flusher at a time.
    let lane = submission.tenant.as_uuid().as_u64_pair().1;
    submits
        .call_in(lane, submission)
        .await
        .map_err(|stopped| Submit::Refused(ApiError::Internal(anyhow::Error::new(stopped))))?
}
