//! One delivery, start to finish: parse the message, claim the job (a
//! guarded queued → running), wait for a compute slot and compute while
//! heartbeating the lease, commit the outcome, and tell the consumer how to
//! settle the delivery. The consumer acks only after this returns, i.e.
//! after the commit.
//!
//! Claims and outcomes are written in batches (issue 17): each goes through
//! a group commit ([`Writes`]), so the claims of deliveries that arrive
//! while a claim statement is in flight share the next one, and likewise
//! the outcomes of jobs that finish together. Each item keeps the guarded
//! meaning of a single transition (`jobs::transition_many`); a statement
//! that fails fails each of its items, which retry like a single write.
//!
//! Duplicates are harmless by construction: a second delivery of a message
//! finds the job no longer `queued` at that attempt, its claim is `Stale`,
//! and it is acked without any effect.

use crate::admission::Admission;
use crate::cancel;
use crate::compute::{self, ComputeError, Computed};
use crate::heartbeat;
use crate::pool::Pool;
use crate::progress::{self, Progress};
use catalytic_shared::db::jobs::{self, Change, Guard, Transitioned};
use catalytic_shared::db::result_parts::Stored;
use catalytic_shared::db::{self, DbError};
use catalytic_shared::group_commit::GroupCommit;
use catalytic_shared::ids::WorkerId;
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::metrics as m;
use catalytic_shared::queue::trace_headers::MessageTrace;
use catalytic_shared::queue::{JobMessage, MessageError};
use catalytic_shared::reconnect::Backoff;
use catalytic_shared::result_parts::{NPY_MEDIA_TYPE, Packed};
use catalytic_shared::telemetry;
use catalytic_shared::telemetry::KeyValue;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
use std::time::SystemTime;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How to settle a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done with it: its effect (or the decision that it has none) is committed.
    Ack,
    /// Unusable (malformed, newer schema): dead-letter it, with the reason logged.
    DeadLetter,
    /// Not handled (shutting down before the claim committed): redeliver.
    Requeue,
}

pub struct Executor {
    pub pool: PgPool,
    pub worker: WorkerId,
    pub lease: Duration,
    pub heartbeat_every: Duration,
    /// How often a running job's progress is written, at most
    /// (`worker.progress_every_ms`; `progress.rs`).
    pub progress_every: Duration,
    /// Jobs computing now, for the fleet row and the gauge.
    pub in_flight: Arc<AtomicI32>,
    /// Running computes by job, cancelled by `cancel::listen` on a cancel.
    pub cancels: cancel::Registry,
    /// The worker's memory budget; each job reserves its estimate.
    pub admission: Arc<Admission>,
    /// CPU or GPU (`device.rs`).
    pub device: crate::device::Device,
    /// Compute slots: jobs computing at once (`worker.concurrency`, or an
    /// elastic pool, `pool.rs`). A claimed job waits here, its lease
    /// heartbeating.
    pub compute: Arc<Pool>,
    /// The batched claim and outcome writes.
    pub writes: Writes,
    /// Each compute's duration, which sizes the prefetch (`prefetch.rs`).
    pub compute_times: Arc<crate::prefetch::ComputeTimes>,
    /// Jobs estimated to compute within this run through: computed before
    /// any claim, claim and outcome in one statement (`run_through.rs`;
    /// zero: off).
    pub run_through_max: Duration,
}

/// Why a batched write did not answer an item with a transition.
#[derive(Debug, Clone)]
pub enum WriteError {
    /// The round trip failed (the database is unreachable, the connection
    /// dropped): nothing was applied; write again.
    Retryable(String),
    /// The write is refused (an illegal transition, corrupt data, a
    /// conflict): writing again would not help.
    Refused(String),
}

type WriteAnswer = Result<Transitioned, WriteError>;

/// The worker's two group commits: claims (queued → running) and outcomes
/// (terminal states; a rare retry goes the same way and is written on its
/// own inside the batch's call). Batches form only while every flusher of
/// the kind is busy; there is no timer, so a lone delivery is not held back.
#[derive(Clone)]
pub struct Writes {
    claims: GroupCommit<Guard, WriteAnswer>,
    outcomes: GroupCommit<(Guard, Change), WriteAnswer>,
}

