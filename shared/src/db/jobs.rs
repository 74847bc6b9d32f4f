//! All SQL on `jobs`, and `transition_many` (with `transition`, its
//! one-item form): the one function through which every job changes state
//! (docs/adr/0001-processes.md), one job or a batch of them in one statement per kind.
//!
//! Every transition is guarded: it matches the job id, the state the
//! transition table says it must come from, and the attempt (the lease
//! token, which only grows). Zero rows updated means someone else moved the
//! job first (a duplicate message, a reaper, a cancel): the write is `Stale`,
//! dropped and counted, never an error. A terminal transition writes, in the
//! same transaction, the webhook message and the usage event, so none of the
//! three can exist without the others.

use super::{DbError, outbox};
use crate::ids::{JobId, LatticeId, MessageId, TenantId, WorkerId};
use crate::job::{Failure, IllegalTransition, JobEvent, JobState, Usage};
use crate::tenant::QueueClass;
use crate::webhook_event::JobOutcome;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Acquire, PgConnection, PgPool};
use std::time::Duration;
use uuid::Uuid;

/// A job as the api shows it.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub status: JobState,
    pub operation: String,
    pub spec: Value,
    pub attempt: i32,
    pub max_attempts: i32,
    pub result: Option<Value>,
    pub error: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The time the submit asked it to run at (a delayed job), if any.
    pub run_at: Option<DateTime<Utc>>,
    /// Its parent jobs (`depends_on`), in id order; empty for most.
    pub depends_on: Vec<Uuid>,
    /// How long after finishing it keeps its full result, if the submit
    /// said (`result_ttl_secs`; None: the fleet's default).
    pub result_ttl_secs: Option<i32>,
    /// When its result goes (a succeeded job with `result_ttl_secs`, until
    /// retention has summarised it).
    pub result_expires_at: Option<DateTime<Utc>>,
    /// While it runs, what the worker last reported (`db::progress`):
    /// `{done, total, unit, updated_at}`.
    pub progress: Option<Value>,
}

/// A job about to be inserted by a submit.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub operation: &'static str,
    pub spec: Value,
    pub queue_class: QueueClass,
    pub max_attempts: i32,
    /// The plan's time limit when submitted; the worker stops the compute there.
    pub time_limit: Duration,
    /// The stored lattice the job named, if any (its definition is in `spec`).
    pub lattice_id: Option<LatticeId>,
    /// Not before this time: stored `scheduled`, without an outbox row, and
    /// queued by the relay leader when due (None: queued now).
    pub run_at: Option<DateTime<Utc>>,
    /// The uniqueness key the job holds once stored (`insert_batch`
    /// writes it), if the submit asked for one.
    pub unique: Option<UniqueHold>,
    /// The jobs it waits for (`depends_on`): stored `waiting` until they
    /// have finished (issue 21, migrations/0024_job_dependencies.sql).
    pub parents: Option<Parents>,
    /// Its concurrency key: stored `waiting` until the key has a free slot
    /// (issue 21, migrations/0026_concurrency_keys.sql).
    pub concurrency: Option<Concurrency>,
    /// How long after it finished a succeeded job keeps its full result
    /// (None: the fleet's default; issue 22, migrations/0027).
    pub result_ttl: Option<Duration>,
    /// The trace every later stage continues (issue 23,
    /// migrations/0032_trace_context.sql); None: not traced.
    pub traceparent: Option<crate::telemetry::TraceParent>,
}

/// At most `max` of the tenant's jobs with `key` are queued or running at
/// once; the others wait in submit order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Concurrency {
    pub key: String,
    pub max: i32,
}

/// A job's parents: it runs once every one has succeeded; if one fails or
/// is cancelled it is cancelled, or with `run_on_failure` it runs once
/// every one has finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parents {
    pub ids: Vec<JobId>,
    pub run_on_failure: bool,
}

/// A job's hold on a uniqueness key (issue 21, migrations/0022_unique_jobs.sql):
/// until `until`, a submit of the same tenant naming `key` is answered
/// this job instead of storing another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueHold {
    pub key: String,
    pub until: DateTime<Utc>,
}

/// The job holding a live uniqueness key, as a duplicate submit is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub job: JobId,
    pub status: JobState,
}

/// The live holds among `keys` (tenant, key), with each holder's state.
/// Call under the tenants' quota locks, in the transaction that will write
/// the new holds (`insert_batch`): the locks keep the answer true until
/// the commit.
pub async fn live_unique_keys(
    conn: &mut PgConnection,
    keys: &[(TenantId, String)],
) -> Result<std::collections::HashMap<(TenantId, String), Holder>, DbError> {
    let tenants: Vec<Uuid> = keys.iter().map(|(t, _)| t.as_uuid()).collect();
    let names: Vec<String> = keys.iter().map(|(_, k)| k.clone()).collect();
    let rows = sqlx::query!(
        r#"SELECT k.tenant_id AS "tenant_id!: TenantId", k.key AS "key!", k.job_id AS "job_id!: JobId",
                  j.status AS "status!: JobState"
           FROM unnest($1::uuid[], $2::text[]) AS u(tenant_id, key)
           JOIN job_unique_keys k ON k.tenant_id = u.tenant_id AND k.key = u.key
           JOIN jobs j ON j.id = k.job_id
           WHERE k.expires_at > now()"#,
        &tenants,
        &names,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let holder = Holder {
                job: r.job_id,
                status: r.status,
            };
            ((r.tenant_id, r.key), holder)
        })
        .collect())
}

impl NewJob {
    /// A job of `tenant` on `plan` running `spec` at once, with the plan's
    /// attempts, time limit and queue; a submit adds its `run_at` and
    /// uniqueness, a schedule's fire uses it as it is.
    pub fn from_spec(
        tenant: TenantId,
        plan: crate::tenant::Plan,
        spec: &crate::job::JobSpec,
        lattice_id: Option<LatticeId>,
    ) -> Result<Self, DbError> {
        let limits = plan.limits();
        Ok(Self {
            id: JobId::new(),
            tenant_id: tenant,
            operation: spec.operation.name(),
            spec: serde_json::to_value(spec)
                .map_err(|e| DbError::Corrupt(format!("a job spec did not serialise: {e}")))?,
            queue_class: plan.queue(),
            max_attempts: i32::try_from(limits.attempts).unwrap_or(i32::MAX),
            time_limit: limits.time_limit,
            lattice_id,
            run_at: None,
            unique: None,
            parents: None,
            concurrency: None,
            result_ttl: None,
            traceparent: None,
        })
    }

