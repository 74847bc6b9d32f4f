//! Cost and memory estimates, computed without running anything.
//!
//! The api uses them to refuse jobs beyond a plan's limits and the worker's
//! admission reserves `memory_bytes` before a job starts (docs/adr/0002-lattices.md), so the
//! numbers must cover what `bfs.rs` really allocates: if the engine changes
//! its buffers, this file changes with it (a test checks the two agree).
//! Each operation in `ops/` keeps its own estimate beside the code whose
//! buffers it mirrors; [`estimate`] dispatches on the [`Work`] asked for.
//! Estimates never scan the lattice (the api calls them on the request
//! path), so with seeded blocking they take every vertex as possibly open.

use std::mem::size_of;

use crate::bfs::queue_capacity;
use crate::ops;
use crate::spec::Lattice;

/// Cost/memory estimate used by the api (limits) and the worker (admission).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Estimate {
    /// Peak heap bytes the computation holds, an upper bound; saturates at `u64::MAX`.
    pub memory_bytes: u64,
    /// Upper bound on vertices the computation expands.
    pub vertex_visits: u64,
}

/// The operation an [`estimate`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// [`crate::shortest_path`].
    ShortestPath,
    /// [`crate::distances`].
    Distances,
    /// [`crate::neighbors`] with this radius.
    Neighbors { radius: u32 },
    /// [`crate::components`].
    Components,
    /// [`crate::analyze`]; with blocking its exact diameter runs one BFS per
    /// vertex of the largest component, up to `EXACT_DIAMETER_CAP^2` visits.
    Analyze,
    /// [`crate::shortest_paths`] over pairs with this many distinct ends.
    Batch { distinct_ends: u64 },
}

/// Memory and work of `work` on `lattice`, both upper bounds, without running it.
pub fn estimate(lattice: &Lattice, work: Work) -> Estimate {
    match work {
        Work::ShortestPath => estimate_shortest_path(lattice),
        Work::Distances => ops::estimate_distances(lattice),
        Work::Neighbors { radius } => ops::estimate_neighbors(lattice, radius),
        Work::Components => ops::estimate_components(lattice),
        Work::Analyze => ops::estimate_analyze(lattice),
        Work::Batch { distinct_ends } => ops::estimate_batch(lattice, distinct_ends),
    }
}

/// Heap bytes of one `bfs.rs` search: (the distance array, the FIFO).
pub(crate) fn search_bytes(lattice: &Lattice) -> (u64, u64) {
    let distances = lattice
        .vertex_count()
        .saturating_mul(size_of::<u32>() as u64);
    let queue = queue_capacity(lattice).saturating_mul(size_of::<u64>() as u64);
    (distances, queue)
}

/// Estimate for [`crate::shortest_path`] on `lattice`, for any start and end.
///
/// Memory is the distance array (4 bytes per vertex), the FIFO at the
/// capacity the BFS reserves, and the longest possible path with its
/// neighbour scratch buffer: the closed-form diameter without blocking,
/// every open vertex with it. Visits are at most every open vertex.
pub fn estimate_shortest_path(lattice: &Lattice) -> Estimate {
    let d = lattice.dimensions() as u64;
    let (distances, queue) = search_bytes(lattice);
    let path_entries = if lattice.has_blocking() {
        lattice.open_vertex_bound()
    } else {
        lattice.open_diameter().saturating_add(1)
    };
    let path_entry = size_of::<Vec<u32>>() as u64 + d * size_of::<u32>() as u64;
    let path = path_entries.saturating_mul(path_entry);
    let neighbours = 2 * d * size_of::<u64>() as u64;
    Estimate {
        memory_bytes: distances
            .saturating_add(queue)
            .saturating_add(path)
            .saturating_add(neighbours),
        vertex_visits: lattice.open_vertex_bound(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LatticeError;

    #[test]
    fn cube_estimate_is_dominated_by_the_distance_array() -> Result<(), LatticeError> {
        let lattice = Lattice::uniform(3, 200)?;
        let estimate = estimate_shortest_path(&lattice);
        let n = 8_000_000u64;
        assert_eq!(estimate.vertex_visits, n);
        // 4 bytes/vertex + a FIFO of 4 * 200^2 u64s + 598 path entries of 24 + 12 bytes + 48.
        let expected = 4 * n + 8 * 4 * 40_000 + 598 * (24 + 12) + 48;
        assert_eq!(estimate.memory_bytes, expected);
        Ok(())
    }

    #[test]
    fn queue_never_exceeds_vertex_count() -> Result<(), LatticeError> {
        // 1-D: n / size = 1, so 4 slots; a 2-vertex lattice needs at most 2.
        assert_eq!(queue_capacity(&Lattice::new(vec![2])?), 2);
        assert_eq!(queue_capacity(&Lattice::new(vec![100])?), 4);
        assert_eq!(queue_capacity(&Lattice::uniform(10, 2)?), 1024);
        Ok(())
    }

    #[test]
    fn estimate_saturates_instead_of_overflowing() -> Result<(), LatticeError> {
        let estimate = estimate_shortest_path(&Lattice::uniform(10, 84)?);
        assert_eq!(estimate.memory_bytes, u64::MAX);
        Ok(())
    }

    #[test]
    fn tiny_lattice_estimate_is_exact() -> Result<(), LatticeError> {
        let estimate = estimate_shortest_path(&Lattice::new(vec![2])?);
        // 2 distances * 4 + 2 queue slots * 8 + 2 path entries * (24 + 4) + 2 neighbours * 8.
        assert_eq!(estimate.memory_bytes, 8 + 16 + 56 + 16);
        assert_eq!(estimate.vertex_visits, 2);
        Ok(())
    }
}