/// Flushers and batch size of [`Writes`] (`worker.*` in the config).
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    pub claim_flushers: usize,
    pub outcome_flushers: usize,
    pub batch_max: usize,
}

impl Writes {
    /// Spawns the flushers; each batch takes one pooled connection.
    pub fn spawn(pool: PgPool, worker: WorkerId, lease: Duration, batching: Batching) -> Self {
        let claims = {
            let pool = pool.clone();
            GroupCommit::spawn(
                batching.claim_flushers,
                batching.batch_max,
                move |guards: Vec<Guard>| {
                    let pool = pool.clone();
                    async move {
                        let items = guards
                            .into_iter()
                            .map(|guard| (guard, Change::Claim { worker, lease }))
                            .collect();
                        write_batch(&pool, "claim", items).await
                    }
                },
            )
        };
        let outcomes = GroupCommit::spawn(
            batching.outcome_flushers,
            batching.batch_max,
            move |items: Vec<(Guard, Change)>| {
                let pool = pool.clone();
                async move { write_batch(&pool, "outcome", items).await }
            },
        );
        Self { claims, outcomes }
    }
}

/// Writes one batch and answers each item. A round trip that fails answers
/// every item `Retryable` (none was applied: see `transition_many`). A
/// refusal of a whole statement (a unique violation, corrupt data) does not
/// say which item caused it, so the items of a batch of several are then
/// written one by one, and only the culprit is refused.
async fn write_batch(
    pool: &PgPool,
    kind: &'static str,
    items: Vec<(Guard, Change)>,
) -> Vec<WriteAnswer> {
    let n = items.len();
    metrics::histogram!(m::WORKER_BATCH_SIZE, "write" => kind).record(n as f64);
    // Kept only where a refusal would need them one by one.
    let alone = (n > 1).then(|| items.clone());
    match write_once(pool, items).await {
        Ok(answers) => answers,
        Err(e) => match (classify(&e), alone) {
            (WriteError::Refused(_), Some(items)) => {
                let mut answers = Vec::with_capacity(n);
                for item in items {
                    let answer = match write_once(pool, vec![item]).await {
                        Ok(mut one) => one.pop().unwrap_or_else(|| {
                            Err(WriteError::Refused("a write got no answer".to_owned()))
                        }),
                        Err(e) => Err(classify(&e)),
                    };
                    answers.push(answer);
                }
                answers
            }
            (error, _) => vec![Err(error); n],
        },
    }
}

async fn write_once(
    pool: &PgPool,
    items: Vec<(Guard, Change)>,
) -> Result<Vec<WriteAnswer>, DbError> {
    let mut conn = pool.acquire().await?;
    let answers = jobs::transition_many(&mut conn, items).await?;
    Ok(answers
        .into_iter()
        .map(|answer| answer.map_err(|e| classify(&e)))
        .collect())
}

/// Logic errors (an illegal transition, corrupt data, a conflict) are not
/// retried; everything else is the database being away.
fn classify(e: &DbError) -> WriteError {
    match e {
        DbError::IllegalTransition(_) | DbError::Corrupt(_) | DbError::Conflict { .. } => {
            WriteError::Refused(e.to_string())
        }
        _ => WriteError::Retryable(e.to_string()),
    }
}

