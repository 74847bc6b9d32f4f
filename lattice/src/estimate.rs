//! Cost and memory estimates, computed without running anything.
//!
//! The api uses them to refuse jobs beyond a plan's limits and the worker's
//! admission reserves `memory_bytes` before a job starts (design §2), so the
//! numbers must cover what `bfs.rs` really allocates: if the engine changes
//! its buffers, this file changes with it (a test checks the two agree).

use std::mem::size_of;

use crate::bfs::queue_capacity;
use crate::spec::Lattice;

/// Cost/memory estimate used by the api (limits) and the worker (admission).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Estimate {
    /// Peak heap bytes the computation holds, an upper bound; saturates at `u64::MAX`.
    pub memory_bytes: u64,
    /// Upper bound on vertices the computation expands.
    pub vertex_visits: u64,
}

/// Estimate for [`crate::shortest_path`] on `lattice`, for any start and end.
///
/// Memory is the distance array (4 bytes per vertex), the FIFO at the
/// capacity the BFS reserves, and the longest possible path with its
/// neighbour scratch buffer. Visits are at most every vertex.
pub fn estimate_shortest_path(lattice: &Lattice) -> Estimate {
    let n = lattice.vertex_count();
    let d = lattice.dimensions() as u64;
    let distances = n.saturating_mul(size_of::<u32>() as u64);
    let queue = queue_capacity(lattice).saturating_mul(size_of::<u64>() as u64);
    let path_entries = lattice.max_distance().saturating_add(1);
    let path_entry = size_of::<Vec<u32>>() as u64 + d * size_of::<u32>() as u64;
    let path = path_entries.saturating_mul(path_entry);
    let neighbours = 2 * d * size_of::<u64>() as u64;
    Estimate {
        memory_bytes: distances
            .saturating_add(queue)
            .saturating_add(path)
            .saturating_add(neighbours),
        vertex_visits: n,
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
