//! Breadth-first search over the implicit lattice and the canonical path walk.
//!
//! This is the plain CPU engine: a FIFO of `u64` vertex indices and one `u32`
//! distance per vertex, neighbours computed from the strides with no
//! per-vertex allocation. Wrap-around and blocked vertices come from the
//! neighbour rule in `index.rs`; a blocked source reaches nothing. The
//! operations in `ops/` reuse [`search`]. The fast bit-parallel engine and the GPU engine
//! come later and must return exactly what [`shortest_path`] returns here,
//! which is why the walk rule (docs/adr/0002-lattices.md) is spelled out in one place.
//! Admission and limits size their budgets from `estimate.rs`, which mirrors
//! the allocations made here.

use std::collections::VecDeque;

use crate::cancel::{Cancel, Cancelled, poll};
use crate::spec::Lattice;

/// Distance value of a vertex the search has not reached.
pub(crate) const UNREACHED: u32 = u32::MAX;

/// The canonical shortest path between two vertices and what it cost to find.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShortestPath {
    /// Number of edges on the path (0 when start == end).
    pub length: u64,
    /// Coordinates from start to end inclusive, `length + 1` entries.
    pub path: Vec<Vec<u32>>,
    /// Vertices the BFS from `end` labelled: every vertex within `length` of
    /// `end`. The search stops once that ball is complete, so the count is the
    /// same for any engine that searches level by level.
    pub vertices_visited: u64,
}

/// The canonical shortest path of docs/adr/0002-lattices.md: BFS distances from `end`, then walk
/// from `start`, each step to the neighbour with the smallest vertex index whose distance is one
/// less. `Ok(None)` = unreachable, which includes a blocked `start` or `end` (blocked vertices are
/// not in the graph).
///
/// A `start` or `end` outside the lattice also gives `Ok(None)`; callers
/// obtain indices from [`Lattice::index_of`], which rejects such coordinates.
pub fn shortest_path(
    lattice: &Lattice,
    start: u64,
    end: u64,
    cancel: &dyn Cancel,
) -> Result<Option<ShortestPath>, Cancelled> {
    let n = lattice.vertex_count();
    if start >= n || end >= n {
        return Ok(None);
    }
    let search = search(lattice, end, Stop::AtTarget(start), cancel)?;
    let dist = &search.dist;
    let length = dist[slot(start)];
    if length == UNREACHED {
        return Ok(None);
    }

    let Some(path) = walk(lattice, &search.dist, start) else {
        return Ok(None);
    };
    Ok(Some(ShortestPath {
        length: u64::from(length),
        path,
        vertices_visited: search.reached,
    }))
}

/// The canonical walk of docs/adr/0002-lattices.md from `start` down a distance array
/// computed from the end: each step to the smallest-index neighbour one
/// closer. `None` if `start` is unreached (or the array is inconsistent).
pub(crate) fn walk(lattice: &Lattice, dist: &[u32], start: u64) -> Option<Vec<Vec<u32>>> {
    let length = *dist.get(slot(start))?;
    if length == UNREACHED {
        return None;
    }
    let mut path = Vec::with_capacity(slot(u64::from(length)) + 1);
    path.push(lattice.coord_of(start));
    let mut current = start;
    let mut neighbours = Vec::with_capacity(2 * lattice.dimensions());
    for wanted in (0..length).rev() {
        // Ascending order makes the first match the smallest index: the canonical choice.
        lattice.neighbors_into(current, &mut neighbours);
        let next = neighbours
            .iter()
            .copied()
            .find(|&u| dist[slot(u)] == wanted);
        debug_assert!(next.is_some(), "BFS left {current} with no predecessor");
        let next = next?;
        path.push(lattice.coord_of(next));
        current = next;
    }
    Some(path)
}

/// Distances from `source` (u32::MAX = unreachable), one per vertex.
///
/// A `source` outside the lattice or blocked reaches nothing. Distances that would be
/// `u32::MAX` or more also read as unreachable; that needs
/// [`Lattice::max_distance`] >= 2^32 - 1, i.e. at least 2^33 vertices.
pub fn bfs_distances(
    lattice: &Lattice,
    source: u64,
    cancel: &dyn Cancel,
) -> Result<Vec<u32>, Cancelled> {
    Ok(search(lattice, source, Stop::Exhausted, cancel)?.dist)
}

