//! A running job's progress (issue 22). The engine tells its `Cancel` how
//! much work it did at the points where it polls for a cancel
//! (`compute::Signals`), which adds it here; `report` writes the count,
//! against the total [`Progress::plan`] chose for the operation, at most
//! once per `every` while the job runs (`db::progress`). Jobs that finish
//! within the first interval write nothing, so the job path pays nothing
//! for it.
//!
//! The unit is `vertices` (expanded, against the operation's estimate, an
//! upper bound) for the graph operations, and `elements` (of the data
//! field, exactly what a run handles) for transforms.

use catalytic_lattice::{Estimate, Lattice};
use catalytic_shared::db::progress::{ELEMENTS, VERTICES};
use catalytic_shared::db::{self, jobs::Guard};
use catalytic_shared::job::Operation;
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The work a job's engine has done, the total it counts against, and in
/// which unit.
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicU64,
    total: AtomicU64,
    /// The unit is [`ELEMENTS`], else [`VERTICES`].
    elements: AtomicBool,
}

impl Progress {
    pub fn add(&self, work: u64) {
        self.done.fetch_add(work, Ordering::Relaxed);
    }

    /// Chooses the total and unit for `operation` on `lattice`: a
    /// transform's element count, else the estimate's vertex visits.
    pub fn plan(&self, operation: &Operation, lattice: &Lattice, estimate: &Estimate) {
        let elements = matches!(operation, Operation::Transform(_));
        let total = if elements {
            lattice.vertex_count()
        } else {
            estimate.vertex_visits
        };
        self.total.store(total, Ordering::Relaxed);
        self.elements.store(elements, Ordering::Relaxed);
    }

    /// (done, total, unit), done at most total.
    pub fn snapshot(&self) -> (u64, u64, &'static str) {
        let total = self.total.load(Ordering::Relaxed);
        let unit = if self.elements.load(Ordering::Relaxed) {
            ELEMENTS
        } else {
            VERTICES
        };
        (self.done.load(Ordering::Relaxed).min(total), total, unit)
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
        let (so_far, total, unit) = progress.snapshot();
        if so_far == written || total == 0 {
            continue;
        }
        let report = db::progress::report(pool, guard.job, guard.attempt, so_far, total, unit);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Admission;
    use crate::compute;
    use crate::device::Device;
    use serde_json::json;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    /// Issue 22: a transform counts in elements against its data's size,
    /// and the lattice's reports bring it to exactly that total; a search
    /// still counts vertices against its estimate.
    #[tokio::test]
    async fn a_transform_counts_its_elements_to_the_end() -> anyhow::Result<()> {
        let progress = Arc::new(Progress::default());
        // 90,000 elements: two polls of the transform, one partial.
        let spec = json!({"lattice": {"sizes": [300, 300]}, "operation": "transform",
            "params": {"transform": {"kind": "rotate", "axes": [0, 1], "quarter_turns": 1},
                       "data": {"source": "seeded_f32", "seed": 4}, "catalytic": true}});
        let out = compute::run(
            spec,
            CancellationToken::new(),
            Duration::from_secs(600),
            &Admission::new(1 << 30),
            &Device::Cpu,
            progress.clone(),
        )
        .await?;
        assert_eq!(out.result["elements"], 90_000);
        assert_eq!(progress.snapshot(), (90_000, 90_000, ELEMENTS));

        let search = Progress::default();
        let spec: catalytic_shared::job::JobSpec = serde_json::from_value(
            json!({"lattice": {"sizes": [300, 300]}, "operation": "distances",
                   "params": {"source": [0, 0]}}),
        )?;
        let lattice = spec.lattice()?;
        let estimate = catalytic_shared::job::cost::estimate(&spec, &lattice);
        search.plan(&spec.operation, &lattice, &estimate);
        search.add(5);
        assert_eq!(search.snapshot(), (5, estimate.vertex_visits, VERTICES));
        Ok(())
    }
}
