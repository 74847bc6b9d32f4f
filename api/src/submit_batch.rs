//! Group commit of submits (issue 17): concurrent submits, single or bulk,
//! share one transaction. A submit's price on this machine is its round
//! trips to PostgreSQL (~200 µs of CPU each, docs/benchmarks.md); a batch
//! pays them once:
//!
//! 1. `BEGIN` and lock the batch's tenants, sorted, in one round trip
//!    (`quotas::begin_locked`)
//! 2. read every tenant's quota counts in one statement
//! 3. one statement writes the idempotency records, the jobs and their
//!    outbox rows (`jobs::insert_batch`, multi-row `unnest`)
//! 4. `COMMIT`, then each request is answered.
//!
//! Between 2 and 3, when a job of the batch asks for uniqueness, one
//! statement reads the live holds of its keys (`jobs::live_unique_keys`;
//! the tenant locks keep them true until the commit): a job whose key a
//! live hold, or an earlier job of the batch, has is not stored and is
//! answered the holder (`Placed::Existing`), using no quota.
//!
//! Between 2 and 3, requests are admitted in arrival order, each tenant's
//! against its counts plus what the batch already admitted for it, so a
//! quota holds exactly as if the submits had run one by one. A request
//! whose `Idempotency-Key` an earlier request of the batch holds, or a live
//! record holds (another replica's commit), stores nothing and answers
//! `Submit::KeyTaken`, as a lone submit did. If the batch fails with a
//! database error before its COMMIT, each request is run again alone, so
//! one poison request (a lattice deleted since its lookup) fails only
//! itself; a failed COMMIT (which may have committed) is not run again.
//!
//! Batching comes from `GroupCommit`: no timer, a lone submit goes at once;
//! batches form while the flusher is in a round trip. Each tenant's submits
//! go to one lane (`GroupCommit::spawn_lanes`, keyed by the tenant), one
//! flusher per lane, so flushers never wait on each other's tenant locks:
//! with one shared queue, a batch that locked tenants a, b, c held up the
//! batch that needed b, and under a backlog those waits cost ~150 ms per
//! batch (docs/benchmarks.md).

use crate::error::ApiError;
use crate::idempotency::IdempotencyKey;
use crate::limits::quota;
use crate::responses::BulkItem;
use catalytic_shared::db::jobs::{Holder, NewJob, NewKey};
use catalytic_shared::db::{self, DbError};
use catalytic_shared::group_commit::GroupCommit;
use catalytic_shared::ids::{JobId, TenantId};
use catalytic_shared::job::JobState;
use catalytic_shared::tenant::Plan;
use sqlx::PgPool;
use std::collections::{HashMap, HashSet};

/// The handle handlers submit through (in `AppState`).
pub type SubmitBatcher = GroupCommit<Submission, Outcome>;

/// One request: a single submit (one item), a re-run, or a bulk submit.
pub struct Submission {
    pub tenant: TenantId,
    pub plan: Plan,
    /// In request order.
    pub items: Vec<Item>,
    pub idempotency: Option<IdempotencyKey>,
    /// A bulk submit: its idempotency record keeps the per-item results.
    pub bulk: bool,
}

impl Item {
    /// The state a stored job of this item starts in.
    pub fn state(&self) -> JobState {
        match self {
            Item::Job(job) => job.state(),
            Item::Refused(_) => JobState::Queued,
        }
    }
}

/// One job of a submission.
pub enum Item {
    /// Valid: to admit against the quotas and store (boxed: a row is ten
    /// times the size of a refusal).
    Job(Box<NewJob>),
    /// Refused before the batch (validation, a missing lattice); the
    /// refusal keeps its slot in a bulk answer.
    Refused(ApiError),
}

/// A submission's answer: per item, its job or its refusal; or why it
/// stored nothing at all.
pub type Outcome = Result<Vec<Result<Placed, ApiError>>, Submit>;

/// Where an accepted item's job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// Stored by this submit.
    Stored(JobId),
    /// Not stored: a live uniqueness hold on the item's key names this job
    /// (issue 21, unique jobs).
    Existing(Holder),
}

impl Placed {
    pub fn id(&self) -> JobId {
        match self {
            Placed::Stored(id) => *id,
            Placed::Existing(holder) => holder.job,
        }
    }
}

/// Why a submit stored nothing.
#[derive(Debug)]
pub enum Submit {
    /// Another submit with the same `Idempotency-Key` committed first (or
    /// came first in the same batch): the caller answers its record.
    KeyTaken,
    Refused(ApiError),
}