    /// Whether it is stored `waiting`: for its parents, or for a slot of its
    /// concurrency key when it runs now (a keyed job with a `run_at` is
    /// `scheduled`, and waits for its slot once due: `promote_due`).
    fn waits_at_submit(&self) -> bool {
        self.parents.is_some() || (self.concurrency.is_some() && self.run_at.is_none())
    }

    /// The state it is stored in (`insert_batch`'s CASE on `run_at`).
    pub fn state(&self) -> JobState {
        JobState::at_submit(self.run_at.is_some(), self.waits_at_submit())
    }
}

/// Inserts the job row and its first outbox row, in one statement (one
/// round trip on every submit's way). Call inside the submit's transaction.
pub async fn insert_with_outbox(conn: &mut PgConnection, job: &NewJob) -> Result<(), DbError> {
    sqlx::query!(
        "WITH job AS (
             INSERT INTO jobs (id, tenant_id, operation, spec, queue_class, max_attempts, time_limit_ms, lattice_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             RETURNING id, tenant_id, queue_class)
         INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class)
         SELECT $9, id, tenant_id, 1, queue_class FROM job",
        job.id as JobId,
        job.tenant_id as TenantId,
        job.operation,
        job.spec,
        job.queue_class.as_str(),
        job.max_attempts,
        i64::try_from(job.time_limit.as_millis()).unwrap_or(i64::MAX),
        job.lattice_id.map(|l| l.as_uuid()),
        MessageId::new() as MessageId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An `Idempotency-Key` record written with its submit's jobs by
/// `insert_batch`.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub tenant_id: TenantId,
    pub key: String,
    pub request_hash: Vec<u8>,
    /// The job the key names (a bulk submit's first accepted one).
    pub job_id: JobId,
    /// A bulk submit's per-item results, replayed as they are.
    pub results: Option<Value>,
}

/// Inserts a group-committed batch of submits in one statement: the
/// idempotency records, then every job (with its first outbox row) whose
/// key was written or that had none. `jobs` pairs each job with its
/// submit's key, if any. A key that a live record already holds (a
/// concurrent submit that committed first, or is committing: the unique
/// index makes us wait for it) is not written, and its jobs are not
/// inserted. Returns the ids of the jobs inserted.
///
/// Keys must be distinct per tenant within the batch (ON CONFLICT cannot
/// touch one row twice in a statement); the caller settles in-batch
/// duplicates itself. The records reference jobs inserted further down the
/// same statement: foreign keys are checked at the statement's end.
///
/// A stored job's uniqueness hold (`NewJob::unique`) is written with it,
/// taking over an expired hold of the key. The caller has checked under
/// the tenant's quota lock that no live hold exists (`live_unique_keys`)
/// and that the batch names each key once.
pub async fn insert_batch(
    conn: &mut PgConnection,
    jobs: &[(&NewJob, Option<&str>)],
    keys: &[NewKey],
) -> Result<Vec<JobId>, DbError> {
    let mut j = JobColumns::default();
    for (job, key) in jobs {
        j.id.push(job.id.as_uuid());
        j.tenant.push(job.tenant_id.as_uuid());
        j.operation.push(job.operation.to_owned());
        j.spec.push(job.spec.clone());
        j.queue_class.push(job.queue_class.as_str().to_owned());
        j.max_attempts.push(job.max_attempts);
        j.time_limit_ms
            .push(i64::try_from(job.time_limit.as_millis()).unwrap_or(i64::MAX));
        j.lattice.push(job.lattice_id.map(|l| l.as_uuid()));
        j.run_at.push(job.run_at);
        j.message.push(MessageId::new().as_uuid());
        j.key.push(key.map(str::to_owned));
        j.unique_key
            .push(job.unique.as_ref().map(|u| u.key.clone()));
        j.unique_until.push(job.unique.as_ref().map(|u| u.until));
        j.waiting.push(job.waits_at_submit());
        j.concurrency_key
            .push(job.concurrency.as_ref().map(|c| c.key.clone()));
        j.max_concurrency
            .push(job.concurrency.as_ref().map(|c| c.max));
        j.result_ttl_secs.push(
            job.result_ttl
                .map(|t| i32::try_from(t.as_secs()).unwrap_or(i32::MAX)),
        );
        j.traceparent
            .push(job.traceparent.as_ref().map(|t| t.as_str().to_owned()));
        for parent in job.parents.iter().flat_map(|p| p.ids.iter()) {
            j.dep_child.push(job.id.as_uuid());
            j.dep_parent.push(parent.as_uuid());
            j.dep_run
                .push(job.parents.as_ref().is_some_and(|p| p.run_on_failure));
        }
    }
    let k_tenant: Vec<Uuid> = keys.iter().map(|k| k.tenant_id.as_uuid()).collect();
    let k_key: Vec<String> = keys.iter().map(|k| k.key.clone()).collect();
    let k_hash: Vec<Vec<u8>> = keys.iter().map(|k| k.request_hash.clone()).collect();
    let k_job: Vec<Uuid> = keys.iter().map(|k| k.job_id.as_uuid()).collect();
    let k_results: Vec<Option<Value>> = keys.iter().map(|k| k.results.clone()).collect();
    let ids = sqlx::query_scalar!(
        r#"WITH keyed AS (
               INSERT INTO idempotency_keys (tenant_id, key, request_hash, job_id, results)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::uuid[], $5::jsonb[])
               ON CONFLICT ON CONSTRAINT idempotency_keys_tenant_key DO UPDATE
                   SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id,
                       results = EXCLUDED.results, created_at = now()
                   WHERE idempotency_keys.created_at <= now() - interval '24 hours'
               RETURNING tenant_id, key),
           new AS (
               SELECT n.* FROM unnest($6::uuid[], $7::uuid[], $8::text[], $9::jsonb[], $10::text[],
                                      $11::int[], $12::bigint[], $13::uuid[], $14::uuid[], $15::text[],
                                      $16::timestamptz[], $17::text[], $18::timestamptz[], $19::bool[],
                                      $23::text[], $24::int[], $25::int[], $26::text[])
                   AS n(id, tenant_id, operation, spec, queue_class, max_attempts, time_limit_ms,
                        lattice_id, message_id, key, run_at, unique_key, unique_until, waiting,
                        concurrency_key, max_concurrency, result_ttl_secs, traceparent)
               WHERE n.key IS NULL
                  OR EXISTS (SELECT 1 FROM keyed WHERE keyed.tenant_id = n.tenant_id AND keyed.key = n.key)),
           job AS (
               INSERT INTO jobs (id, tenant_id, operation, spec, queue_class, max_attempts,
                                 time_limit_ms, lattice_id, run_at, concurrency_key, max_concurrency,
                                 result_ttl_secs, traceparent, status)
               SELECT id, tenant_id, operation, spec, queue_class, max_attempts, time_limit_ms,
                      lattice_id, run_at, concurrency_key, max_concurrency, result_ttl_secs, traceparent,
                      CASE WHEN waiting THEN 'waiting' WHEN run_at IS NULL THEN 'queued'
                           ELSE 'scheduled' END::job_status
               FROM new
               RETURNING id, status),
           -- A scheduled job gets its outbox row when due (promote_due).
           sent AS (
               INSERT INTO job_outbox (message_id, job_id, tenant_id, attempt, queue_class)
               SELECT new.message_id, new.id, new.tenant_id, 1, new.queue_class
               FROM new JOIN job USING (id) WHERE job.status = 'queued'),
           held AS (
               INSERT INTO job_unique_keys (tenant_id, key, job_id, expires_at)
               SELECT new.tenant_id, new.unique_key, new.id, new.unique_until
               FROM new JOIN job USING (id) WHERE new.unique_key IS NOT NULL
               ON CONFLICT (tenant_id, key) DO UPDATE
                   SET job_id = EXCLUDED.job_id, expires_at = EXCLUDED.expires_at),
           depends AS (
               INSERT INTO job_dependencies (child_id, parent_id, run_on_failure)
               SELECT d.child, d.parent, d.run
               FROM unnest($20::uuid[], $21::uuid[], $22::bool[]) AS d(child, parent, run)
               JOIN job ON job.id = d.child),
           -- A parent that finished before its child was submitted sends
           -- no notification of its own: the dependency duty is told now.
           finished_parents AS MATERIALIZED (
               SELECT count(pg_notify('job_parents', p.id::text)) AS told
               FROM jobs p
               WHERE p.id = ANY($21::uuid[]) AND p.status IN ('succeeded', 'failed', 'cancelled')),
           -- A keyed job waits for a slot: the duty is told, and releases it
           -- at once when its key has one free.
           slot_waiters AS MATERIALIZED (
               SELECT count(pg_notify('job_slots', n.id::text)) AS told
               FROM new n WHERE n.concurrency_key IS NOT NULL)
           SELECT id AS "job_id!: JobId" FROM job CROSS JOIN finished_parents CROSS JOIN slot_waiters"#,
        &k_tenant,
        &k_key,
        &k_hash,
        &k_job,
        &k_results as &[Option<Value>],
        &j.id,
        &j.tenant,
        &j.operation,
        &j.spec,
        &j.queue_class,
        &j.max_attempts,
        &j.time_limit_ms,
        &j.lattice as &[Option<Uuid>],
        &j.message,
        &j.key as &[Option<String>],
        &j.run_at as &[Option<DateTime<Utc>>],
        &j.unique_key as &[Option<String>],
        &j.unique_until as &[Option<DateTime<Utc>>],
        &j.waiting,
        &j.dep_child,
        &j.dep_parent,
        &j.dep_run,
        &j.concurrency_key as &[Option<String>],
        &j.max_concurrency as &[Option<i32>],
        &j.result_ttl_secs as &[Option<i32>],
        &j.traceparent as &[Option<String>],
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids)
}

