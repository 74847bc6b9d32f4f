//! Which jobs a worker runs through (issue 17): computes from the message's
//! copy of the spec before any claim, and records claim and outcome in one
//! statement (`Change::RunThrough`, shared/src/db/jobs.rs).
//!
//! A trivial job's claim was a quarter of the database's work per job
//! (docs/benchmarks.md, "Fewer writes and wake-ups per job"): a statement
//! and a `jobs` row version only to say "running" for microseconds. Jobs
//! estimated to compute within `worker.run_through_max_ms` skip it.
//! Nothing weakens:
//!
//! - **Nothing lost**: until the outcome commits, the job is `queued` and
//!   its delivery unacked; a worker that dies mid-compute leaves the
//!   message to RabbitMQ, which redelivers it, as before a claim.
//! - **Nothing done twice**: the outcome is guarded like a claim (`queued`
//!   at the message's attempt), so a duplicate delivery or a cancel that
//!   came first makes it stale; the compute is pure, so computing twice
//!   costs time only.
//! - **Exact**: the statement also requires the row's spec to equal the
//!   copy computed from; a copy that differs (forged, or from a bug) only
//!   makes it stale.
//! - **Anything but a plain success** (an error, a time limit, a cancel, a
//!   result too large to inline, a stale outcome) falls back to the claimed
//!   path, which claims from the row and decides as it always did.
//!
//! What changes for a tenant: such a job is never seen `running` (it goes
//! `queued` → `succeeded`; its history still logs the claim, at the
//! compute's start) and reports no progress, both of which would last
//! milliseconds at most.

use crate::inputs;
use catalytic_shared::job::{JobSpec, cost};
use catalytic_shared::queue::InlineJob;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

/// A job that may run through, its copy read once: the engine computes
/// `parsed`, and the outcome's guard requires the row to hold `spec`.
pub struct Copied {
    pub spec: Value,
    pub parsed: JobSpec,
    pub time_limit: Duration,
}

/// The copy to compute from, when a message carries one (`inline`) and its
/// job may run through: it takes no input from a parent (that is read
/// from the database when the job runs), and its estimated compute on this
/// engine is at most `max` (0 turns running through off).
pub fn eligible(inline: Option<InlineJob>, max: Duration) -> Option<Copied> {
    let inline = inline?;
    if max.is_zero() || inputs::takes_parent_output(&inline.spec) {
        return None;
    }
    // A spec the engine cannot read is the claimed path's to fail.
    let parsed = JobSpec::deserialize(&inline.spec).ok()?;
    let lattice = parsed.lattice().ok()?;
    let estimate = cost::estimate(&parsed, &lattice);
    (cost::estimated_time(&parsed, &lattice, &estimate) <= max).then(|| Copied {
        spec: inline.spec,
        parsed,
        time_limit: Duration::from_millis(u64::try_from(inline.time_limit_ms).unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inline(spec: Option<Value>) -> Option<InlineJob> {
        spec.map(|spec| InlineJob {
            spec,
            time_limit_ms: 60_000,
        })
    }

    fn path(size: u32) -> Value {
        json!({"lattice": {"sizes": [size, size]}, "operation": "shortest_path",
               "params": {"start": [0, 0], "end": [size - 1, size - 1]}})
    }

    const MAX: Duration = Duration::from_millis(10);

    #[test]
    fn a_trivial_job_with_a_copy_runs_through() {
        let m = inline(Some(path(8)));
        assert!(eligible(m, MAX).is_some());
    }

    #[test]
    fn without_a_copy_or_when_turned_off_it_is_claimed() {
        assert!(eligible(inline(None), MAX).is_none());
        assert!(eligible(inline(Some(path(8))), Duration::ZERO).is_none());
    }

    #[test]
    fn a_job_estimated_beyond_the_limit_is_claimed() {
        // 10⁸ vertices: seconds of BFS.
        assert!(eligible(inline(Some(path(10_000))), MAX).is_none());
    }

    #[test]
    fn a_transform_of_its_parents_output_or_an_unreadable_spec_is_claimed() {
        let from_parent = json!({"lattice": {"sizes": [4]}, "operation": "transform",
            "params": {"kind": "rotate", "data": {"source": "parent_u8"}}});
        assert!(inputs::takes_parent_output(&from_parent));
        assert!(eligible(inline(Some(from_parent)), MAX).is_none());
        assert!(eligible(inline(Some(json!({"nope": 1}))), MAX).is_none());
    }
}