impl From<ApiError> for Submit {
    fn from(e: ApiError) -> Self {
        Submit::Refused(e)
    }
}

impl From<DbError> for Submit {
    fn from(e: DbError) -> Self {
        Submit::Refused(e.into())
    }
}

/// Spawns the flushers (`api.submit_flushers` lanes of one, at most
/// `api.submit_batch_max` requests per transaction). Each holds one pooled
/// connection while it runs.
pub fn spawn(pool: PgPool, flushers: usize, max_batch: usize) -> SubmitBatcher {
    GroupCommit::spawn_lanes(flushers, max_batch, move |batch: Vec<Submission>| {
        let pool = pool.clone();
        async move { run(&pool, batch).await }
    })
}

async fn run(pool: &PgPool, batch: Vec<Submission>) -> Vec<Outcome> {
    metrics::histogram!(catalytic_shared::metrics::SUBMIT_BATCH_SIZE).record(batch.len() as f64);
    match commit(pool, &batch).await {
        Ok(decisions) => answer(batch, decisions),
        Err(Failed::Before(e)) if batch.len() == 1 => vec![Err(Submit::Refused(e))],
        // The COMMIT itself failed: it may have committed all the same (an
        // answer lost with its connection), so running the requests again
        // could store their jobs twice. Each gets the 500, as a lone
        // submit did.
        Err(Failed::AtCommit(e)) => {
            tracing::error!(
                error = format!("{e:#}"),
                requests = batch.len(),
                "a submit batch's COMMIT failed"
            );
            batch
                .iter()
                .map(|_| {
                    Err(Submit::Refused(ApiError::Internal(anyhow::anyhow!(
                        "the submit transaction's COMMIT failed"
                    ))))
                })
                .collect()
        }
        Err(Failed::Before(e)) => {
            tracing::warn!(
                error = format!("{e:#}"),
                requests = batch.len(),
                "a batch of submits failed; running each alone"
            );
            let mut outcomes = Vec::with_capacity(batch.len());
            for submission in batch {
                let one = vec![submission];
                let outcome = match commit(pool, &one).await {
                    Ok(decisions) => answer(one, decisions).pop(),
                    Err(Failed::Before(e) | Failed::AtCommit(e)) => Some(Err(Submit::Refused(e))),
                };
                outcomes.push(outcome.unwrap_or_else(|| {
                    Err(Submit::Refused(ApiError::Internal(anyhow::anyhow!(
                        "a submission went unanswered"
                    ))))
                }));
            }
            outcomes
        }
    }
}

/// Why a batch's transaction stored nothing, or may not have.
enum Failed {
    /// Before COMMIT was sent: rolled back, safe to run again.
    Before(ApiError),
    /// COMMIT was sent and failed: its outcome is unknown.
    AtCommit(ApiError),
}

impl<E: Into<ApiError>> From<E> for Failed {
    fn from(e: E) -> Self {
        Failed::Before(e.into())
    }
}

/// What the transaction decided for one submission.
enum Decision {
    KeyTaken,
    Slots(Vec<Slot>),
}

enum Slot {
    Admitted(JobId),
    /// A live uniqueness hold (or an earlier job of the batch) has the
    /// item's key.
    Existing(Holder),
    /// Refused before the batch: the item's own refusal.
    Known,
    /// Over a quota.
    OverQuota(ApiError),
}

