//! A running job's progress (issue 22). The engine tells its `Cancel` how
//! many vertices it expanded at the points where it polls for a cancel
//! (`compute::Signals`), which adds them here; `report` writes the count,
//! against the operation's estimate, at most once per `every` while the
//! job runs (`db::progress`). Jobs that finish within the first interval
//! write nothing, so the job path pays nothing for it.

use catalytic_shared::db::progress::VERTICES;
use catalytic_shared::db::{self, jobs::Guard};
use sqlx::PgPool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The vertices a job's engine has expanded, and the estimate they count
/// against.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    pub fn add(&self, vertices: u64) {
        self.done.fetch_add(vertices, Ordering::Relaxed);
    }

    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    /// (done, total), done at most total.
    pub fn snapshot(&self) -> (u64, u64) {
        let total = self.total.load(Ordering::Relaxed);
        (self.done.load(Ordering::Relaxed).min(total), total)
    }
}

/// Awaits `compute`, writing `progress` for the job of `guard` every
/// `every` meanwhile when it changed since the last write, in the same
/// task (no task of its own per job: most jobs end before the first tick).
/// Stops writing once the job is no longer running at that attempt.
pub async fn reporting<T>(
    pool: &PgPool,
    guard: Guard,
    progress: &Progress,
    every: Duration,
    compute: impl Future<Output = T>,
) -> T {
    tokio::pin!(compute);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut written = 0;
    let mut reporting = true;
    loop {
        tokio::select! {
            out = &mut compute => return out,
            _ = tick.tick(), if reporting => {}
        }
        let (so_far, total) = progress.snapshot();
        if so_far == written || total == 0 {
            continue;
        }
        let report = db::progress::report(pool, guard.job, guard.attempt, so_far, total, VERTICES);
        match report.await {
            Ok(true) => {
                written = so_far;
                tracing::debug!(done = so_far, total, "progress reported");
            }
            Ok(false) => reporting = false,
            // A missed report is only a stale bar: the next one catches up.
            Err(e) => tracing::warn!(error = %e, "progress report failed"),
        }
    }
}