/// `insert_batch`'s jobs, one array per column (what `unnest` takes).
#[derive(Default)]
struct JobColumns {
    id: Vec<Uuid>,
    tenant: Vec<Uuid>,
    operation: Vec<String>,
    spec: Vec<Value>,
    queue_class: Vec<String>,
    max_attempts: Vec<i32>,
    time_limit_ms: Vec<i64>,
    lattice: Vec<Option<Uuid>>,
    message: Vec<Uuid>,
    key: Vec<Option<String>>,
    run_at: Vec<Option<DateTime<Utc>>>,
    unique_key: Vec<Option<String>>,
    unique_until: Vec<Option<DateTime<Utc>>>,
    waiting: Vec<bool>,
    /// Dependency rows, one per (child, parent): flattened.
    dep_child: Vec<Uuid>,
    dep_parent: Vec<Uuid>,
    dep_run: Vec<bool>,
    concurrency_key: Vec<Option<String>>,
    max_concurrency: Vec<Option<i32>>,
    result_ttl_secs: Vec<Option<i32>>,
    traceparent: Vec<Option<String>>,
}

/// A tenant's job; another tenant's is `None`, exactly like a missing one.
pub async fn get(pool: &PgPool, tenant: TenantId, job: JobId) -> Result<Option<JobRow>, DbError> {
    Ok(sqlx::query_as!(
        JobRow,
        r#"SELECT id AS "id: JobId", tenant_id AS "tenant_id: TenantId",
                  status AS "status: JobState", operation, spec, attempt, max_attempts,
                  result, error, created_at, updated_at, started_at, finished_at, run_at,
                  ARRAY(SELECT d.parent_id FROM job_dependencies d
                        WHERE d.child_id = jobs.id ORDER BY d.parent_id) AS "depends_on!",
                  result_ttl_secs, result_expires_at,
                  job_progress_shown(id, attempt, status) AS progress
           FROM jobs WHERE id = $1 AND tenant_id = $2"#,
        job as JobId,
        tenant as TenantId,
    )
    .fetch_optional(pool)
    .await?)
}

/// Where a transition must start: the job, its expected state and attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub job: JobId,
    pub from: JobState,
    pub attempt: i32,
}

