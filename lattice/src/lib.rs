//! The lattice compute engine: implicit n-dimensional grid graphs, BFS and
//! canonical shortest paths (design §2).
//!
//! Pure computation: no I/O, no async, no `unsafe`. The worker runs it and the
//! api uses it to validate specs and estimate cost before a job is accepted.
//! Long computations poll a caller-supplied [`Cancel`].
//!
//! - `spec.rs`: [`Lattice`], validated once, and [`LatticeError`].
//! - `index.rs`: mixed-radix index ↔ coordinate, neighbours in index order.
//! - `bfs.rs`: [`bfs_distances`] and the canonical [`shortest_path`].
//! - `cancel.rs`: [`Cancel`], [`Never`] and the [`Cancelled`] outcome.
//! - `estimate.rs`: [`Estimate`] of memory and work, for limits and admission.

// Vertex indices are u64 and index slices directly; a narrower usize would
// silently truncate them.
#[cfg(not(target_pointer_width = "64"))]
compile_error!("catalytic-lattice requires a 64-bit target");

mod bfs;
mod cancel;
mod estimate;
mod index;
mod spec;

pub use bfs::{ShortestPath, bfs_distances, shortest_path};
pub use cancel::{Cancel, Cancelled, Never};
pub use estimate::{Estimate, estimate_shortest_path};
pub use spec::{Lattice, LatticeError, MAX_DIMENSIONS, MIN_SIZE};
