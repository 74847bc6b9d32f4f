//! The fast CPU engine: a bit-parallel BFS holding two bits per vertex.
//!
//! It answers the same questions as `bfs.rs` (which stays the plain,
//! obviously-correct reference) and must return exactly the same canonical
//! path (docs/adr/0002-lattices.md), with about a sixteenth of its memory and many times its
//! speed. The parts:
//!
//! - `tiling.rs`: vertices packed 64 to a word as small hypercubes, so that a
//!   diagonal BFS shell fills several bits of each word it touches.
//! - `sweep.rs`: the level-synchronous search over those words, split across
//!   the rayon pool's threads, polling [`Cancel`] between rounds.
//! - `blocking.rs`: how the sweep skips blocked vertices: a bit per vertex
//!   for an explicit list, nothing held for a seeded rule (evaluated per
//!   vertex about to be labelled), nothing at all for an open lattice.
//! - here: [`Levels`] (distance mod 3 per vertex), the canonical walk and the
//!   memory estimate admission reserves.
//!
//! Why mod 3 is enough: adjacent reached vertices differ in distance by at
//! most one, so a reached neighbour of a vertex at distance `d` whose state is
//! `(d - 1) mod 3` is at distance exactly `d - 1`.

mod blocking;
mod device;
mod sweep;
mod tiling;

pub use device::{DeviceLayout, DeviceMask, PARAMS_PER_AXIS};

use crate::bfs::ShortestPath;
use crate::cancel::{Cancel, Cancelled};
use crate::estimate::Estimate;
use crate::spec::Lattice;

pub(crate) use sweep::PartSizes;
use sweep::code_mask;
use tiling::Tiling;

/// Result of one BFS: per-vertex distance modulo 3 in 2 bits (plus "unreached"), enough to walk a canonical path.
#[derive(Debug, Clone)]
pub struct Levels {
    /// The layout the states are stored in.
    tiling: Tiling,
    /// Two bit planes per tile (see `sweep.rs` for the codes).
    state: Vec<[u64; 2]>,
    /// Vertices labelled at each distance from the source.
    level_sizes: Vec<u64>,
    /// Sum of `level_sizes`.
    reached: u64,
    /// Peak heap bytes the search held, this result's state included.
    peak_bytes: u64,
}

impl Levels {
    /// Vertices labelled, the source included (0 for a blocked or out-of-range source).
    pub fn reached(&self) -> u64 {
        self.reached
    }

    /// Largest distance labelled: the source's eccentricity for a complete
    /// search, the stop vertex's distance for a stopped one (0 if nothing was reached).
    pub fn eccentricity(&self) -> u64 {
        (self.level_sizes.len() as u64).saturating_sub(1)
    }

    /// Number of vertices labelled at each distance, from 0.
    pub fn level_sizes(&self) -> &[u64] {
        &self.level_sizes
    }

    /// Distance of `v` from the source modulo 3, or None if `v` was not labelled
    /// (unreachable, blocked, beyond a stop, or not a vertex).
    pub fn distance_mod3(&self, v: u64) -> Option<u8> {
        if v >= self.tiling.vertices {
            return None;
        }
        let (tile, bit) = self.tiling.locate(v);
        let cell = self.state[tile as usize];
        (0..3u8).find(|&code| code_mask(cell, code) & (1 << bit) != 0)
    }

    /// Peak heap bytes the search held: the 2-bit states, the blocked mask
    /// (only for an explicit blocked list), the frontier bitmaps and outboxes.
    pub fn memory_bytes(&self) -> u64 {
        self.peak_bytes
    }

    /// Undirected edges whose both ends were labelled (the TEPS numerator of
    /// docs/adr/0002-lattices.md), counted word-parallel from the states.
    // Axis-indexed parallel arrays (coords and the tiling's masks) read clearest by index.
    #[allow(clippy::needless_range_loop)]
    pub fn reached_edges(&self) -> u64 {
        let t = &self.tiling;
        let dims = t.dims();
        let mut coords = vec![0u64; dims];
        let mut edges = 0u64;
        let reached = |tile: u64| {
            let cell = self.state[tile as usize];
            cell[0] | cell[1]
        };
        for tile in 0..t.tiles {
            if tile > 0 {
                t.advance(&mut coords, 1);
            }
            let r = reached(tile);
            if r == 0 {
                continue;
            }
            for a in 0..dims {
                let s = t.bit_step[a];
                edges +=
                    u64::from((r & t.not_last[a] & r.checked_shr(s).unwrap_or(0)).count_ones());
                let (c, g) = (coords[a], t.grid[a]);
                if c + 1 < g {
                    let up = reached(tile + t.tile_stride[a]);
                    edges += u64::from((((r & t.last_plane[a]) >> t.span[a]) & up).count_ones());
                } else if t.wrap[a] {
                    let first = reached(tile - c * t.tile_stride[a]);
                    edges +=
                        u64::from((((r & t.end_plane[a]) >> t.last_span[a]) & first).count_ones());
                }
            }
        }
        edges
    }
}