/// A state change and the data it writes.
#[derive(Debug, Clone)]
pub enum Change {
    /// queued → running: a worker starts the attempt and holds a lease.
    Claim { worker: WorkerId, lease: Duration },
    /// running → succeeded, with the result.
    Succeed { result: Value, usage: Usage },
    /// running|queued → failed, with the reason.
    Fail { error: Failure, usage: Usage },
    /// running → queued, attempt + 1, republished after `backoff`.
    Retry { error: Failure, backoff: Duration },
    /// scheduled|queued|running → cancelled.
    Cancel { reason: String },
    /// queued → running → succeeded at once: a cheap job computed from its
    /// message's copy of the spec before any claim (issue 17; the worker's
    /// "run through", worker/src/executor.rs). Both transitions are logged,
    /// as a claim and a success would log them, the claim at the compute's
    /// start. Applies only while the row's spec equals `spec`, the copy
    /// the result was computed from.
    RunThrough {
        worker: WorkerId,
        spec: Value,
        result: Value,
        usage: Usage,
    },
}

impl Change {
    /// The events of the transition table this change takes, in order.
    pub fn events(&self) -> &'static [JobEvent] {
        match self {
            Change::Claim { .. } => &[JobEvent::Claim],
            Change::Succeed { .. } => &[JobEvent::Succeed],
            Change::Fail { .. } => &[JobEvent::Fail],
            Change::Retry { .. } => &[JobEvent::Retry],
            Change::Cancel { .. } => &[JobEvent::Cancel],
            Change::RunThrough { .. } => &[JobEvent::Claim, JobEvent::Succeed],
        }
    }

    /// The state the table leads `from` to through [`Change::events`].
    pub fn target(&self, from: JobState) -> Result<JobState, IllegalTransition> {
        self.events()
            .iter()
            .try_fold(from, |state, &event| state.on(event))
    }

    /// Label for `metrics::STALE_WRITES`.
    pub fn label(&self) -> &'static str {
        match self {
            Change::Claim { .. } => "claim",
            Change::Succeed { .. } => "succeed",
            Change::Fail { .. } => "fail",
            Change::Retry { .. } => "retry",
            Change::Cancel { .. } => "cancel",
            Change::RunThrough { .. } => "run_through",
        }
    }
}

/// The result of a guarded write.
#[derive(Debug, Clone, PartialEq)]
pub enum Transitioned {
    Applied(Moved),
    /// The job was not in the guarded state and attempt: nothing written.
    Stale,
}

/// The job as a worker starts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub spec: Value,
    pub time_limit: Duration,
}

/// What an applied transition returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub tenant_id: TenantId,
    pub to: JobState,
    /// The attempt after the transition (grown by one on `Retry`).
    pub attempt: i32,
    pub max_attempts: i32,
    /// What a `Claim` hands the worker, so it needs no second read.
    pub claimed: Option<Claimed>,
}

/// The one transition function for one job: [`transition_many`] of one
/// item, so a single write and a batched one run the same SQL.
///
/// Round trips are the cost here (issue 8's profile: a trivial job's life
/// was a dozen statements): a claim and a terminal state are one statement
/// each, atomic without an explicit transaction.
pub async fn transition(
    conn: &mut PgConnection,
    guard: Guard,
    change: Change,
) -> Result<Transitioned, DbError> {
    transition_many(conn, vec![(guard, change)])
        .await?
        .pop()
        .ok_or_else(|| DbError::Corrupt("a transition got no answer".to_owned()))?
}

/// The one function through which jobs change state (docs/adr/0001-processes.md), for one
/// job or many. Each item is checked against the transition table on its
/// own (an illegal one is answered with its `IllegalTransition` and the
/// others go on), then the items are applied by kind, each kind in one
/// statement whatever the count: claims by [`claim_many`]'s statement,
/// terminal states (succeed, fail, cancel) by `finish_many`'s; retries, which
/// are rare, one by one (two statements each, in a transaction). Every item
/// keeps the guarded meaning of a single transition: it applies only if its
/// job is in the guarded state at the guarded attempt, otherwise it is
/// `Stale` and writes nothing. Two items with the same guard in one batch
/// answer as they would one after the other: the first may apply, the
/// second is `Stale`.
///
/// The answers are in the order of `items`. `Err` means no item was
/// applied: items that need more than one statement (several kinds, several
/// retries) run in one transaction, so a failure of any statement leaves
/// none of them applied (and a caller may retry them all).
pub async fn transition_many(
    conn: &mut PgConnection,
    items: Vec<(Guard, Change)>,
) -> Result<Vec<Result<Transitioned, DbError>>, DbError> {
    let mut answers: Vec<Option<Result<Transitioned, DbError>>> =
        (0..items.len()).map(|_| None).collect();
    let mut claims = Vec::new();
    let mut terminals = Vec::new();
    let mut retries = Vec::new();
    for (index, (guard, change)) in items.into_iter().enumerate() {
        let label = change.label();
        let to = match change.target(guard.from) {
            Ok(to) => to,
            Err(e) => {
                answers[index] = Some(Err(e.into()));
                continue;
            }
        };
        let terminal = |result, error: Option<Value>, reason, usage, unclaimed| Pending {
            index,
            guard,
            to,
            label,
            terminal: TerminalItem {
                result,
                reason,
                error,
                usage,
                unclaimed,
            },
        };
        match change {
            Change::Claim { worker, lease } => claims.push((index, guard, to, worker, lease)),
            Change::Retry { error, backoff } => match error_json(&error) {
                Ok(error) => retries.push((index, guard, to, error, backoff)),
                Err(e) => answers[index] = Some(Err(e)),
            },
            Change::Succeed { result, usage } => {
                terminals.push(terminal(Some(result), None, None, usage, None))
            }
            Change::Fail { error, usage } => match error_json(&error) {
                Ok(error) => {
                    let reason = Some(error.to_string());
                    terminals.push(terminal(None, Some(error), reason, usage, None))
                }
                Err(e) => answers[index] = Some(Err(e)),
            },
            Change::Cancel { reason } => {
                terminals.push(terminal(None, None, Some(reason), Usage::default(), None))
            }
            Change::RunThrough {
                worker,
                spec,
                result,
                usage,
            } => match guard.from.on(JobEvent::Claim) {
                Ok(via) => {
                    let unclaimed = Some(Unclaimed { via, worker, spec });
                    terminals.push(terminal(Some(result), None, None, usage, unclaimed))
                }
                Err(e) => answers[index] = Some(Err(e.into())),
            },
        }
    }
    let kinds = [
        !claims.is_empty(),
        !terminals.is_empty(),
        !retries.is_empty(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    // One kind is one statement (or one retry, its own transaction):
    // atomic as it is. Several kinds, or several retries, share a
    // transaction, so `Err` keeps meaning "nothing applied".
    let atomic = kinds > 1 || retries.len() > 1;
    let batch = Batch {
        claims,
        terminals,
        retries,
    };
    if atomic {
        let mut tx = conn.begin().await?;
        batch.apply(&mut tx, &mut answers).await?;
        tx.commit().await?;
    } else {
        batch.apply(conn, &mut answers).await?;
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(DbError::Corrupt("an item got no answer".to_owned()))))
        .collect())
}