/// The transaction (steps 1–4 above); decisions in submission order.
async fn commit(pool: &PgPool, batch: &[Submission]) -> Result<Vec<Decision>, Failed> {
    // Tenants with a job to admit, sorted: the lock order.
    let mut tenants: Vec<(TenantId, bool)> = Vec::new();
    for s in batch {
        if s.items.iter().any(|i| matches!(i, Item::Job(_))) {
            tenants.push((s.tenant, crate::db::quotas::counts_month(s.plan)));
        }
    }
    tenants.sort();
    // One entry per tenant; counting the month if any of its submits needs it.
    tenants.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 |= later.1;
        }
        same
    });
    if tenants.is_empty() {
        return Ok(batch
            .iter()
            .map(|s| Decision::Slots(s.items.iter().map(|_| Slot::Known).collect()))
            .collect());
    }
    let ids: Vec<TenantId> = tenants.iter().map(|(t, _)| *t).collect();
    let mut tx = crate::db::quotas::begin_locked(pool, &ids).await?;
    let counts = crate::db::quotas::submit_counts(&mut tx, &tenants).await?;
    let mut holds = live_holds(&mut tx, batch).await?;

    // Jobs of this batch that hold a key a later job may be answered with.
    let mut in_batch: HashSet<JobId> = HashSet::new();
    let mut admitted: HashMap<TenantId, i64> = HashMap::new();
    let mut claimed: HashSet<(TenantId, &str)> = HashSet::new();
    let mut rows: Vec<(&NewJob, Option<&str>)> = Vec::new();
    let mut keys: Vec<NewKey> = Vec::new();
    let mut decisions = Vec::with_capacity(batch.len());
    for s in batch {
        let key = s.idempotency.as_ref();
        if let Some(key) = key
            && claimed.contains(&(s.tenant, key.key.as_str()))
        {
            decisions.push(Decision::KeyTaken);
            continue;
        }
        let mut slots = Vec::with_capacity(s.items.len());
        let positions = job_positions(&s.items);
        let mut first = None;
        for item in &s.items {
            let job = match item {
                Item::Refused(_) => {
                    slots.push(Slot::Known);
                    continue;
                }
                Item::Job(job) => job,
            };
            let hold = job.unique.as_ref().map(|u| (s.tenant, u.key.clone()));
            if let Some(holder) = hold.as_ref().and_then(|h| holds.get(h)) {
                slots.push(Slot::Existing(*holder));
                continue;
            }
            if let Some(refusal) = unstored_parent(job, &positions, &slots) {
                slots.push(Slot::OverQuota(refusal));
                continue;
            }
            let used = admitted.entry(s.tenant).or_default();
            let tenant_counts = counts.get(&s.tenant).ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("no quota counts for tenant {}", s.tenant))
            })?;
            match quota::submit_refusal(s.plan, tenant_counts, *used) {
                Some(refusal) => slots.push(Slot::OverQuota(refusal)),
                None => {
                    *used += 1;
                    first.get_or_insert(job.id);
                    if let Some(hold) = hold {
                        let holder = Holder {
                            job: job.id,
                            status: job.state(),
                        };
                        holds.insert(hold, holder);
                        in_batch.insert(job.id);
                    }
                    rows.push((job, key.map(|k| k.key.as_str())));
                    slots.push(Slot::Admitted(job.id));
                }
            }
        }
        // A key is recorded only with a stored job; a submission refused
        // whole leaves its key free, as a lone refused submit did.
        if let (Some(key), Some(first)) = (key, first) {
            claimed.insert((s.tenant, key.key.as_str()));
            keys.push(NewKey {
                tenant_id: s.tenant,
                key: key.key.clone(),
                request_hash: key.request_hash.clone(),
                job_id: first,
                results: match s.bulk {
                    true => Some(
                        serde_json::to_value(bulk_results(&s.items, &slots))
                            .map_err(|e| ApiError::Internal(e.into()))?,
                    ),
                    false => None,
                },
            });
        }
        decisions.push(Decision::Slots(slots));
    }
    let inserted: HashSet<JobId> = db::jobs::insert_batch(&mut tx, &rows, &keys)
        .await?
        .into_iter()
        .collect();
    // A keyed submission whose jobs were not stored lost its key to a
    // record another transaction holds.
    let decisions: Vec<Decision> = decisions
        .into_iter()
        .map(|d| match d {
            Decision::Slots(slots)
                if slots
                    .iter()
                    .any(|s| matches!(s, Slot::Admitted(id) if !inserted.contains(id))) =>
            {
                Decision::KeyTaken
            }
            other => other,
        })
        .collect();
    // A job answered with a holder of this batch that was not stored (that
    // submission lost its key) would name a job that does not exist: roll
    // back, and each submission runs alone (`run`).
    let unstored_holder = |slot: &Slot| matches!(slot, Slot::Existing(h) if in_batch.contains(&h.job) && !inserted.contains(&h.job));
    if decisions
        .iter()
        .any(|d| matches!(d, Decision::Slots(slots) if slots.iter().any(unstored_holder)))
    {
        return Err(Failed::Before(ApiError::Internal(anyhow::anyhow!(
            "a unique job's holder in the batch was not stored"
        ))));
    }
    tx.commit()
        .await
        .map_err(|e| Failed::AtCommit(DbError::from(e).into()))?;
    metrics::counter!(catalytic_shared::metrics::JOBS_SUBMITTED).increment(inserted.len() as u64);
    Ok(decisions)
}