impl Executor {
    /// Handles one delivery; `taken` (the consumer's permit to take a
    /// delivery) is released once the compute is over, before the outcome
    /// is written.
    pub async fn handle(
        &self,
        payload: &[u8],
        trace: Option<MessageTrace>,
        taken: OwnedSemaphorePermit,
        shutdown: &CancellationToken,
    ) -> Settle {
        let message = match JobMessage::from_bytes(payload) {
            Ok(m) => m,
            Err(e) => {
                metrics::counter!(m::MESSAGES_REJECTED).increment(1);
                match &e {
                    MessageError::NewerSchema { .. } => {
                        tracing::error!(error = %e, "message from a newer release; dead-lettering")
                    }
                    MessageError::Malformed(_) => {
                        tracing::error!(error = %e, "malformed message; dead-lettering")
                    }
                }
                return Settle::DeadLetter;
            }
        };
        let span = tracing::info_span!(
            "job",
            job_id = %message.job_id,
            tenant_id = %message.tenant_id,
            message_id = %message.message_id,
            attempt = message.attempt,
            otel.kind = "consumer",
        );
        let traced = trace.is_some();
        if let Some(trace) = trace {
            trace.parent.adopt(&span);
            if let Some(published) = trace.published_at {
                telemetry::record_span(
                    "queue.wait",
                    &trace.parent,
                    published,
                    SystemTime::now(),
                    vec![KeyValue::new("job_id", message.job_id.to_string())],
                );
            }
        }
        self.run(message, traced, taken, shutdown)
            .instrument(span)
            .await
    }