/// The items of a `transition_many` call that passed the table, by kind.
struct Batch {
    claims: Vec<(usize, Guard, JobState, WorkerId, Duration)>,
    terminals: Vec<Pending>,
    retries: Vec<(usize, Guard, JobState, Value, Duration)>,
}

impl Batch {
    /// Runs each kind's statement on `conn` and puts each item's answer at
    /// its index.
    async fn apply(
        self,
        conn: &mut PgConnection,
        answers: &mut [Option<Result<Transitioned, DbError>>],
    ) -> Result<(), DbError> {
        if !self.claims.is_empty() {
            let items: Vec<ClaimItem> = self
                .claims
                .iter()
                .map(|&(_, guard, to, worker, lease)| ClaimItem {
                    guard,
                    to,
                    worker,
                    lease,
                })
                .collect();
            let applied = claim_rows(conn, &items).await?;
            for ((index, _, to, _, _), applied) in self.claims.into_iter().zip(applied) {
                answers[index] = Some(Ok(moved(to, "claim", applied)));
            }
        }
        if !self.terminals.is_empty() {
            let applied = finish_many(conn, &self.terminals).await?;
            for (pending, applied) in self.terminals.iter().zip(applied) {
                answers[pending.index] = Some(Ok(moved(pending.to, pending.label, applied)));
            }
        }
        for (index, guard, to, error, backoff) in self.retries {
            let applied = retry(conn, guard, to, &error, backoff).await?;
            answers[index] = Some(Ok(moved(to, "retry", applied)));
        }
        Ok(())
    }
}

