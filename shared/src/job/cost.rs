//! What a job will cost before it runs: memory (for the worker's admission)
//! and vertex visits (for the plan's time limit, refused at submit). The
//! lattice crate estimates each graph operation; transforms are priced here
//! from their data sizes.

use super::spec::{JobSpec, Operation, TransformSpec};
use catalytic_lattice::{Estimate, Lattice, Work};
use std::collections::HashSet;
use std::time::Duration;

/// Vertex visits per second assumed when comparing an estimate with a
/// plan's time limit: the plain engine on one core, rounded down (see
/// docs/benchmarks.md). Conservative on purpose: refusing a job at submit
/// is kinder than failing it at its time limit.
pub const VISITS_PER_SECOND: u64 = 50_000_000;

pub fn estimate(spec: &JobSpec, lattice: &Lattice) -> Estimate {
    let work = match &spec.operation {
        // The worker runs shortest paths on the fast engine.
        Operation::ShortestPath { .. } => return catalytic_lattice::fast_estimate(lattice),
        Operation::Distances { .. } => Work::Distances,
        Operation::Neighbors { radius, .. } => Work::Neighbors { radius: *radius },
        Operation::Components {} => Work::Components,
        Operation::Analyze {} => Work::Analyze,
        Operation::Batch { pairs } => Work::Batch {
            distinct_ends: pairs.iter().map(|p| &p.end).collect::<HashSet<_>>().len() as u64,
        },
        Operation::Transform(t) => return transform_estimate(t, lattice),
    };
    catalytic_lattice::estimate(lattice, work)
}

fn transform_estimate(t: &TransformSpec, lattice: &Lattice) -> Estimate {
    let n = lattice.vertex_count();
    let element = match t.data.kind() {
        catalytic_lattice::DataKind::U8 => 1,
        catalytic_lattice::DataKind::F32 => 4,
    };
    let data = n.saturating_mul(element);
    // A parent's output is read whole before the compute (worker/src/inputs.rs).
    let read = if t.data.from_parent() {
        data.saturating_mul(2)
    } else {
        0
    };
    // Catalytic runs use the caller's buffer, which the worker holds too.
    let aux = if t.catalytic { data } else { 0 };
    Estimate {
        memory_bytes: data
            .saturating_mul(2)
            .saturating_add(aux)
            .saturating_add(read),
        vertex_visits: n.saturating_mul(4),
    }
}

/// The estimate's run time at `VISITS_PER_SECOND`.
pub fn estimated_time(estimate: &Estimate) -> Duration {
    Duration::from_secs_f64(estimate.vertex_visits as f64 / VISITS_PER_SECOND as f64)
}
