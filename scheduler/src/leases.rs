//! The lease reaper (docs/adr/0001-processes.md): a worker extends the lease of each job it
//! runs every few seconds; a job whose lease ran out lost its worker (crash,
//! partition, a stuck process). The reaper moves it on, through the one
//! transition function, guarded by {job, running, attempt}:
//!
//! - attempts left: `running → queued`, attempt + 1, with an outbox row due
//!   after the retry backoff (`job::retry`); the relay publishes it then;
//! - none left: `running → failed`, not billed (docs/adr/0003-plans.md: the platform
//!   failed it), the error listing every attempt's error.
//!
//! Each round locks the expired rows `FOR UPDATE SKIP LOCKED` in one
//! transaction, so replicas split the work, and the guard makes a late
//! heartbeat or outcome from the lost worker a counted, dropped stale write.

use crate::db::reaper::{self, Expired};
use anyhow::Context;
use catalytic_shared::db::jobs::{self, Change, Guard, Transitioned};
use catalytic_shared::job::{Failure, JobState, Usage, retry};
use catalytic_shared::metrics as m;
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Reaper {
    pub pool: PgPool,
    /// Time between rounds (`scheduler.reaper_interval_ms`).
    pub interval: Duration,
    /// Jobs locked per round; a full round runs again at once.
    pub batch: u32,
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReapedCounts {
    /// Re-queued for another attempt.
    pub retried: usize,
    /// Out of attempts: failed.
    pub failed: usize,
    /// Moved by someone else first (a late outcome, a cancel): nothing written.
    pub stale: usize,
}

impl ReapedCounts {
    pub fn total(&self) -> usize {
        self.retried + self.failed + self.stale
    }
}

impl Reaper {
    pub async fn run(self, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                Ok(counts) if counts.total() == self.batch as usize => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = format!("{e:#}"), "lease reaper round failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(self.interval) => {}
            }
        }
        tracing::info!("lease reaper stopped");
    }

    /// One round: lock up to `batch` expired leases and move each on.
    pub async fn run_once(&self) -> anyhow::Result<ReapedCounts> {
        let mut tx = self
            .pool
            .begin()
            .await
            .context("beginning the reaper transaction")?;
        let expired = reaper::lock_expired(&mut tx, i64::from(self.batch))
            .await
            .context("finding expired leases")?;
        let mut counts = ReapedCounts::default();
        for job in expired {
            // `transition` runs in a savepoint: one job's error rolls back
            // only that job and the round goes on with the others.
            match reap(&mut tx, job).await {
                Ok(Reaped::Retried) => counts.retried += 1,
                Ok(Reaped::Failed) => counts.failed += 1,
                Ok(Reaped::Stale) => counts.stale += 1,
                Err(e) => {
                    tracing::error!(job_id = %job.job, error = format!("{e:#}"), "could not reap job")
                }
            }
        }
        tx.commit().await.context("committing reaped jobs")?;
        metrics::counter!(m::LEASES_REAPED, "outcome" => "retried")
            .increment(counts.retried as u64);
        metrics::counter!(m::LEASES_REAPED, "outcome" => "failed").increment(counts.failed as u64);
        if counts.total() > 0 {
            tracing::info!(
                retried = counts.retried,
                failed = counts.failed,
                stale = counts.stale,
                "reaped expired leases"
            );
        }
        Ok(counts)
    }
}

enum Reaped {
    Retried,
    Failed,
    Stale,
}

async fn reap(conn: &mut PgConnection, job: Expired) -> anyhow::Result<Reaped> {
    let guard = Guard {
        job: job.job,
        from: JobState::Running,
        attempt: job.attempt,
    };
    let error = Failure::lease_expired(job.attempt);
    let retrying = retry::may_retry(job.attempt, job.max_attempts);
    let change = if retrying {
        Change::Retry {
            error,
            backoff: retry::backoff(job.attempt),
        }
    } else {
        let mut errors = reaper::attempt_errors(conn, job.job)
            .await
            .context("reading earlier attempts' errors")?;
        errors.push(error);
        Change::Fail {
            error: Failure::attempts_exhausted(job.attempt, errors),
            usage: Usage {
                billable: false,
                ..Usage::default()
            },
        }
    };
    let outcome = jobs::transition(conn, guard, change)
        .await
        .context("moving the job on")?;
    Ok(match (outcome, retrying) {
        (Transitioned::Stale, _) => Reaped::Stale,
        (Transitioned::Applied(_), true) => Reaped::Retried,
        (Transitioned::Applied(_), false) => Reaped::Failed,
    })
}