/// Runs `f` with the engine's searches using `threads` threads (a rayon pool
/// of that size); on the current pool if such a pool cannot be built.
pub fn with_engine_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
    {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// BFS from `source` with the fast engine, on the current rayon pool's
/// threads. `stop_at`: stop once that vertex's level is complete (every vertex
/// within its distance labelled, nothing further). A blocked or out-of-range
/// source reaches nothing.
pub fn bfs_levels(
    lattice: &Lattice,
    source: u64,
    stop_at: Option<u64>,
    cancel: &dyn Cancel,
) -> Result<Levels, Cancelled> {
    bfs_levels_in_parts(lattice, source, stop_at, PartSizes::DEFAULT, cancel)
}

/// [`bfs_levels`] with levels cut into parts of `sizes` (the tests' small parts).
pub(crate) fn bfs_levels_in_parts(
    lattice: &Lattice,
    source: u64,
    stop_at: Option<u64>,
    sizes: PartSizes,
    cancel: &dyn Cancel,
) -> Result<Levels, Cancelled> {
    let tiling = Tiling::new(lattice);
    let searched = sweep::search(lattice, &tiling, source, stop_at, sizes, cancel)?;
    let reached = searched.level_sizes.iter().sum();
    let level_bytes = searched.level_sizes.capacity() as u64 * 8;
    Ok(Levels {
        tiling,
        state: searched.state,
        level_sizes: searched.level_sizes,
        reached,
        peak_bytes: searched.peak_bytes + level_bytes,
    })
}

/// The canonical shortest path of docs/adr/0002-lattices.md, found with the fast engine:
/// equal to [`crate::shortest_path`] in every field.
pub fn fast_shortest_path(
    lattice: &Lattice,
    start: u64,
    end: u64,
    cancel: &dyn Cancel,
) -> Result<Option<ShortestPath>, Cancelled> {
    fast_shortest_path_in_parts(lattice, start, end, PartSizes::DEFAULT, cancel)
}

/// [`fast_shortest_path`] with levels cut into parts of `sizes`.
pub(crate) fn fast_shortest_path_in_parts(
    lattice: &Lattice,
    start: u64,
    end: u64,
    sizes: PartSizes,
    cancel: &dyn Cancel,
) -> Result<Option<ShortestPath>, Cancelled> {
    let n = lattice.vertex_count();
    if start >= n || end >= n || lattice.is_blocked(start) || lattice.is_blocked(end) {
        return Ok(None);
    }
    let levels = bfs_levels_in_parts(lattice, end, Some(start), sizes, cancel)?;
    Ok(walk_canonical(lattice, &levels, start))
}

/// The canonical path (docs/adr/0002-lattices.md) from `start` down the distances of
/// `levels`, a search from the path's end stopped at `start` (by this engine
/// or a GPU one holding the same states): each step to the neighbour of
/// smallest index one closer. None if `start` was not reached.
pub fn walk_canonical(lattice: &Lattice, levels: &Levels, start: u64) -> Option<ShortestPath> {
    let mut code = levels.distance_mod3(start)?;
    // The search stopped once start's level was complete, so that level is the last.
    let length = levels.eccentricity();
    let mut path = Vec::with_capacity(usize::try_from(length).unwrap_or(0).saturating_add(1));
    path.push(lattice.coord_of(start));
    let mut current = start;
    let mut neighbours = Vec::with_capacity(2 * lattice.dimensions());
    for _ in 0..length {
        let wanted = (code + 2) % 3;
        // Ascending order makes the first match the smallest index: the canonical choice.
        lattice.neighbors_into(current, &mut neighbours);
        let Some(next) = neighbours
            .iter()
            .copied()
            .find(|&u| levels.distance_mod3(u) == Some(wanted))
        else {
            debug_assert!(false, "BFS left {current} with no predecessor");
            return None;
        };
        path.push(lattice.coord_of(next));
        current = next;
        code = wanted;
    }
    Some(ShortestPath {
        length,
        path,
        vertices_visited: levels.reached(),
    })
}

/// Memory and work of [`fast_shortest_path`] or [`bfs_levels`] on `lattice`,
/// for any endpoints: the buffers the engine really allocates (states, the
/// blocked mask of an explicit list, frontier bitmaps), a bound on the
/// per-level sizes and the longest path, and an allowance for cross-part
/// outboxes. Visits are at most every vertex.
pub fn fast_estimate(lattice: &Lattice) -> Estimate {
    let tiling = Tiling::new(lattice);
    let words = tiling.bitmap_words();
    // A seeded rule is evaluated per vertex and holds no mask (`blocking.rs`);
    // its moves carry a corner vertex, a third more outbox per entry.
    let seeded = lattice.seeded_rule().is_some();
    let blocked = if lattice.has_blocking() && !seeded {
        tiling.tiles.saturating_mul(8)
    } else {
        0
    };
    let move_bytes = if seeded { 24 } else { 16 };
    let bitmaps = words
        .saturating_mul(16)
        .saturating_add(words.div_ceil(64).saturating_mul(16));
    // Blocking can lengthen distances up to the number of vertices.
    let levels = if lattice.has_blocking() {
        lattice.vertex_count()
    } else {
        lattice.max_distance().saturating_add(1)
    };
    let d = lattice.dimensions() as u64;
    let path = levels.saturating_mul(24 + 4 * d);
    // Each part's outbox holds at most a few entries per frontier word it owns.
    let outboxes = move_bytes * 4 * 2048 * rayon::current_num_threads() as u64;
    Estimate {
        memory_bytes: tiling
            .state_bytes()
            .saturating_add(blocked)
            .saturating_add(bitmaps)
            .saturating_add(levels.saturating_mul(8))
            .saturating_add(path)
            .saturating_add(outboxes),
        vertex_visits: lattice.vertex_count(),
    }
}

#[cfg(test)]
mod tests;
