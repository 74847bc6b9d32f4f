//! The graph operations a job can ask for beyond a single shortest path,
//! each in its own file with its typed, serialisable result:
//!
//! - `distances.rs`: [`distances`] from one source, histogram and small fields.
//! - `neighbors.rs`: [`neighbors`], the BFS ball of a radius around a vertex.
//! - `components.rs`: [`components`] of the open vertices.
//! - `analyze.rs`: [`analyze`], degrees, diameter, clustering, centrality.
//! - `batch.rs`: [`shortest_paths`] for many pairs, one BFS per distinct end.
//!
//! Their private helpers: `bitset.rs` (one bit per vertex) and `compact.rs`
//! (explicit adjacency of a small part of the lattice for all-pairs work).
//! Every operation polls its [`crate::Cancel`] at least every 2^16 vertex
//! expansions, honours wrap and blocking, and has an estimate in
//! `estimate.rs` that bounds what it allocates.

mod analyze;
mod batch;
mod bitset;
mod compact;
mod components;
mod distances;
mod neighbors;

pub use analyze::{
    Analysis, CENTRALITY_CAP, CENTRALITY_SEED, CENTRALITY_SOURCES, CentralityMethod,
    CentralitySummary, DegreeStats, Diameter, DiameterMethod, EXACT_DIAMETER_CAP,
    SAMPLED_CENTRALITY_CAP, analyze,
};
pub use batch::shortest_paths;
pub use components::{ComponentSizeCount, Components, components};
pub use distances::{
    Distances, FULL_FIELD_CAP, distances, distances_from_levels, distances_where_fastest,
    distances_with_field, fast_distances, fast_distances_with_field,
};
pub use neighbors::{BALL_LIST_CAP, Ball, neighbors, neighbors_listed};

pub(crate) use analyze::estimate as estimate_analyze;
pub(crate) use batch::estimate as estimate_batch;
pub(crate) use components::estimate as estimate_components;
pub(crate) use distances::estimate as estimate_distances;
pub(crate) use neighbors::estimate as estimate_neighbors;

#[cfg(test)]
mod tests;