    async fn run(
        &self,
        mut message: JobMessage,
        traced: bool,
        taken: OwnedSemaphorePermit,
        shutdown: &CancellationToken,
    ) -> Settle {
        let guard = Guard {
            job: message.job_id,
            from: JobState::Queued,
            attempt: message.attempt,
        };
        // Registered before the claim: a cancel committed just after it
        // finds the token (and the engine stops at its first poll).
        let registration = self.cancels.register(message.job_id);
        let copy = crate::run_through::eligible(message.inline.take(), self.run_through_max);
        if let Some(copy) = copy {
            let cancel = registration.token();
            if let Some(settle) = self
                .run_through(guard, copy, &cancel, traced, shutdown)
                .await
            {
                return settle;
            }
            tracing::info!("run-through did not apply; claiming");
        }
        let Some(claimed) = write(&self.writes.claims, guard, shutdown)
            .instrument(stage(traced, Stage::Claim))
            .await
        else {
            return Settle::Requeue;
        };
        let moved = match claimed {
            Transitioned::Applied(moved) => moved,
            Transitioned::Stale => {
                tracing::info!(
                    "job is not queued at this attempt (duplicate or late message); dropped"
                );
                return Settle::Ack;
            }
        };
        tracing::info!("job claimed");
        let running = Guard {
            from: JobState::Running,
            ..guard
        };

        let cancel = registration.token();
        let done = CancellationToken::new();
        let lease_task = tokio::spawn(
            heartbeat::keep_lease(
                self.pool.clone(),
                running,
                self.heartbeat_every,
                self.lease,
                cancel.clone(),
                done.clone(),
            )
            .in_current_span(),
        );
        let (spec, time_limit) = match moved.claimed {
            Some(claimed) => (claimed.spec, claimed.time_limit),
            None => (serde_json::Value::Null, Duration::ZERO),
        };
        // A parent's output as this job's input, read now (`inputs.rs`).
        let spec = match crate::inputs::resolve(&self.pool, message.job_id, spec).await {
            Ok(spec) => Ok(spec),
            Err(crate::inputs::InputError::Unusable(why)) => Err(why),
            Err(crate::inputs::InputError::Db(e)) => {
                tracing::warn!(error = %e, "reading the job's inputs failed; requeued");
                done.cancel();
                let _ = lease_task.await;
                return Settle::Requeue;
            }
        };
        // Claimed before a compute slot is free, so that the claims of the
        // deliveries taken together share a statement; the wait is short
        // (the consumer takes at most `prefetch` deliveries ahead of the
        // slots) and the lease heartbeats meanwhile. A cancel ends the wait.
        let slot = self.compute.acquire(&cancel).await;
        let outcome = match (slot, spec) {
            (_, Err(why)) => Err(ComputeError::Input(why)),
            (Some(slot), Ok(spec)) => {
                let progress = Arc::new(Progress::default());
                let compute = compute::run(
                    spec,
                    cancel.clone(),
                    time_limit,
                    &self.admission,
                    &self.device,
                    progress.clone(),
                );
                let reporting = progress::reporting(
                    &self.pool,
                    running,
                    &progress,
                    self.progress_every,
                    compute,
                );
                self.in_slot(slot, reporting)
                    .instrument(stage(traced, Stage::Compute))
                    .await
            }
            (None, Ok(_)) => Err(ComputeError::Cancelled),
        };
        drop(taken);
        drop(registration);
        // Full answers beyond the inline caps are stored before the outcome,
        // while the lease still heartbeats (a large part takes seconds).
        let outcome = match outcome {
            Ok(computed) if !computed.parts.is_empty() => {
                match self
                    .store_parts(computed, running, shutdown)
                    .instrument(stage(traced, Stage::StoreParts))
                    .await
                {
                    PartsStored::Ready(computed) => Ok(computed),
                    PartsStored::Moved => {
                        tracing::warn!("parts dropped: the job moved on while computing");
                        done.cancel();
                        let _ = lease_task.await;
                        return Settle::Ack;
                    }
                    PartsStored::ShuttingDown => {
                        done.cancel();
                        let _ = lease_task.await;
                        return Settle::Requeue;
                    }
                }
            }
            other => other,
        };
        done.cancel();
        let _ = lease_task.await;

        let change = match outcome {
            Ok(computed) => {
                let usage = computed_usage(&computed);
                Change::Succeed {
                    result: computed.result,
                    usage,
                }
            }
            Err(ComputeError::Cancelled) => {
                // Cancelled by the tenant (`cancel::listen`) or the lease
                // was lost: whoever moved the job owns it now.
                tracing::info!("compute cancelled");
                return Settle::Ack;
            }
            Err(e @ ComputeError::TimeLimit(_, engine)) => {
                tracing::warn!(error = %e, "time limit reached");
                Change::Fail {
                    error: Failure::TimeLimit {
                        message: e.to_string(),
                    },
                    // The tenant's job used its whole allowance: billed.
                    usage: Usage {
                        billable: true,
                        compute_ms: i64::try_from(time_limit.as_millis()).unwrap_or(i64::MAX),
                        device: Some(engine),
                        ..Usage::default()
                    },
                }
            }
            Err(e @ ComputeError::TooLarge(_)) => {
                tracing::error!(error = %e, "job exceeds this worker's memory budget");
                Change::Fail {
                    error: Failure::TooLargeForWorker {
                        message: e.to_string(),
                    },
                    usage: Usage::default(),
                }
            }
            Err(
                e @ (ComputeError::Invalid(_)
                | ComputeError::Unreadable(_)
                | ComputeError::Transform(_)
                | ComputeError::Input(_)),
            ) => {
                tracing::error!(error = %e, "job cannot be computed");
                Change::Fail {
                    error: Failure::Invalid {
                        message: e.to_string(),
                    },
                    usage: Usage::default(),
                }
            }
            Err(e @ (ComputeError::Panicked(_) | ComputeError::Packing(_)))
                if moved.max_attempts > message.attempt =>
            {
                tracing::error!(error = %e, "attempt failed; retrying");
                Change::Retry {
                    error: Failure::Engine {
                        message: e.to_string(),
                        attempt: message.attempt,
                    },
                    backoff: catalytic_shared::job::retry::backoff(message.attempt),
                }
            }
            Err(e @ (ComputeError::Panicked(_) | ComputeError::Packing(_))) => Change::Fail {
                error: Failure::Engine {
                    message: e.to_string(),
                    attempt: message.attempt,
                },
                usage: Usage::default(),
            },
        };
        let outcome_label = match change {
            Change::Succeed { .. } => "succeeded",
            Change::Retry { .. } => "retried",
            _ => "failed",
        };
        match write(&self.writes.outcomes, (running, change), shutdown)
            .instrument(stage(traced, Stage::Commit))
            .await
        {
            Some(Transitioned::Applied(_)) => {
                metrics::counter!(m::JOBS_FINISHED, "outcome" => outcome_label).increment(1);
                tracing::info!(outcome = outcome_label, "outcome recorded");
                Settle::Ack
            }
            Some(Transitioned::Stale) => {
                tracing::warn!(
                    "outcome dropped: the job moved on (cancelled or re-queued) while computing"
                );
                Settle::Ack
            }
            // Shutting down with the database away: the lease will expire and
            // the reaper re-queues the job; redeliver the message meanwhile.
            None => Settle::Requeue,
        }
    }
}

