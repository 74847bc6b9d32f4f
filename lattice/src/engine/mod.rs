//! The fast CPU engine: a bit-parallel BFS holding two bits per vertex.
//!
//! It answers the same questions as `bfs.rs` (which stays the plain,
//! obviously-correct reference) and must return exactly the same canonical
//! path (docs/adr/0002-lattices.md), with about a sixteenth of its memory and many times its
//! speed. The parts:
//!
//! - `tiling.rs`: vertices packed 64 to a word as small hypercubes, so that a
//!   diagonal BFS shell fills several bits of each word it touches; on
//!   states larger than the caches the words are numbered brick by brick,
//!   so that a word's neighbours lie near it in memory (row-major below
//!   that, and always for the GPU kernels, `device.rs`).
//! - `sweep.rs`: the level-synchronous search over those words, split across
//!   the rayon pool's threads, polling [`Cancel`] between rounds.
//! - `field.rs`: answers in vertex index order from the tiles: the exact
//!   distance field (an observer of the search's levels) and the labelled vertices.
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
mod field;
mod sweep;
mod tiling;

pub use device::{DeviceLayout, DeviceMask, PARAMS_PER_AXIS};

use crate::bfs::ShortestPath;
use crate::cancel::{Cancel, Cancelled};
use crate::estimate::Estimate;
use crate::spec::Lattice;

use sweep::{Level, PartSizes, Searched, Stop, code_mask};
use tiling::{Bricks, RowMajor, TileOrder, Tiling};

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

    /// The level sizes, the states dropped (a summary that keeps only them
    /// needs no copy).
    pub(crate) fn into_level_sizes(self) -> Vec<u64> {
        self.level_sizes
    }

    /// Every labelled vertex in ascending index order (the ball of a
    /// stopped search): 8 bytes each, listed slab by slab on the current
    /// rayon pool's threads.
    pub fn labelled(&self) -> Vec<u64> {
        field::labelled(self)
    }

    /// Peak heap bytes the search held: the 2-bit states, the blocked mask
    /// (only for an explicit blocked list), the frontier bitmaps and outboxes.
    pub fn memory_bytes(&self) -> u64 {
        self.peak_bytes
    }

    /// Undirected edges whose both ends were labelled (the TEPS numerator of
    /// docs/adr/0002-lattices.md), counted word-parallel from the states.
    pub fn reached_edges(&self) -> u64 {
        if self.tiling.bricked() {
            self.reached_edges_in::<Bricks>()
        } else {
            self.reached_edges_in::<RowMajor>()
        }
    }

    /// [`Levels::reached_edges`], the tiles walked in order `O`, the tiling's.
    fn reached_edges_in<O: TileOrder>(&self) -> u64 {
        let t = &self.tiling;
        let mut pos = O::start(t, 0);
        let mut edges = 0u64;
        let reached = |tile: u64| {
            let cell = self.state[tile as usize];
            cell[0] | cell[1]
        };
        for tile in 0..t.tiles {
            if tile > 0 {
                O::advance(t, &mut pos, 1);
            }
            let r = reached(tile);
            if r == 0 {
                continue;
            }
            for a in 0..t.dims() {
                let s = t.bit_step[a];
                edges +=
                    u64::from((r & t.not_last[a] & r.checked_shr(s).unwrap_or(0)).count_ones());
                let c = O::coords(&pos)[a];
                if c + 1 < t.grid[a] {
                    let up = reached(O::up(t, tile, &pos, a));
                    edges += u64::from((((r & t.last_plane[a]) >> t.span[a]) & up).count_ones());
                } else if t.wrap[a] {
                    let first = reached(O::wrapped_up(t, tile, c, a));
                    edges +=
                        u64::from((((r & t.end_plane[a]) >> t.last_span[a]) & first).count_ones());
                }
            }
        }
        edges
    }
}