/// queued → running for each of `guards`, in one statement (see
/// [`claim_rows`]); the answers are in the order of `guards`. A guard whose
/// `from` is not `queued` is refused by the transition table: the whole
/// call fails with `IllegalTransition` (a caller's bug), nothing applied.
pub async fn claim_many(
    conn: &mut PgConnection,
    guards: &[Guard],
    worker: WorkerId,
    lease: Duration,
) -> Result<Vec<Transitioned>, DbError> {
    let items = guards
        .iter()
        .map(|&guard| {
            Ok(ClaimItem {
                guard,
                to: guard.from.on(JobEvent::Claim)?,
                worker,
                lease,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let applied = claim_rows(conn, &items).await?;
    Ok(items
        .iter()
        .zip(applied)
        .map(|(item, applied)| moved(item.to, "claim", applied))
        .collect())
}

/// The one place a [`Failure`] becomes the JSON stored in `jobs.error`,
/// `job_transitions.reason` and the `job.failed` webhook (docs/api.md, "Job
/// errors").
fn error_json(failure: &Failure) -> Result<Value, DbError> {
    serde_json::to_value(failure)
        .map_err(|e| DbError::Corrupt(format!("a job failure did not serialise: {e}")))
}

/// What the guarded write returned: `Stale` (counted) when no row matched.
fn moved(to: JobState, label: &'static str, applied: Option<Applied>) -> Transitioned {
    let Some((tenant_id, attempt, max_attempts, spec)) = applied else {
        metrics::counter!(crate::metrics::STALE_WRITES, "transition" => label).increment(1);
        return Transitioned::Stale;
    };
    Transitioned::Applied(Moved {
        tenant_id,
        to,
        attempt,
        max_attempts,
        claimed: spec.map(|(spec, ms)| Claimed {
            spec,
            time_limit: Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
        }),
    })
}

/// (tenant, attempt, max_attempts, (spec, time limit ms) on claims) of the
/// row an UPDATE matched.
type Applied = (TenantId, i32, i32, Option<(Value, i64)>);

/// A claim of a batch: the guard, the state the table leads to, the lease.
#[derive(Debug, Clone, Copy)]
struct ClaimItem {
    guard: Guard,
    to: JobState,
    worker: WorkerId,
    lease: Duration,
}

/// The distinct guards of a batch, in first-seen order. A batch sends each
/// guard once: an `UPDATE … FROM` whose input names a row twice updates it
/// once with either input row, and the answers would not say which.
fn distinct_guards(guards: impl Iterator<Item = Guard>) -> Vec<(usize, Guard)> {
    let mut seen = std::collections::HashSet::new();
    guards
        .enumerate()
        .filter(|(_, guard)| seen.insert((guard.job, guard.from, guard.attempt)))
        .collect()
}

/// Hands each updated row back to the first item whose guard it matches;
/// every other item (not matched, or a repeat of a guard already answered)
/// gets None. `rows` holds (job, from, attempt, applied) of each row the
/// UPDATE moved: each job at most once, since an UPDATE moves a row once.
fn answer_in_order(
    guards: impl Iterator<Item = Guard>,
    rows: Vec<(JobId, String, Applied)>,
) -> Vec<Option<Applied>> {
    let mut rows: std::collections::HashMap<JobId, (String, Applied)> = rows
        .into_iter()
        .map(|(job, from, applied)| (job, (from, applied)))
        .collect();
    guards
        .map(|guard| {
            let matches = rows.get(&guard.job).is_some_and(|(from, applied)| {
                from == guard.from.as_str() && applied.1 == guard.attempt
            });
            if matches {
                rows.remove(&guard.job).map(|(_, applied)| applied)
            } else {
                None
            }
        })
        .collect()
}

/// Every batched UPDATE of `jobs` (claims, outcomes, the relay's
/// `retire_sent`) first locks its rows in id order (`locked`, MATERIALIZED so
/// the planner cannot fold it away): two batches that share jobs then wait
/// on each other instead of deadlocking. Without it, a claim batch and the
/// relay's mark of the same jobs locked rows in their arrays' orders and
/// PostgreSQL broke the cycle after `deadlock_timeout` (1 s): one-second
/// stalls that cut a worker at prefetch 64 to half its rate (issue 17).
///
/// The claims of a batch in one statement: the guarded UPDATE from the
/// unnested guards, and the `job_transitions` row of each claimed job
/// selected from the UPDATE's rows (a stale guard matches no row, so writes
/// nothing). Answers in the order of `items`.
async fn claim_rows(
    conn: &mut PgConnection,
    items: &[ClaimItem],
) -> Result<Vec<Option<Applied>>, DbError> {
    let distinct = distinct_guards(items.iter().map(|i| i.guard));
    let mut ids = Vec::with_capacity(distinct.len());
    let mut froms = Vec::with_capacity(distinct.len());
    let mut attempts = Vec::with_capacity(distinct.len());
    let mut tos = Vec::with_capacity(distinct.len());
    let mut workers = Vec::with_capacity(distinct.len());
    let mut leases = Vec::with_capacity(distinct.len());
    for (index, guard) in distinct {
        let item = &items[index];
        ids.push(guard.job.as_uuid());
        froms.push(guard.from.as_str().to_owned());
        attempts.push(guard.attempt);
        tos.push(item.to.as_str().to_owned());
        workers.push(item.worker.as_uuid());
        leases.push(item.lease.as_secs_f64());
    }
    let rows = sqlx::query!(
        r#"WITH locked AS MATERIALIZED (
               SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE),
           moved AS (
               UPDATE jobs j SET status = u.to_status::job_status, worker_id = u.worker_id,
                      started_at = now(), updated_at = now(),
                      lease_expires_at = now() + make_interval(secs => u.lease_secs)
               FROM locked l
               JOIN unnest($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::uuid[], $6::float8[])
                    AS u(id, from_status, attempt, to_status, worker_id, lease_secs) ON u.id = l.id
               WHERE j.id = l.id AND j.status = u.from_status::job_status AND j.attempt = u.attempt
               RETURNING j.id, j.tenant_id, j.attempt, j.max_attempts, j.spec, j.time_limit_ms,
                         u.from_status, u.to_status),
           logged AS (
               INSERT INTO job_transitions (job_id, tenant_id, from_status, to_status, attempt)
               SELECT id, tenant_id, from_status::job_status, to_status::job_status, attempt FROM moved)
           SELECT id AS "id!: JobId", tenant_id AS "tenant_id!: TenantId", from_status AS "from_status!",
                  attempt AS "attempt!", max_attempts AS "max_attempts!", spec AS "spec!",
                  time_limit_ms AS "time_limit_ms!"
           FROM moved"#,
        &ids,
        &froms,
        &attempts,
        &tos,
        &workers,
        &leases,
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let applied = (
                r.tenant_id,
                r.attempt,
                r.max_attempts,
                Some((r.spec, r.time_limit_ms)),
            );
            (r.id, r.from_status, applied)
        })
        .collect();
    Ok(answer_in_order(items.iter().map(|i| i.guard), rows))
}

/// running → queued under the next attempt, with its `job_transitions` row,
/// and the next attempt's publish queued after `backoff`: two statements in
/// one transaction (a savepoint when the caller holds one).
async fn retry(
    conn: &mut PgConnection,
    guard: Guard,
    to: JobState,
    error: &Value,
    backoff: Duration,
) -> Result<Option<Applied>, DbError> {
    let mut tx = conn.begin().await?;
    let row = sqlx::query!(
        r#"WITH moved AS (
               UPDATE jobs SET status = $4, attempt = attempt + 1, error = $5, worker_id = NULL,
                      lease_expires_at = NULL, updated_at = now()
               WHERE id = $1 AND status = $2 AND attempt = $3
               RETURNING id, tenant_id, attempt, max_attempts, queue_class),
           logged AS (
               INSERT INTO job_transitions (job_id, tenant_id, from_status, to_status, attempt, reason)
               SELECT id, tenant_id, $2, $4, $3, $6 FROM moved)
           SELECT tenant_id AS "tenant_id: TenantId", attempt, max_attempts, queue_class FROM moved"#,
        guard.job as JobId,
        guard.from as JobState,
        guard.attempt,
        to as JobState,
        error,
        error.to_string(),
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let class: QueueClass = row.queue_class.parse().map_err(|_| {
        DbError::Corrupt(format!(
            "job {} has queue class {:?}",
            guard.job, row.queue_class
        ))
    })?;
    outbox::insert(
        &mut tx,
        guard.job,
        row.tenant_id,
        row.attempt,
        class,
        backoff,
    )
    .await?;
    tx.commit().await?;
    Ok(Some((row.tenant_id, row.attempt, row.max_attempts, None)))
}

/// What a terminal transition writes besides its state.
struct TerminalItem {
    result: Option<Value>,
    error: Option<Value>,
    /// The `job_transitions` reason: the error or the cancel's reason.
    reason: Option<String>,
    usage: Usage,
    /// For a run-through: the claim it includes.
    unclaimed: Option<Unclaimed>,
}

/// The claim a run-through's terminal item includes.
struct Unclaimed {
    /// The state between (running).
    via: JobState,
    worker: WorkerId,
    /// The spec it was computed from: the row must still hold it.
    spec: Value,
}

/// A terminal transition of a batch, with where its answer goes.
struct Pending {
    index: usize,
    guard: Guard,
    to: JobState,
    label: &'static str,
    terminal: TerminalItem,
}

/// The terminal transitions of a batch in one statement: the guarded
/// UPDATE from the unnested items, and for each row it moved its
/// `job_transitions` row, its `job.<state>` webhook message, its one usage
/// event, and notifications delivered at commit: the relay, when a tenant
/// of the batch has unsent outbox rows (a finished job frees a running slot
/// of its tenant, so its next job need not wait a poll; a tenant with
/// nothing waiting would only wake an empty round, which the closed loop
/// paid once per batch: issue 17, docs/benchmarks.md "Fewer writes and
/// wake-ups per job"), the dependency duty (`job_parents`, the job's id,
/// only for a job some waiting job depends on: one index probe per job
/// otherwise), and the api processes (api/src/job_events.rs), one
/// per job, which answer
/// long-polls and GETs of the finished job from it. `job_done` carries the
/// row as GET shows it (`JobRow`'s fields, `spec` named `request`,
/// timestamps in Unix microseconds) when it fits NOTIFY's 8,000-byte
/// payload, else only the job id; the size is pre-checked on the stored
/// values so a large result is never rendered to text just to be measured.
/// Every INSERT selects from the UPDATE's rows, so a stale item writes
/// nothing. A message for a tenant with no enabled endpoint that takes its
/// event type is written already fanned out (nobody to deliver to; the
/// webhook fan-out would only mark it): it is still listed and can be
/// replayed, as every message. The message and the usage event are unique per job, so even a
/// bug that reached here twice could not write them twice. The tenant comes
/// from the row (the payload's `tenant_id` is set by the statement), the
/// operation likewise. Answers in the order of `items`.
async fn finish_many(
    conn: &mut PgConnection,
    items: &[Pending],
) -> Result<Vec<Option<Applied>>, DbError> {
    let distinct = distinct_guards(items.iter().map(|i| i.guard));
    let n = distinct.len();
    let now = Utc::now();
    let mut ids = Vec::with_capacity(n);
    let mut froms = Vec::with_capacity(n);
    let mut attempts = Vec::with_capacity(n);
    let mut tos = Vec::with_capacity(n);
    let mut results: Vec<Option<Value>> = Vec::with_capacity(n);
    let mut errors: Vec<Option<Value>> = Vec::with_capacity(n);
    let mut reasons: Vec<Option<String>> = Vec::with_capacity(n);
    let mut message_ids = Vec::with_capacity(n);
    let mut event_types = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut usage_ids = Vec::with_capacity(n);
    let mut billables = Vec::with_capacity(n);
    let mut visits = Vec::with_capacity(n);
    let mut compute_ms = Vec::with_capacity(n);
    let mut devices: Vec<Option<String>> = Vec::with_capacity(n);
    let mut vias: Vec<Option<String>> = Vec::with_capacity(n);
    let mut workers: Vec<Option<Uuid>> = Vec::with_capacity(n);
    let mut specs: Vec<Option<Value>> = Vec::with_capacity(n);
    for (index, guard) in distinct {
        let Pending { to, terminal, .. } = &items[index];
        let event = JobOutcome {
            job: guard.job,
            status: *to,
            attempt: guard.attempt,
            result: terminal.result.as_ref(),
            error: terminal.error.as_ref(),
        };
        ids.push(guard.job.as_uuid());
        froms.push(guard.from.as_str().to_owned());
        attempts.push(guard.attempt);
        tos.push(to.as_str().to_owned());
        results.push(terminal.result.clone());
        errors.push(terminal.error.clone());
        reasons.push(terminal.reason.clone());
        message_ids.push(Uuid::now_v7());
        event_types.push(event.event_type());
        payloads.push(event.payload(now));
        usage_ids.push(Uuid::now_v7());
        billables.push(terminal.usage.billable);
        visits.push(terminal.usage.vertex_visits);
        compute_ms.push(terminal.usage.compute_ms);
        devices.push(terminal.usage.device.map(str::to_owned));
        let unclaimed = terminal.unclaimed.as_ref();
        vias.push(unclaimed.map(|u| u.via.as_str().to_owned()));
        workers.push(unclaimed.map(|u| u.worker.as_uuid()));
        specs.push(unclaimed.map(|u| u.spec.clone()));
    }
    let rows = sqlx::query!(
        r#"WITH locked AS MATERIALIZED (
               SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE),
           moved AS (
               UPDATE jobs j SET status = u.to_status::job_status, result = COALESCE(u.result, j.result),
                      error = COALESCE(u.error, j.error), finished_at = now(), updated_at = now(),
                      lease_expires_at = NULL,
                      -- A run-through's claim: its worker, and its start (the compute's).
                      worker_id = COALESCE(u.worker_id, j.worker_id),
                      started_at = CASE WHEN u.via IS NULL THEN j.started_at
                                        ELSE now() - make_interval(secs => u.compute_ms / 1000.0::float8) END,
                      -- Its own retention (issue 22): when its result goes.
                      result_expires_at = CASE WHEN u.to_status = 'succeeded' AND j.result_ttl_secs IS NOT NULL
                                               THEN now() + make_interval(secs => j.result_ttl_secs) END
               FROM locked l JOIN unnest($1::uuid[], $2::text[], $3::int4[], $4::text[], $5::jsonb[], $6::jsonb[],
                           $7::text[], $8::uuid[], $9::text[], $10::jsonb[], $11::uuid[], $12::bool[],
                           $13::int8[], $14::int8[], $15::text[], $16::text[], $17::uuid[], $18::jsonb[])
                    AS u(id, from_status, attempt, to_status, result, error, reason, message_id,
                         event_type, payload, usage_id, billable, vertex_visits, compute_ms, device,
                         via, worker_id, spec)
                    ON u.id = l.id
               WHERE j.id = l.id AND j.status = u.from_status::job_status AND j.attempt = u.attempt
                 AND (u.spec IS NULL OR j.spec = u.spec)
               RETURNING j.id, j.tenant_id, j.attempt, j.max_attempts, j.operation, u.from_status,
                         u.via, u.to_status, u.reason, u.message_id, u.event_type, u.payload, u.usage_id,
                         u.billable, u.vertex_visits, u.compute_ms, u.device, j.status, j.spec,
                         j.result, j.error, j.created_at, j.updated_at, j.started_at, j.finished_at,
                         j.run_at, j.concurrency_key, j.result_ttl_secs, j.result_expires_at,
                         j.traceparent),
           -- A run-through logs its claim, then its end: the Append runs
           -- its branches in order, so the claim's row takes the lower id.
           logged AS (
               INSERT INTO job_transitions (job_id, tenant_id, from_status, to_status, attempt, reason, at)
               SELECT id, tenant_id, from_status::job_status, coalesce(via, to_status)::job_status,
                      attempt, CASE WHEN via IS NULL THEN reason END,
                      CASE WHEN via IS NULL THEN now() ELSE started_at END
               FROM moved
               UNION ALL
               SELECT id, tenant_id, via::job_status, to_status::job_status, attempt, reason, now()
               FROM moved WHERE via IS NOT NULL),
           message AS (
               INSERT INTO webhook_messages (id, tenant_id, event_type, job_id, payload, fanned_out_at,
                                             traceparent)
               SELECT message_id, tenant_id, event_type, id,
                      jsonb_set(payload, '{data,tenant_id}', to_jsonb(tenant_id)),
                      CASE WHEN EXISTS (
                               SELECT 1 FROM webhook_endpoints e
                               WHERE e.tenant_id = moved.tenant_id AND e.enabled AND e.deleted_at IS NULL
                                 AND (cardinality(e.event_types) = 0 OR moved.event_type = ANY (e.event_types)))
                           THEN NULL ELSE now() END,
                      traceparent
               FROM moved),
           used AS (
               INSERT INTO usage_events (id, tenant_id, job_id, outcome, billable, vertex_visits,
                                         compute_ms, device, operation, attempts)
               SELECT usage_id, tenant_id, id, to_status::job_status, billable, vertex_visits,
                      compute_ms, device, operation, attempt
               FROM moved),
           done AS (
               -- Only a job with parents carries them, and only a job with
               -- its own retention its `result_ttl_secs` (an older api would
               -- refuse either key for every job). A base too large is NULL:
               -- so is the notice, and the id goes alone.
               SELECT id, left(base, -1)
                          || CASE WHEN parents IS NULL THEN ''
                                  ELSE ',"depends_on":' || parents::text END
                          || CASE WHEN result_ttl_secs IS NULL THEN ''
                                  ELSE ',"result_ttl_secs":' || result_ttl_secs::text END
                          || CASE WHEN result_expires_at IS NULL THEN ''
                                  ELSE ',"result_expires_at":'
                                       || (extract(epoch FROM result_expires_at) * 1000000)::bigint::text END
                          || '}' AS notice
               FROM (SELECT id,
                            CASE WHEN pg_column_size(spec) + coalesce(pg_column_size(result), 0)
                                      + coalesce(pg_column_size(error), 0) < 6000
                            THEN json_build_object(
                                'id', id, 'tenant_id', tenant_id, 'status', status,
                                'operation', operation, 'request', spec, 'attempt', attempt,
                                'max_attempts', max_attempts, 'result', result, 'error', error,
                                'created_at', (extract(epoch FROM created_at) * 1000000)::bigint,
                                'updated_at', (extract(epoch FROM updated_at) * 1000000)::bigint,
                                'started_at', (extract(epoch FROM started_at) * 1000000)::bigint,
                                'finished_at', (extract(epoch FROM finished_at) * 1000000)::bigint,
                                'run_at', (extract(epoch FROM run_at) * 1000000)::bigint
                            )::text END AS base,
                            (SELECT json_agg(d.parent_id ORDER BY d.parent_id)
                             FROM job_dependencies d WHERE d.child_id = moved.id) AS parents,
                            result_ttl_secs, result_expires_at
                     FROM moved) b),
           notified AS MATERIALIZED (
               SELECT id, pg_notify('job_done', CASE WHEN octet_length(notice) < 8000 THEN notice
                                                     ELSE id::text END)
               FROM done),
           -- One probe of each tenant's unsent rows (LIMIT 1 in a LATERAL):
           -- written as an EXISTS, the plan read the whole partial index of
           -- unsent rows for each tenant, a cost that grew with the backlog.
           waiting AS MATERIALIZED (
               SELECT count(pg_notify('job_outbox', '')) AS woken
               FROM (SELECT DISTINCT tenant_id FROM moved) t
               CROSS JOIN LATERAL (SELECT 1 FROM job_outbox o
                                   WHERE o.tenant_id = t.tenant_id AND o.sent_at IS NULL
                                   LIMIT 1) o),
           parents AS MATERIALIZED (
               SELECT count(pg_notify('job_parents', m.id::text)) AS told
               FROM moved m
               WHERE EXISTS (SELECT 1 FROM job_dependencies d WHERE d.parent_id = m.id)),
           slots AS MATERIALIZED (
               SELECT count(pg_notify('job_slots', m.id::text)) AS told
               FROM moved m WHERE m.concurrency_key IS NOT NULL)
           SELECT m.id AS "id!: JobId", m.tenant_id AS "tenant_id!: TenantId",
                  m.from_status AS "from_status!", m.attempt AS "attempt!",
                  m.max_attempts AS "max_attempts!"
           FROM moved m JOIN notified n ON n.id = m.id CROSS JOIN waiting CROSS JOIN parents
           CROSS JOIN slots"#,
        &ids,
        &froms,
        &attempts,
        &tos,
        &results as &[Option<Value>],
        &errors as &[Option<Value>],
        &reasons as &[Option<String>],
        &message_ids,
        &event_types,
        &payloads,
        &usage_ids,
        &billables,
        &visits,
        &compute_ms,
        &devices as &[Option<String>],
        &vias as &[Option<String>],
        &workers as &[Option<Uuid>],
        &specs as &[Option<Value>],
    )
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(|r| {
            let applied = (r.tenant_id, r.attempt, r.max_attempts, None);
            (r.id, r.from_status, applied)
        })
        .collect();
    Ok(answer_in_order(items.iter().map(|i| i.guard), rows))
}

/// Extends the lease of a running attempt. False when the job is no longer
/// this worker's (finished, cancelled, or re-queued by the reaper).
pub async fn heartbeat(pool: &PgPool, guard: Guard, lease: Duration) -> Result<bool, DbError> {
    let rows = sqlx::query!(
        "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $4)
         WHERE id = $1 AND status = $2 AND attempt = $3",
        guard.job as JobId,
        guard.from as JobState,
        guard.attempt,
        lease.as_secs_f64(),
    )
    .execute(pool)
    .await?
    .rows_affected();
    Ok(rows == 1)
}