impl Executor {
    /// Runs a cheap job through (`run_through.rs`): computes it from the
    /// message's copy of its spec, then writes claim and success in one
    /// statement with the other outcomes. None when that did not apply (the
    /// compute did not simply succeed inline, or the outcome was stale: the
    /// job moved on, or its row holds another spec): the caller claims the
    /// job as it would without a copy, and the claim tells those apart. A
    /// cancel during the wait for a slot is None too: the claim then finds
    /// the job cancelled.
    async fn run_through(
        &self,
        guard: Guard,
        copy: crate::run_through::Copied,
        cancel: &CancellationToken,
        traced: bool,
        shutdown: &CancellationToken,
    ) -> Option<Settle> {
        // A child: the time limit's timer cancels the token it is given, and
        // the claimed path that may follow needs its own uncancelled.
        let cancel = cancel.child_token();
        let slot = self.compute.acquire(&cancel).await?;
        let compute = compute::run_spec(
            copy.parsed,
            cancel,
            copy.time_limit,
            &self.admission,
            &self.device,
            Arc::new(Progress::default()),
        );
        let outcome = self
            .in_slot(slot, compute)
            .instrument(stage(traced, Stage::Compute))
            .await;
        let computed = match outcome {
            Ok(computed) if computed.parts.is_empty() => computed,
            _ => return None,
        };
        let usage = computed_usage(&computed);
        let change = Change::RunThrough {
            worker: self.worker,
            spec: copy.spec,
            result: computed.result,
            usage,
        };
        let written = write(&self.writes.outcomes, (guard, change), shutdown)
            .instrument(stage(traced, Stage::Commit))
            .await;
        match written {
            // Shutting down with the database away: nothing was recorded,
            // the delivery goes back to the queue.
            None => Some(Settle::Requeue),
            Some(Transitioned::Applied(_)) => {
                metrics::counter!(m::JOBS_FINISHED, "outcome" => "succeeded").increment(1);
                metrics::counter!(m::JOBS_RUN_THROUGH).increment(1);
                tracing::info!(
                    outcome = "succeeded",
                    ran_through = true,
                    "outcome recorded"
                );
                Some(Settle::Ack)
            }
            Some(Transitioned::Stale) => None,
        }
    }
}

impl Executor {
    /// Runs `compute` holding compute slot `slot`, counted in flight and
    /// timed for the prefetch (`prefetch.rs`); the slot is freed as it ends.
    async fn in_slot<T>(
        &self,
        slot: OwnedSemaphorePermit,
        compute: impl std::future::Future<Output = T>,
    ) -> T {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(m::JOBS_IN_FLIGHT).increment(1.0);
        let started = std::time::Instant::now();
        let outcome = compute.await;
        self.compute_times.record(started.elapsed());
        drop(slot);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!(m::JOBS_IN_FLIGHT).decrement(1.0);
        outcome
    }
}

/// A successful compute's usage event, and its duration recorded.
fn computed_usage(computed: &Computed) -> Usage {
    metrics::histogram!(m::JOB_COMPUTE_SECONDS).record(computed.elapsed.as_secs_f64());
    tracing::info!(compute_ms = computed.elapsed.as_millis() as u64, "computed");
    Usage {
        billable: true,
        vertex_visits: i64::try_from(computed.vertex_visits).unwrap_or(i64::MAX),
        compute_ms: i64::try_from(computed.elapsed.as_millis()).unwrap_or(i64::MAX),
        device: Some(computed.device),
    }
}

/// A stage of a job in the worker, as a span of its trace (issue 23).
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// The guarded queued → running write (shared with other claims).
    Claim,
    /// The engine's run, with its progress reports.
    Compute,
    /// Full results stored in parts.
    StoreParts,
    /// The outcome's write (shared with other outcomes).
    Commit,
}