/// Fewest vertices per level, on average over a corner-to-corner search of
/// the open lattice, for which the fast engine beats the reference. It pays
/// a fixed few microseconds per level (planning parts, rayon tasks, an
/// observer) that the reference does not, and saves tens of nanoseconds a
/// vertex on large lattices. Measured with `lattice/examples/ops_timing.rs`
/// (`inline`, one thread, distances with the field): a 100,000-vertex line
/// 65 times slower, 2-D 316² (158 a level) 0.55×, 3-D 46³ (735) 0.81×,
/// 5-D 10⁵ (2,174) 1.46×; 3-D 464³ (72,000) two to four times faster.
pub const FAST_LEVEL_MIN: u64 = 1024;

/// Whether the fast engine is the quicker one on `lattice`: at least
/// [`FAST_LEVEL_MIN`] vertices a level on average.
pub fn fast_engine_pays(lattice: &Lattice) -> bool {
    lattice.vertex_count() / lattice.max_distance().saturating_add(1) >= FAST_LEVEL_MIN
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

/// How a search lays out and splits its work, none of which changes its
/// answer: production searches take [`Tuning::DEFAULT`]; the engine's tests
/// pass tiny parts and bricks, so that splitting a level, the outboxes
/// between parts and the moves across brick faces run on small lattices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tuning {
    /// How levels are cut into parts.
    pub(crate) parts: PartSizes,
    /// Tiles a side of the tiling's bricks, about (`tiling.rs`; 1: row-major).
    pub(crate) brick_side: u64,
    /// Bricks only for states larger than this (`tiling::BRICKS_FROM_BYTES`).
    pub(crate) bricks_from_bytes: u64,
}

impl Tuning {
    pub(crate) const DEFAULT: Tuning = Tuning {
        parts: PartSizes::DEFAULT,
        brick_side: tiling::BRICK_SIDE,
        bricks_from_bytes: tiling::BRICKS_FROM_BYTES,
    };

    /// Parts of a few bitmap words and bricks of about two tiles a side,
    /// whatever the lattice's size.
    #[cfg(test)]
    pub(crate) const TINY: Tuning = Tuning {
        parts: PartSizes {
            max_words: 3,
            min_words: 1,
        },
        brick_side: 2,
        bricks_from_bytes: 0,
    };

    /// [`Tuning::TINY`]'s parts, tiles row-major: the order every lattice
    /// below the threshold runs in production.
    #[cfg(test)]
    pub(crate) const TINY_ROW_MAJOR: Tuning = Tuning {
        brick_side: 1,
        ..Tuning::TINY
    };