/// Capacity the FIFO is given up front, so that it never reallocates.
///
/// Without blocking (wrap or not), distances add up axis by axis and each
/// axis offers at most two positions at a given distance along it, so fixing
/// every coordinate but the one on the largest axis leaves at most two
/// vertices at a given distance from the source: a BFS level holds at most
/// `2 * n / largest_size` vertices. A FIFO BFS holds parts of two consecutive
/// levels, hence four times that (and never more than `n`). Blocking voids
/// that argument (detours can put a whole line at one distance), so then the
/// bound is the open vertex count, or `n` where only a scan would tell.
pub(crate) fn queue_capacity(lattice: &Lattice) -> u64 {
    let n = lattice.vertex_count();
    if lattice.has_blocking() {
        return lattice.open_vertex_bound();
    }
    let largest = lattice.sizes().iter().copied().max().map_or(1, u64::from);
    (n / largest).saturating_mul(4).min(n)
}

/// When a [`search`] may stop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Label everything reachable.
    Exhausted,
    /// Stop once every vertex within the distance of this vertex is labelled.
    AtTarget(u64),
    /// Stop once every vertex within this many hops is labelled.
    Radius(u32),
}

/// What one search produced.
pub(crate) struct Search {
    /// Distance of each vertex from the source, [`UNREACHED`] if not labelled.
    pub(crate) dist: Vec<u32>,
    /// Number of labelled vertices, the source included.
    pub(crate) reached: u64,
    /// Most vertices the FIFO held at once; tests check it against [`queue_capacity`].
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) peak_queue: usize,
}

/// BFS from `source`. With [`Stop::AtTarget`] or [`Stop::Radius`], stops as
/// soon as every vertex within the limit is labelled (the first time a vertex
/// at the limit's distance is taken off the queue); nothing further away is
/// labelled then. A blocked or out-of-range source labels nothing.
pub(crate) fn search(
    lattice: &Lattice,
    source: u64,
    stop: Stop,
    cancel: &dyn Cancel,
) -> Result<Search, Cancelled> {
    let n = lattice.vertex_count();
    let mut dist = vec![UNREACHED; slot(n)];
    if source >= n || lattice.is_blocked(source) {
        return Ok(Search {
            dist,
            reached: 0,
            peak_queue: 0,
        });
    }
    let mut queue = VecDeque::with_capacity(slot(queue_capacity(lattice)));
    dist[slot(source)] = 0;
    queue.push_back(source);
    let mut reached = 1u64;

    let mut expansions = 0u64;
    let mut peak_queue = 1;
    while let Some(vertex) = queue.pop_front() {
        if poll(cancel, expansions) {
            return Err(Cancelled);
        }
        expansions += 1;
        let here = dist[slot(vertex)];
        let limit = match stop {
            Stop::Exhausted => UNREACHED,
            Stop::AtTarget(target) => dist.get(slot(target)).copied().unwrap_or(UNREACHED),
            Stop::Radius(radius) => radius,
        };
        if here >= limit {
            break;
        }
        let next = here.saturating_add(1);
        lattice.for_each_neighbor(vertex, |u| {
            reached += label(&mut dist, &mut queue, u, next);
        });
        peak_queue = peak_queue.max(queue.len());
    }
    Ok(Search {
        dist,
        reached,
        peak_queue,
    })
}

/// Labels `vertex` with `distance` and queues it if it was unreached; returns
/// how many vertices were newly labelled (0 or 1).
#[inline]
fn label(dist: &mut [u32], queue: &mut VecDeque<u64>, vertex: u64, distance: u32) -> u64 {
    let entry = &mut dist[slot(vertex)];
    if *entry != UNREACHED || distance == UNREACHED {
        return 0;
    }
    *entry = distance;
    queue.push_back(vertex);
    1
}

/// A vertex index (or count) as a slice position. Lossless: `lib.rs` refuses
/// to build for targets whose `usize` is narrower than 64 bits.
#[inline]
pub(crate) fn slot(index: u64) -> usize {
    index as usize
}

#[cfg(test)]
mod tests;
