//! One delivery, start to finish: parse the message, claim the job (a
//! guarded queued → running), compute while heartbeating the lease, commit
//! the outcome, and tell the consumer how to settle the delivery. The
//! consumer acks only after this returns, i.e. after the commit.
//!
//! Duplicates are harmless by construction: a second delivery of a message
//! finds the job no longer `queued` at that attempt, its claim is `Stale`,
//! and it is acked without any effect.

use crate::admission::Admission;
use crate::cancel;
use crate::compute::{self, ComputeError};
use crate::heartbeat;
use catalytic_shared::db::DbError;
use catalytic_shared::db::jobs::{self, Change, Guard, Transitioned};
use catalytic_shared::ids::WorkerId;
use catalytic_shared::job::{Failure, JobState, Usage};
use catalytic_shared::metrics as m;
use catalytic_shared::queue::{JobMessage, MessageError};
use sqlx::PgPool;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;
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
    /// Jobs computing now, for the fleet row and the gauge.
    pub in_flight: Arc<AtomicI32>,
    /// Running computes by job, cancelled by `cancel::listen` on a cancel.
    pub cancels: cancel::Registry,
    /// The worker's memory budget; each job reserves its estimate.
    pub admission: Arc<Admission>,
    /// CPU or GPU (`device.rs`).
    pub device: crate::device::Device,
}

impl Executor {
    /// Handles one delivery; `slot` (a compute slot of the consumer's) is
    /// released once the compute is over, before the outcome is written.
    pub async fn handle(
        &self,
        payload: &[u8],
        slot: OwnedSemaphorePermit,
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
        );
        self.run(message, slot, shutdown).instrument(span).await
    }

    async fn run(
        &self,
        message: JobMessage,
        slot: OwnedSemaphorePermit,
        shutdown: &CancellationToken,
    ) -> Settle {
        let guard = Guard {
            job: message.job_id,
            from: JobState::Queued,
            attempt: message.attempt,
        };
        let claim = Change::Claim {
            worker: self.worker,
            lease: self.lease,
        };
        // Registered before the claim: a cancel committed just after it
        // finds the token (and the engine stops at its first poll).
        let registration = self.cancels.register(message.job_id);
        let Some(claimed) = self.write(guard, claim, shutdown).await else {
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

        self.in_flight.fetch_add(1, Ordering::Relaxed);
        metrics::gauge!(m::JOBS_IN_FLIGHT).increment(1.0);
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
        let outcome = compute::run(
            spec,
            cancel.clone(),
            time_limit,
            &self.admission,
            &self.device,
        )
        .await;
        drop(slot);
        drop(registration);
        done.cancel();
        let _ = lease_task.await;
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        metrics::gauge!(m::JOBS_IN_FLIGHT).decrement(1.0);

        let change = match outcome {
            Ok(computed) => {
                metrics::histogram!(m::JOB_COMPUTE_SECONDS).record(computed.elapsed.as_secs_f64());
                tracing::info!(compute_ms = computed.elapsed.as_millis() as u64, "computed");
                Change::Succeed {
                    result: computed.result,
                    usage: Usage {
                        billable: true,
                        vertex_visits: i64::try_from(computed.vertex_visits).unwrap_or(i64::MAX),
                        compute_ms: i64::try_from(computed.elapsed.as_millis()).unwrap_or(i64::MAX),
                        device: Some(computed.device),
                    },
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
                | ComputeError::Transform(_)),
            ) => {
                tracing::error!(error = %e, "job cannot be computed");
                Change::Fail {
                    error: Failure::Invalid {
                        message: e.to_string(),
                    },
                    usage: Usage::default(),
                }
            }
            Err(e @ ComputeError::Panicked(_)) if moved.max_attempts > message.attempt => {
                tracing::error!(error = %e, "attempt failed; retrying");
                Change::Retry {
                    error: Failure::Engine {
                        message: e.to_string(),
                        attempt: message.attempt,
                    },
                    backoff: catalytic_shared::job::retry::backoff(message.attempt),
                }
            }
            Err(e @ ComputeError::Panicked(_)) => Change::Fail {
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
        match self.write(running, change, shutdown).await {
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

    /// A transition, retried while the database is unreachable; None only
    /// when shutdown came first.
    async fn write(
        &self,
        guard: Guard,
        change: Change,
        shutdown: &CancellationToken,
    ) -> Option<Transitioned> {
        retry_db(shutdown, || async {
            let mut conn = self.pool.acquire().await?;
            jobs::transition(&mut conn, guard, change.clone()).await
        })
        .await
    }
}

/// Retries `op` with capped backoff while it fails with a database error.
/// Logic errors (an illegal transition, corrupt data) are not retried:
/// they are logged and answered as `Stale`, i.e. no effect.
async fn retry_db<F, Fut>(shutdown: &CancellationToken, op: F) -> Option<Transitioned>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Transitioned, DbError>>,
{
    let mut delay = Duration::from_millis(50);
    loop {
        match op().await {
            Ok(t) => return Some(t),
            Err(
                e
                @ (DbError::IllegalTransition(_) | DbError::Corrupt(_) | DbError::Conflict { .. }),
            ) => {
                catalytic_shared::telemetry::log_error_chain("job write refused", &e);
                return Some(Transitioned::Stale);
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "database write failed; retrying")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