    /// The tiling of `lattice` with these bricks.
    fn tiling(&self, lattice: &Lattice) -> Tiling {
        Tiling::choose(lattice, self.brick_side, self.bricks_from_bytes)
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
    bfs_levels_tuned(lattice, source, stop_at, Tuning::DEFAULT, cancel)
}

/// [`bfs_levels`] with `tuning` (the tests' small parts and bricks).
pub(crate) fn bfs_levels_tuned(
    lattice: &Lattice,
    source: u64,
    stop_at: Option<u64>,
    tuning: Tuning,
    cancel: &dyn Cancel,
) -> Result<Levels, Cancelled> {
    let tiling = tuning.tiling(lattice);
    let searched = sweep::search(lattice, &tiling, source, stop_at, tuning.parts, cancel)?;
    Ok(levels_of(tiling, searched))
}

/// The [`Levels`] of a finished search over `tiling`.
fn levels_of(tiling: Tiling, searched: Searched) -> Levels {
    let reached = searched.level_sizes.iter().sum();
    let level_bytes = searched.level_sizes.capacity() as u64 * 8;
    Levels {
        tiling,
        state: searched.state,
        level_sizes: searched.level_sizes,
        reached,
        peak_bytes: searched.peak_bytes + level_bytes,
    }
}

/// The ball of `radius` hops around `source` with the fast engine: a search
/// stopped once level `radius` is complete (every vertex within it
/// labelled, nothing further), on the current rayon pool's threads.
pub fn bfs_levels_within(
    lattice: &Lattice,
    source: u64,
    radius: u64,
    cancel: &dyn Cancel,
) -> Result<Levels, Cancelled> {
    let tuning = Tuning::DEFAULT;
    let tiling = tuning.tiling(lattice);
    let stop = Stop {
        at: None,
        radius: Some(radius),
    };
    let sizes = tuning.parts;
    let searched =
        sweep::search_observed(lattice, &tiling, source, stop, sizes, &mut |_| {}, cancel)?;
    Ok(levels_of(tiling, searched))
}

/// A complete [`bfs_levels`] search and the exact distance field it found:
/// every vertex's distance in index order (axis 0 varying fastest),
/// `u32::MAX` for unreachable or blocked ones, as `bfs.rs` gives it. Each
/// level is queued for the field as soon as it is complete (`field.rs`):
/// 4 bytes a vertex, an eighth of a byte for which are written and at most
/// 3/8 of a byte of queues, on top of the search's quarter byte.
pub fn bfs_levels_with_field(
    lattice: &Lattice,
    source: u64,
    cancel: &dyn Cancel,
) -> Result<(Levels, Vec<u32>), Cancelled> {
    bfs_levels_with_field_tuned(lattice, source, Tuning::DEFAULT, cancel)
}

/// [`bfs_levels_with_field`] with `tuning`.
pub(crate) fn bfs_levels_with_field_tuned(
    lattice: &Lattice,
    source: u64,
    tuning: Tuning,
    cancel: &dyn Cancel,
) -> Result<(Levels, Vec<u32>), Cancelled> {
    let tiling = tuning.tiling(lattice);
    let mut writer = field::FieldWriter::new(&tiling);
    let searched = sweep::search_observed(
        lattice,
        &tiling,
        source,
        Stop::default(),
        tuning.parts,
        &mut |level: &Level<'_>| writer.observe(level),
        cancel,
    )?;
    let dist = writer.finish();
    Ok((levels_of(tiling, searched), dist))
}

/// The canonical shortest path of docs/adr/0002-lattices.md, found with the fast engine:
/// equal to [`crate::shortest_path`] in every field.
pub fn fast_shortest_path(
    lattice: &Lattice,
    start: u64,
    end: u64,
    cancel: &dyn Cancel,
) -> Result<Option<ShortestPath>, Cancelled> {
    fast_shortest_path_tuned(lattice, start, end, Tuning::DEFAULT, cancel)
}

/// [`fast_shortest_path`] with `tuning`.
pub(crate) fn fast_shortest_path_tuned(
    lattice: &Lattice,
    start: u64,
    end: u64,
    tuning: Tuning,
    cancel: &dyn Cancel,
) -> Result<Option<ShortestPath>, Cancelled> {
    let n = lattice.vertex_count();
    if start >= n || end >= n || lattice.is_blocked(start) || lattice.is_blocked(end) {
        return Ok(None);
    }
    let levels = bfs_levels_tuned(lattice, end, Some(start), tuning, cancel)?;
    Ok(walk_canonical(lattice, &levels, start))
}

/// The canonical path (docs/adr/0002-lattices.md) from `start` down the distances of
/// `levels`, a search from the path's end stopped at `start` (by this engine
/// or a GPU one holding the same states): each step to the neighbour of
/// smallest index one closer. None if `start` was not reached.
pub fn walk_canonical(lattice: &Lattice, levels: &Levels, start: u64) -> Option<ShortestPath> {
    // The search stopped once start's level was complete, so that level is the last.
    let length = levels.eccentricity();
    let capacity = usize::try_from(length).unwrap_or(0).saturating_add(1);
    let path = walk(lattice, levels, start, capacity, |_, steps| steps == length)?;
    Some(ShortestPath {
        length,
        path,
        vertices_visited: levels.reached(),
    })
}

/// The canonical path from `start` down to `source`, the source of
/// `levels` (a complete search or one stopped anywhere beyond `start`):
/// steps until it stands on the source, so its length is the start's
/// distance. None if `start` was not labelled.
pub(crate) fn walk_to_source(
    lattice: &Lattice,
    levels: &Levels,
    start: u64,
    source: u64,
) -> Option<Vec<Vec<u32>>> {
    let most = levels.eccentricity();
    // No distance exceeds the eccentricity: a longer walk means states that
    // are not a search from `source`, and gives None rather than looping.
    walk(lattice, levels, start, 0, |at, steps| {
        at == source || steps > most
    })
    .filter(|path| path.len() as u64 <= most + 1)
}

/// The canonical walk from `start` down the distances of `levels` (each step
/// to the neighbour of smallest index one closer) until `done(vertex,
/// steps taken)`; the coordinates visited, `start` first, in a vector made
/// with `capacity`.
fn walk(
    lattice: &Lattice,
    levels: &Levels,
    start: u64,
    capacity: usize,
    done: impl Fn(u64, u64) -> bool,
) -> Option<Vec<Vec<u32>>> {
    let mut code = levels.distance_mod3(start)?;
    let mut path = Vec::with_capacity(capacity);
    path.push(lattice.coord_of(start));
    let mut current = start;
    let mut neighbours = Vec::with_capacity(2 * lattice.dimensions());
    let mut steps = 0u64;
    while !done(current, steps) {
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
        steps += 1;
    }
    Some(path)
}

/// Memory and work of [`fast_shortest_path`] or [`bfs_levels`] on `lattice`,
/// for any endpoints: the buffers the engine really allocates (states, the
/// blocked mask of an explicit list, frontier bitmaps), a bound on the
/// per-level sizes and the longest path, and an allowance for cross-part
/// outboxes. Visits are at most every vertex.
pub fn fast_estimate(lattice: &Lattice) -> Estimate {
    // Blocking can lengthen distances up to the number of vertices.
    let levels = if lattice.has_blocking() {
        lattice.vertex_count()
    } else {
        lattice.max_distance().saturating_add(1)
    };
    let d = lattice.dimensions() as u64;
    let path = levels.saturating_mul(24 + 4 * d);
    Estimate {
        memory_bytes: fast_search_bytes(lattice)
            .saturating_add(levels.saturating_mul(8))
            .saturating_add(path),
        vertex_visits: lattice.vertex_count(),
    }
}

/// Heap bytes [`bfs_levels_with_field`] holds besides its search's: the
/// field and what writes it.
pub(crate) fn field_bytes(lattice: &Lattice) -> u64 {
    field::FieldWriter::bytes(&Tiling::new(lattice))
}

/// Heap bytes one fast search allocates whatever its source and stop: the
/// states (a quarter byte a vertex), the blocked mask (only when something
/// is blocked), the frontier bitmaps and an allowance for cross-part outboxes.
pub(crate) fn fast_search_bytes(lattice: &Lattice) -> u64 {
    let tiling = Tiling::new(lattice);
    let words = tiling.bitmap_words();
    // A seeded rule on a large lattice is evaluated per vertex and holds no
    // mask (`blocking.rs`); its moves carry a corner vertex, a third more
    // outbox per entry. A small one may get a mask (`sweep::mask_seeded`,
    // which depends on the threads: counted whenever it could).
    let seeded = lattice.seeded_rule().is_some();
    let mask = tiling.tiles.saturating_mul(8);
    let blocked = match (lattice.has_blocking(), seeded) {
        (false, _) => 0,
        (true, false) => mask,
        (true, true) if mask <= sweep::SEEDED_MASK_MAX_BYTES => mask,
        (true, true) => 0,
    };
    let move_bytes = if seeded { 24 } else { 16 };
    let bitmaps = words
        .saturating_mul(16)
        .saturating_add(words.div_ceil(64).saturating_mul(16));
    // Each part's outbox holds at most a few entries per frontier word it owns.
    let outboxes = move_bytes * 4 * 2048 * rayon::current_num_threads() as u64;
    tiling
        .state_bytes()
        .saturating_add(blocked)
        .saturating_add(bitmaps)
        .saturating_add(outboxes)
}

#[cfg(test)]
mod tests;