/// A job naming (by index) an earlier item of its own submission that this
/// batch did not store (refused by a quota, or answered with an existing
/// job) is refused too: its parent would not exist.
fn unstored_parent(
    job: &NewJob,
    positions: &HashMap<JobId, usize>,
    slots: &[Slot],
) -> Option<ApiError> {
    let parents = job.parents.as_ref()?;
    parents.ids.iter().enumerate().find_map(|(i, parent)| {
        let k = *positions.get(parent)?;
        match slots.get(k) {
            Some(Slot::Admitted(_)) => None,
            _ => Some(ApiError::field(
                format!("depends_on[{i}]"),
                format!("item {k} of this request was not stored, so this job cannot wait for it"),
            )),
        }
    })
}

/// Each job's position among a submission's items, for `unstored_parent`:
/// empty (and not built) unless a job of it names parents.
fn job_positions(items: &[Item]) -> HashMap<JobId, usize> {
    let has_parents = items
        .iter()
        .any(|item| matches!(item, Item::Job(job) if job.parents.is_some()));
    if !has_parents {
        return HashMap::new();
    }
    items
        .iter()
        .enumerate()
        .filter_map(|(k, item)| match item {
            Item::Job(job) => Some((job.id, k)),
            Item::Refused(_) => None,
        })
        .collect()
}

/// Each submission's outcome, moving the refusals out of its items.
fn answer(batch: Vec<Submission>, decisions: Vec<Decision>) -> Vec<Outcome> {
    batch
        .into_iter()
        .zip(decisions)
        .map(|(s, decision)| match decision {
            Decision::KeyTaken => Err(Submit::KeyTaken),
            Decision::Slots(slots) => Ok(s
                .items
                .into_iter()
                .zip(slots)
                .map(|(item, slot)| match (item, slot) {
                    (_, Slot::Admitted(id)) => Ok(Placed::Stored(id)),
                    (_, Slot::Existing(holder)) => Ok(Placed::Existing(holder)),
                    (_, Slot::OverQuota(e)) | (Item::Refused(e), Slot::Known) => Err(e),
                    (Item::Job(_), Slot::Known) => Err(ApiError::Internal(anyhow::anyhow!(
                        "a valid job was not decided"
                    ))),
                })
                .collect()),
        })
        .collect()
}

/// A bulk submit's answer, item by item (what its record keeps).
fn bulk_results(items: &[Item], slots: &[Slot]) -> Vec<BulkItem> {
    items
        .iter()
        .zip(slots)
        .enumerate()
        .map(|(index, (item, slot))| match (item, slot) {
            (item, Slot::Admitted(id)) => BulkItem::accepted(index, id.as_uuid(), item.state()),
            (_, Slot::Existing(holder)) => BulkItem::existing(index, *holder),
            (_, Slot::OverQuota(e)) | (Item::Refused(e), Slot::Known) => {
                BulkItem::refused(index, e)
            }
            (Item::Job(_), Slot::Known) => BulkItem::refused(
                index,
                &ApiError::Internal(anyhow::anyhow!("a valid job was not decided")),
            ),
        })
        .collect()
}

/// The answer the route gives a bulk submit, from its outcome and each
/// item's state as stored (the same shape `bulk_results` stores for
/// replays).
pub fn bulk_answer(outcomes: &[Result<Placed, ApiError>], states: &[JobState]) -> Vec<BulkItem> {
    outcomes
        .iter()
        .zip(states)
        .enumerate()
        .map(|(index, (outcome, state))| match outcome {
            Ok(Placed::Stored(id)) => BulkItem::accepted(index, id.as_uuid(), *state),
            Ok(Placed::Existing(holder)) => BulkItem::existing(index, *holder),
            Err(e) => BulkItem::refused(index, e),
        })
        .collect()
}

/// The live uniqueness holds of the batch's keys, read under the tenants'
/// locks; none read when no job asks for uniqueness.
async fn live_holds(
    conn: &mut sqlx::PgConnection,
    batch: &[Submission],
) -> Result<HashMap<(TenantId, String), Holder>, DbError> {
    let keys: Vec<(TenantId, String)> = batch
        .iter()
        .flat_map(|s| {
            s.items.iter().filter_map(move |item| match item {
                Item::Job(job) => job.unique.as_ref().map(|u| (s.tenant, u.key.clone())),
                Item::Refused(_) => None,
            })
        })
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    db::jobs::live_unique_keys(conn, &keys).await
}
