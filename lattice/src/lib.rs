//! The lattice compute engine: implicit n-dimensional grid graphs, BFS and
//! canonical shortest paths (docs/adr/0002-lattices.md).
//!
//! Pure computation: no I/O, no async, no `unsafe`. The worker runs it and the
//! api uses it to validate specs and estimate cost before a job is accepted.
//! Long computations poll a caller-supplied [`Cancel`].
//!
//! - `spec.rs`: [`Lattice`], validated once, and [`LatticeError`].
//! - `index.rs`: mixed-radix index ↔ coordinate, neighbours in index order.
//! - `bfs.rs`: [`bfs_distances`] and the canonical [`shortest_path`].
//! - `engine/`: the fast bit-parallel BFS ([`bfs_levels`], [`fast_shortest_path`]), and
//!   its layout flattened for the GPU kernels of `catalytic-gpu` ([`DeviceLayout`]).
//! - `ops/`: [`distances`], [`neighbors`], [`components`], [`analyze`], [`shortest_paths`].
//! - `cancel.rs`: [`Cancel`], [`Never`] and the [`Cancelled`] outcome.
//! - `estimate.rs`: [`Estimate`] of memory and work, for limits and admission.

// Vertex indices are u64 and index slices directly; a narrower usize would
// silently truncate them.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("catalytic-lattice requires a 64-bit target");

mod bfs;
mod cancel;
mod engine;
mod estimate;
mod index;
mod ops;
mod spec;
mod transform;

pub use bfs::{ShortestPath, bfs_distances, shortest_path};
pub use cancel::{Cancel, Cancelled, Never};
pub use engine::{
    DeviceLayout, DeviceMask, FAST_LEVEL_MIN, Levels, PARAMS_PER_AXIS, bfs_levels,
    bfs_levels_with_field, bfs_levels_within, fast_engine_pays, fast_estimate, fast_shortest_path,
    walk_canonical, with_engine_threads,
};
pub use estimate::{Estimate, Work, estimate, estimate_shortest_path};
pub use ops::{
    Analysis, BALL_LIST_CAP, Ball, CENTRALITY_CAP, CENTRALITY_SEED, CENTRALITY_SOURCES,
    CentralityMethod, CentralitySummary, ComponentSizeCount, Components, DegreeStats, Diameter,
    DiameterMethod, Distances, EXACT_DIAMETER_CAP, FULL_FIELD_CAP, SAMPLED_CENTRALITY_CAP, analyze,
    components, distances, distances_from_levels, distances_where_fastest, distances_with_field,
    fast_distances, fast_distances_with_field, neighbors, neighbors_listed, shortest_paths,
};
pub use spec::{Blocked, Lattice, LatticeError, MAX_DIMENSIONS, MIN_SIZE, SeededRule, splitmix64};
pub use transform::{
    CatalyticReport, Data, DataKind, Transform, TransformError, apply, apply_catalytic,
    aux_bytes_needed, checksum, generate,
};