/// The stage's span for a traced job; for an untraced one none at all, so
/// that with tracing off the job path makes no spans beyond today's.
fn stage(traced: bool, stage: Stage) -> tracing::Span {
    if !traced {
        return tracing::Span::none();
    }
    match stage {
        Stage::Claim => tracing::info_span!("job.claim"),
        Stage::Compute => tracing::info_span!("job.compute"),
        Stage::StoreParts => tracing::info_span!("job.store_parts"),
        Stage::Commit => tracing::info_span!("job.commit"),
    }
}

/// What storing a job's result parts came to.
enum PartsStored {
    /// Stored (or refused by the plan's cap): the result lists them, or
    /// says why not.
    Ready(Computed),
    /// The job is no longer running at this attempt: nothing to record.
    Moved,
    /// Shutdown came while the database was away.
    ShuttingDown,
}

impl Executor {
    /// Stores `computed`'s parts for the running attempt of `running`,
    /// retrying while the database is away, and lists them in its result
    /// (name, type, shape, bytes and the URL to download each), or says
    /// why the plan's cap kept them out.
    async fn store_parts(
        &self,
        mut computed: Computed,
        running: Guard,
        shutdown: &CancellationToken,
    ) -> PartsStored {
        let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
        let stored = loop {
            match db::result_parts::store(&self.pool, running.job, running.attempt, &computed.parts)
                .await
            {
                Ok(stored) => break stored,
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "storing result parts failed; retrying");
                    if !Backoff::sleep(delay, shutdown).await {
                        return PartsStored::ShuttingDown;
                    }
                }
            }
        };
        let listing = match stored {
            Stored::Moved => return PartsStored::Moved,
            Stored::Kept => {
                let parts: Vec<serde_json::Value> = computed
                    .parts
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "name": p.name, "media_type": NPY_MEDIA_TYPE, "dtype": p.dtype,
                            "shape": p.shape, "bytes": p.length, "stored_bytes": p.stored_bytes(),
                            "url": format!("/v1/jobs/{}/result/{}", running.job, p.name),
                        })
                    })
                    .collect();
                tracing::info!(parts = parts.len(), "result parts stored");
                ("parts", serde_json::json!(parts))
            }
            Stored::OverCap { used, cap } => {
                tracing::warn!(
                    used,
                    cap,
                    "result parts over the plan's storage; not stored"
                );
                let reason = serde_json::json!({
                    "reason": "your plan's storage for full results is used up; delete jobs or results you no longer need",
                    "stored_bytes": used, "limit_bytes": cap,
                    "needed_bytes": computed.parts.iter().map(Packed::stored_bytes).sum::<u64>(),
                });
                ("parts_refused", reason)
            }
        };
        if let Some(result) = computed.result.as_object_mut() {
            result.insert(listing.0.to_owned(), listing.1);
        }
        computed.parts.clear();
        PartsStored::Ready(computed)
    }
}

/// A write through one of the group commits, retried with capped backoff
/// while the database is unreachable; None only when shutdown came first
/// (or the flushers are gone, i.e. the runtime is stopping). A refused
/// write is logged and answered as `Stale`, i.e. no effect.
async fn write<Req: Clone + Send + 'static>(
    commit: &GroupCommit<Req, WriteAnswer>,
    request: Req,
    shutdown: &CancellationToken,
) -> Option<Transitioned> {
    let mut backoff = Backoff::new(Duration::from_millis(50), Duration::from_secs(2));
    loop {
        let delay = match commit.call(request.clone()).await {
            Ok(Ok(t)) => return Some(t),
            Ok(Err(WriteError::Refused(error))) => {
                tracing::error!(error, "job write refused");
                return Some(Transitioned::Stale);
            }
            Ok(Err(WriteError::Retryable(error))) => {
                let delay = backoff.next_delay();
                tracing::warn!(
                    error,
                    retry_in_ms = delay.as_millis() as u64,
                    "database write failed; retrying"
                );
                delay
            }
            Err(e) => {
                tracing::warn!(error = %e, "job write abandoned");
                return None;
            }
        };
        if !Backoff::sleep(delay, shutdown).await {
            return None;
        }
    }
}
