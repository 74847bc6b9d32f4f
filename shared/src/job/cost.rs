//! What a job will cost before it runs: memory (for the worker's admission)
//! and time (for the plan's time limit, refused at submit). The lattice
//! crate estimates each graph operation's memory and vertex visits;
//! transforms are priced here from their data sizes. Time is the visits at
//! the measured speed of the engine the worker runs the operation on
//! ([`engine`]), calibrated by `catalytic-bench --check-estimates`, which
//! fails when an estimate is more than 2× from the measured time on any
//! benchmark lattice (docs/benchmarks.md, "Estimates against measured time").

use super::spec::{JobSpec, Operation, TransformSpec};
use catalytic_lattice::{Estimate, Lattice, Work};
use std::collections::HashSet;
use std::time::Duration;

pub fn estimate(spec: &JobSpec, lattice: &Lattice) -> Estimate {
    let work = match &spec.operation {
        // The worker runs shortest paths on the fast engine where it pays.
        Operation::ShortestPath { .. } if catalytic_lattice::fast_engine_pays(lattice) => {
            return catalytic_lattice::fast_estimate(lattice);
        }
        Operation::ShortestPath { .. } => Work::ShortestPath,
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

/// The engine a job's operation runs on in the worker (worker/src/compute.rs
/// makes the same choice), which sets the speed its visits are priced at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The bit-parallel search of `lattice/src/engine/` (2 bits per vertex).
    Fast,
    /// The plain search of `lattice/src/bfs.rs` and the operations built on it.
    Reference,
    /// `analyze`: all-pairs searches on an explicit graph and Brandes'
    /// betweenness, each visit several times a plain search's.
    Analyze,
    /// A data transform (`lattice/src/transform/`), priced per element.
    Transform,
}

/// The engine the worker runs `operation` on `lattice` on: the searches go to
/// the fast engine where it pays (enough vertices a level,
/// `catalytic_lattice::fast_engine_pays`), the rest to the reference.
pub fn engine(operation: &Operation, lattice: &Lattice) -> Engine {
    match operation {
        Operation::ShortestPath { .. }
        | Operation::Distances { .. }
        | Operation::Neighbors { .. }
        | Operation::Batch { .. } => match catalytic_lattice::fast_engine_pays(lattice) {
            true => Engine::Fast,
            false => Engine::Reference,
        },
        Operation::Components {} => Engine::Reference,
        Operation::Analyze {} => Engine::Analyze,
        Operation::Transform(_) => Engine::Transform,
    }
}

/// One core's speed per engine, measured with `catalytic-bench` on the
/// benchmark lattices (docs/benchmarks.md): nanoseconds per vertex visit, and
/// for the fast engine per BFS level (the fixed cost that bounds lattices of
/// high diameter). One core, because a worker runs lattices under 10^7
/// vertices one per core and larger ones on every core (about 1.5× on two).
mod speed {
    /// The fast engine per vertex on an open lattice whose state stays in cache.
    pub(super) const FAST_OPEN_NS: f64 = 8.0;
    /// The same with blocking (the rule or the mask per labelled vertex).
    pub(super) const FAST_BLOCKED_NS: f64 = 20.0;
    /// The fast engine per vertex on an open lattice whose state (a quarter
    /// byte a vertex) outgrows the cache: the neighbours along the slowest
    /// axis are a slab away in memory (3-D 1000³: 18 s on one core).
    pub(super) const FAST_OPEN_UNCACHED_NS: f64 = 16.0;
    /// The same with blocking (3-D 1000³ 20 % blocked: 29 s on one core).
    pub(super) const FAST_BLOCKED_UNCACHED_NS: f64 = 28.0;
    /// The fast engine per level, whatever the level's size.
    pub(super) const FAST_LEVEL_NS: f64 = 1_000.0;
    /// The reference per vertex while its 4-byte distances stay in cache.
    pub(super) const REFERENCE_CACHED_NS: f64 = 16.0;
    /// The reference per vertex on large 2-D lattices: a thin frontier, rows apart.
    pub(super) const REFERENCE_2D_NS: f64 = 24.0;
    /// The reference per vertex on large lattices of three or more axes: a
    /// cache miss per neighbour along the slow axes.
    pub(super) const REFERENCE_NS: f64 = 80.0;
    /// Working arrays that fit in this many bytes count as cached (the L3 of the benchmark machine).
    pub(super) const CACHED_BYTES: f64 = 32.0 * 1024.0 * 1024.0;
    /// Blocking multiplies the reference's time per vertex by about this.
    pub(super) const REFERENCE_BLOCKED_FACTOR: f64 = 2.0;
    /// `analyze` per visit its estimate counts (a Brandes step: 50–230 ns
    /// measured on a loaded machine, docs/benchmarks.md).
    pub(super) const ANALYZE_NS: f64 = 100.0;
    /// A transform per priced visit (four per element).
    pub(super) const TRANSFORM_NS: f64 = 5.0;
}

/// The expected run time of `spec` on `lattice`, whose [`estimate`] is `estimate`.
pub fn estimated_time(spec: &JobSpec, lattice: &Lattice, estimate: &Estimate) -> Duration {
    let visits = estimate.vertex_visits as f64;
    let seconds = match engine(&spec.operation, lattice) {
        Engine::Fast => fast_seconds(lattice, visits),
        Engine::Reference => reference_seconds(lattice, visits),
        Engine::Analyze => visits * speed::ANALYZE_NS * 1e-9,
        Engine::Transform => visits * speed::TRANSFORM_NS * 1e-9,
    };
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// Seconds of one fast-engine search on one core that visits `visits` vertices:
/// per vertex, plus per level (the lattice's largest distance from a corner).
pub fn fast_seconds(lattice: &Lattice, visits: f64) -> f64 {
    let cached = lattice.vertex_count() as f64 / 4.0 <= speed::CACHED_BYTES;
    let per_vertex = match (cached, lattice.has_blocking()) {
        (true, false) => speed::FAST_OPEN_NS,
        (true, true) => speed::FAST_BLOCKED_NS,
        (false, false) => speed::FAST_OPEN_UNCACHED_NS,
        (false, true) => speed::FAST_BLOCKED_UNCACHED_NS,
    };
    let levels = lattice.max_distance() as f64 + 1.0;
    (visits * per_vertex + levels * speed::FAST_LEVEL_NS) * 1e-9
}

/// Seconds of the reference engine's `visits` vertex visits on `lattice`, on one core.
pub fn reference_seconds(lattice: &Lattice, visits: f64) -> f64 {
    let distance_bytes = lattice.vertex_count() as f64 * 4.0;
    let mut per_vertex = match (distance_bytes <= speed::CACHED_BYTES, lattice.dimensions()) {
        (true, _) => speed::REFERENCE_CACHED_NS,
        (false, 0..=2) => speed::REFERENCE_2D_NS,
        (false, _) => speed::REFERENCE_NS,
    };
    if lattice.has_blocking() {
        per_vertex *= speed::REFERENCE_BLOCKED_FACTOR;
    }
    visits * per_vertex * 1e-9
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn lattice(sizes: &[u32], blocked: f64) -> Result<Lattice, catalytic_lattice::LatticeError> {
        let open = Lattice::new(sizes.to_vec())?;
        match blocked > 0.0 {
            true => open.with_blocked(catalytic_lattice::Blocked::Seeded {
                fraction: blocked,
                seed: 1,
            }),
            false => Ok(open),
        }
    }

    #[test]
    fn blocking_and_size_slow_the_estimate_and_levels_cost_the_fast_engine() -> TestResult {
        let open = lattice(&[1000, 1000, 1000], 0.0)?;
        let blocked = lattice(&[1000, 1000, 1000], 0.2)?;
        let n = 1e9;
        assert!(fast_seconds(&blocked, n) > fast_seconds(&open, n));
        assert!(reference_seconds(&blocked, n) > reference_seconds(&open, n));
        assert!(reference_seconds(&open, n) > fast_seconds(&open, n));
        // The same vertices in a thousand times the levels cost more.
        let long = lattice(&[1000, 1_000_000], 0.0)?;
        let square = lattice(&[31_623, 31_623], 0.0)?;
        assert!(fast_seconds(&long, 1e9) > fast_seconds(&square, 1e9));
        // A long thin lattice goes to the reference (the fast engine's levels are too small).
        let line = lattice(&[8, 1_000_000], 0.0)?;
        let path = Operation::ShortestPath {
            start: vec![0, 0],
            end: vec![7, 999_999],
        };
        assert_eq!(engine(&path, &line), Engine::Reference);
        assert_eq!(engine(&path, &open), Engine::Fast);
        // Small lattices are priced as cached.
        let small = lattice(&[100, 100, 100], 0.0)?;
        assert!(reference_seconds(&small, 1e6) < reference_seconds(&open, 1e6));
        Ok(())
    }

    #[test]
    fn the_largest_estimate_prices_without_overflow() -> TestResult {
        let spec = JobSpec {
            lattice: serde_json::from_value(serde_json::json!({"sizes": [10, 10]}))?,
            operation: Operation::Components {},
        };
        let huge = Estimate {
            memory_bytes: 0,
            vertex_visits: u64::MAX,
        };
        let small = lattice(&[10, 10], 0.0)?;
        // 1.8×10^19 visits at nanoseconds each: centuries, well past any plan, and no panic.
        assert!(estimated_time(&spec, &small, &huge) > Duration::from_secs(10_000_000_000));
        Ok(())
    }
}
