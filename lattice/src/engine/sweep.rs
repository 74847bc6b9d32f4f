//! The level-synchronous, bit-parallel BFS over tiles (see `tiling.rs`).
//!
//! State is two bit planes per tile: `(0,0)` unreached, `(1,0)`, `(0,1)`,
//! `(1,1)` reached at a distance ≡ 0, 1, 2 (mod 3). The frontier of level `d`
//! is read back from the planes (code `d mod 3`), so it costs no memory of
//! its own; which tiles hold it is kept in a two-level bitmap (one bit per
//! tile, one bit per 64-tile word), scanned in ascending order, which visits
//! memory in a few monotone streams that the prefetchers follow, and is
//! windowed to the span of words actually set (the active shell).
//!
//! A level is cut into parts of about equal frontier; each part owns a
//! contiguous range of tiles (its slice of the state and bitmaps) and runs on
//! its own rayon task. A part writes only its own tiles; what it would write
//! into another part's tiles goes to an outbox applied after the round. No
//! atomics on the state, no `unsafe`. Cancellation is polled between rounds,
//! a round being at most a few milliseconds of work. [`search_observed`]
//! also stops at a radius and shows each complete level to an observer
//! before expanding it (how `field.rs` writes the exact distances).
//!
//! Blocked vertices are never labelled: `deposit` drops them from the bits
//! it is about to label, as the search's [`Blocking`] strategy (`blocking.rs`)
//! says. The sweep is generic over the strategy, so an open lattice runs
//! without any blocking code, and a seeded one on a large lattice holds no
//! mask: its moves carry their target tile's corner vertex, from which the
//! rule is evaluated ([`mask_seeded`] says when a mask is built instead).
//!
//! It is generic over the tile order too (`tiling.rs`, [`TileOrder`]): a
//! lattice whose state fits the caches runs the row-major sweep, whose
//! neighbour steps are `± tile_stride`, and only a larger one the sweep
//! compiled for bricks.

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::cancel::{Cancel, Cancelled};
pub(crate) use crate::engine::blocking::blocked_mask;
use crate::engine::blocking::{Bitmap, Blocking, Open, Seeded};
use crate::engine::tiling::{Bricks, RowMajor, TileOrder, Tiling};
use crate::spec::Lattice;

/// How a level is cut into parts, in frontier bitmap words (64 tiles each).
/// Every search takes one: production searches [`PartSizes::DEFAULT`]; the
/// engine's tests pass tiny parts so that splitting and outboxes run on small
/// lattices (engine/tests.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartSizes {
    /// Words per part at most: big enough to amortise a rayon task (~100 µs),
    /// small enough that a round stays a few milliseconds.
    pub(crate) max_words: u64,
    /// Below this many frontier words per part a level is not worth splitting.
    pub(crate) min_words: u64,
}

impl PartSizes {
    pub(crate) const DEFAULT: PartSizes = PartSizes {
        max_words: 2048,
        min_words: 256,
    };
}

/// What a finished search holds.
pub(crate) struct Searched {
    /// Two planes per tile: the 2-bit state of every vertex.
    pub(crate) state: Vec<[u64; 2]>,
    /// Vertices labelled at each distance, from 0.
    pub(crate) level_sizes: Vec<u64>,
    /// Peak heap bytes of the search, state included.
    pub(crate) peak_bytes: u64,
}

/// Mask of the bits in `cell` that hold `code` (0, 1 or 2).
#[inline]
pub(crate) fn code_mask(cell: [u64; 2], code: u8) -> u64 {
    match code {
        0 => cell[0] & !cell[1],
        1 => cell[1] & !cell[0],
        _ => cell[0] & cell[1],
    }
}

/// Writes `code` into the bits `new` of `cell` (which must be unreached there).
#[inline]
fn set_code(cell: &mut [u64; 2], code: u8, new: u64) {
    if code != 1 {
        cell[0] |= new;
    }
    if code != 0 {
        cell[1] |= new;
    }
}

/// A move: (target tile, candidate bits, the target's corner as `B` needs it).
type Move<B> = (u64, u64, <B as Blocking>::Corner);

/// Read-only context shared by the parts of a round.
struct Shared<'a, B: Blocking> {
    tiling: &'a Tiling,
    /// Which vertices are blocked.
    blocking: &'a B,
    /// Summary of the current frontier: bit `w` set iff frontier word `w` is non-zero.
    cur_summary: &'a [AtomicU64],
    /// Summary of the next frontier, set as parts find new tiles.
    next_summary: &'a [AtomicU64],
    /// Code of the level being expanded and of the next one.
    code: u8,
    next_code: u8,
}

/// One part of a round: a contiguous range of bitmap words and their tiles.
struct Part<'a> {
    /// First bitmap word of the range; its first tile is `64 * word0`.
    word0: u64,
    /// The range's tiles' state.
    state: &'a mut [[u64; 2]],
    /// The range's words of the current frontier bitmap (cleared as read).
    cur: &'a mut [u64],
    /// The range's words of the next frontier bitmap.
    next: &'a mut [u64],
}

/// What a part produced besides its writes.
struct PartOut<B: Blocking> {
    /// Vertices newly labelled.
    labelled: u64,
    /// Writes into tiles of other parts.
    outbox: Vec<Move<B>>,
    /// Lowest and one past the highest next-frontier word this part set.
    window: Option<(u64, u64)>,
}

impl<B: Blocking> Default for PartOut<B> {
    fn default() -> Self {
        Self {
            labelled: 0,
            outbox: Vec::new(),
            window: None,
        }
    }
}

impl<B: Blocking> PartOut<B> {
    fn widen(&mut self, word: u64) {
        self.window = Some(match self.window {
            None => (word, word + 1),
            Some((lo, hi)) => (lo.min(word), hi.max(word + 1)),
        });
    }
}

/// Labels the candidate bits of `mv`'s tile (in `state`, whose first tile
/// is `base`) with the next code unless reached or blocked, marks the tile in
/// the next frontier and counts the vertices labelled into `out`.
#[inline]
fn deposit<B: Blocking>(
    shared: &Shared<'_, B>,
    state: &mut [[u64; 2]],
    next: &mut [u64],
    base: u64,
    (tile, cand, corner): Move<B>,
    out: &mut PartOut<B>,
) {
    let local = (tile - base) as usize;
    let cell = &mut state[local];
    let unreached = cand & !(cell[0] | cell[1]);
    // Only the unreached bits are tested: a seeded rule costs a hash per bit.
    if unreached == 0 {
        return;
    }
    let new = shared.blocking.open(tile, corner, unreached);
    if new == 0 {
        return;
    }
    set_code(cell, shared.next_code, new);
    out.labelled += u64::from(new.count_ones());
    let word = tile >> 6;
    let slot = &mut next[(word - (base >> 6)) as usize];
    if *slot == 0 {
        shared.next_summary[(word >> 6) as usize].fetch_or(1 << (word & 63), Ordering::Relaxed);
        out.widen(word);
    }
    *slot |= 1 << (tile & 63);
}

/// Moves gathered before they are applied: applying them in a tight loop of
/// independent loads keeps many cache misses in flight at once (the targets
/// along the slow axes are far apart in memory), instead of one or two.
const BATCH: usize = 512;

/// Expands every frontier tile of `part`, its tiles numbered in order `O`.
fn run_part<B: Blocking, O: TileOrder>(shared: &Shared<'_, B>, part: Part<'_>) -> PartOut<B> {
    let tiling = shared.tiling;
    let mut out = PartOut::default();
    let base = part.word0 * 64;
    let end = base + part.state.len() as u64;
    let words = part.cur.len() as u64;
    let mut pos = O::Pos::default();
    let mut last_tile: Option<u64> = None;
    let mut pending: Vec<Move<B>> = Vec::with_capacity(BATCH + 2 * crate::spec::MAX_DIMENSIONS + 1);
    let (first_sw, last_sw) = (part.word0 >> 6, (part.word0 + words - 1) >> 6);
    for sw in first_sw..=last_sw {
        let mut summary = shared.cur_summary[sw as usize].load(Ordering::Relaxed);
        while summary != 0 {
            let word = sw * 64 + u64::from(summary.trailing_zeros());
            summary &= summary - 1;
            if word < part.word0 || word >= part.word0 + words {
                continue;
            }
            let slot = (word - part.word0) as usize;
            let mut bits = std::mem::take(&mut part.cur[slot]);
            while bits != 0 {
                let tile = word * 64 + u64::from(bits.trailing_zeros());
                bits &= bits - 1;
                match last_tile {
                    Some(prev) => O::advance(tiling, &mut pos, tile - prev),
                    None => pos = O::start(tiling, tile),
                }
                last_tile = Some(tile);
                let f = code_mask(part.state[(tile - base) as usize], shared.code);
                if f != 0 {
                    let from = (tile, shared.blocking.corner(tiling, O::coords(&pos)));
                    expand::<B, O>(tiling, shared.blocking, f, from, &pos, &mut pending);
                }
                if pending.len() >= BATCH {
                    apply(
                        shared,
                        &mut *part.state,
                        &mut *part.next,
                        base,
                        end,
                        &mut pending,
                        &mut out,
                    );
                }
            }
        }
    }
    apply(
        shared,
        &mut *part.state,
        &mut *part.next,
        base,
        end,
        &mut pending,
        &mut out,
    );
    out
}

/// Applies the gathered moves: deposits those inside the part, posts the others.
fn apply<B: Blocking>(
    shared: &Shared<'_, B>,
    state: &mut [[u64; 2]],
    next: &mut [u64],
    base: u64,
    end: u64,
    pending: &mut Vec<Move<B>>,
    out: &mut PartOut<B>,
) {
    for mv in pending.drain(..) {
        if mv.0 >= base && mv.0 < end {
            deposit(shared, state, next, base, mv, out);
        } else {
            out.outbox.push(mv);
        }
    }
}

/// The moves out of frontier bits `f` (non-zero) of one tile (`from`: its
/// index and corner, `pos`: its place in order `O`): in-tile moves, then
/// moves into the neighbouring tiles along each axis (wrapping where the
/// axis does), appended to `pending`.
#[inline]
// Axis-indexed parallel arrays (coords and the tiling's masks) read clearest by index.
#[allow(clippy::needless_range_loop)]
fn expand<B: Blocking, O: TileOrder>(
    t: &Tiling,
    blocking: &B,
    f: u64,
    (tile, corner): (u64, B::Corner),
    pos: &O::Pos,
    pending: &mut Vec<Move<B>>,
) {
    let coords = O::coords(pos);
    let mut own = 0u64;
    for a in 0..t.dims() {
        // An axis of tile side 1 has bit step 64 and no in-tile moves (its masks are 0).
        let s = t.bit_step[a];
        own |= (f.checked_shl(s).unwrap_or(0) & t.not_first[a])
            | (f.checked_shr(s).unwrap_or(0) & t.not_last[a]);
    }
    own &= t.valid(t.last_set(coords));
    if own != 0 {
        pending.push((tile, own, corner));
    }
    // A move into `target`, `n` tiles up or down axis `a`, its corner
    // stepped alongside (for seeded blocking).
    let mut send = |target: u64, a: usize, n: u64, up: bool, cand: u64| {
        pending.push((target, cand, blocking.step(corner, a, n, up)));
    };
    for a in 0..t.dims() {
        let (c, g) = (coords[a], t.grid[a]);
        let low = f & t.first_plane[a];
        if low != 0 {
            if c > 0 {
                let target = O::down(t, tile, pos, a);
                send(target, a, 1, false, low << t.span[a]);
            } else if t.wrap[a] {
                let target = O::wrapped_down(t, tile, a);
                send(target, a, g - 1, true, low << t.last_span[a]);
            }
        }
        if c + 1 < g {
            let high = f & t.last_plane[a];
            if high != 0 {
                send(O::up(t, tile, pos, a), a, 1, true, high >> t.span[a]);
            }
        } else if t.wrap[a] {
            let high = f & t.end_plane[a];
            if high != 0 {
                let target = O::wrapped_up(t, tile, c, a);
                send(target, a, c, false, high >> t.last_span[a]);
            }
        }
    }
}

/// BFS from `source` over `tiling`'s layout, levels cut into parts of
/// `sizes`. With `stop_at`, stops once that vertex's level is complete. A blocked or out-of-range source reaches nothing.
pub(crate) fn search(
    lattice: &Lattice,
    tiling: &Tiling,
    source: u64,
    stop_at: Option<u64>,
    sizes: PartSizes,
    cancel: &dyn Cancel,
) -> Result<Searched, Cancelled> {
    let stop = Stop {
        at: stop_at,
        radius: None,
    };
    search_observed(lattice, tiling, source, stop, sizes, &mut |_| {}, cancel)
}

/// When a search stops before its frontier runs out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stop {
    /// Once this vertex's level is complete.
    pub(crate) at: Option<u64>,
    /// Once the level of this distance is complete: the ball of that radius.
    pub(crate) radius: Option<u64>,
}

/// One complete level as an observer of [`search_observed`] sees it, before
/// it is expanded: every vertex at `distance` is labelled, nothing further.
pub(crate) struct Level<'a> {
    /// Distance of the level from the source.
    pub(crate) distance: u64,
    /// Every tile's state (levels up to `distance`).
    pub(crate) state: &'a [[u64; 2]],
    /// Frontier bitmap: bit `t % 64` of word `t / 64` set iff tile `t` holds a
    /// vertex of this level (its bits of code `distance % 3` not seen before).
    pub(crate) frontier: &'a [u64],
    /// The frontier's words lie in `window.0..window.1`.
    pub(crate) window: (u64, u64),
}

/// Largest blocked mask built for a seeded rule when the search has several
/// threads (16 MiB: about 1.3×10⁸ vertices). Below it the mask, built on
/// every thread before the search, beats evaluating the rule inside levels
/// too small to split (measured 15–23 % faster on two threads up to 4-D
/// 60⁴, docs/benchmarks.md); above it the eighth of a byte per vertex
/// matters more, and on 3-D 1000³ the rule in place is as fast or faster.
pub(crate) const SEEDED_MASK_MAX_BYTES: u64 = 16 << 20;

/// Whether a search of `tiling` on the current pool builds a mask for the
/// seeded rule `lattice` has, rather than evaluating it per vertex.
pub(crate) fn mask_seeded(tiling: &Tiling) -> bool {
    rayon::current_num_threads() > 1 && tiling.tiles.saturating_mul(8) <= SEEDED_MASK_MAX_BYTES
}

/// [`search`] with a [`Stop`], calling `observe` on every level it labels
/// (distance 0, the source, first), in order, before expanding it.
pub(crate) fn search_observed(
    lattice: &Lattice,
    tiling: &Tiling,
    source: u64,
    stop: Stop,
    sizes: PartSizes,
    observe: &mut dyn FnMut(&Level<'_>),
    cancel: &dyn Cancel,
) -> Result<Searched, Cancelled> {
    let query = Query {
        source,
        stop,
        sizes,
        observe,
        cancel,
    };
    // One compiled sweep per strategy: the choice is made here, not per deposit.
    match lattice.seeded_rule() {
        Some(rule) if !mask_seeded(tiling) => {
            search_in_order(&Seeded::new(rule, tiling), lattice, tiling, query)
        }
        _ => match blocked_mask(lattice, tiling) {
            Some(mask) => search_in_order(&Bitmap(mask), lattice, tiling, query),
            None => search_in_order(&Open, lattice, tiling, query),
        },
    }
}

/// [`search_with`] compiled for the tiling's order: the row-major sweep
/// carries none of the brick arithmetic (`tiling.rs`).
fn search_in_order<B: Blocking>(
    blocking: &B,
    lattice: &Lattice,
    tiling: &Tiling,
    query: Query<'_, '_>,
) -> Result<Searched, Cancelled> {
    if tiling.bricked() {
        search_with::<B, Bricks>(blocking, lattice, tiling, query)
    } else {
        search_with::<B, RowMajor>(blocking, lattice, tiling, query)
    }
}

/// What a [`search_observed`] is asked, handed on to the sweep of its strategy.
struct Query<'a, 'o> {
    source: u64,
    stop: Stop,
    sizes: PartSizes,
    observe: &'o mut dyn FnMut(&Level<'_>),
    cancel: &'a dyn Cancel,
}

/// [`search_observed`] with the blocking strategy `blocking`, tiles in order `O`.
fn search_with<B: Blocking, O: TileOrder>(
    blocking: &B,
    lattice: &Lattice,
    tiling: &Tiling,
    query: Query<'_, '_>,
) -> Result<Searched, Cancelled> {
    let Query {
        source,
        stop,
        sizes,
        observe,
        cancel,
    } = query;
    let tiles = tiling.tiles;
    let words = tiling.bitmap_words();
    let summary_words = words.div_ceil(64);
    let mut state = vec![[0u64; 2]; tiles as usize];
    let mut cur = vec![0u64; words as usize];
    let mut next = vec![0u64; words as usize];
    let new_summary = || {
        (0..summary_words)
            .map(|_| AtomicU64::new(0))
            .collect::<Vec<_>>()
    };
    let mut cur_summary = new_summary();
    let mut next_summary = new_summary();
    let fixed_bytes =
        tiling.state_bytes() + blocking.bytes() + 2 * words * 8 + 2 * summary_words * 8;
    let mut peak_outbox = 0u64;
    let mut level_sizes = Vec::new();

    if source >= lattice.vertex_count() || lattice.is_blocked(source) {
        return Ok(Searched {
            state,
            level_sizes,
            peak_bytes: fixed_bytes,
        });
    }
    let (tile, bit) = tiling.locate(source);
    set_code(&mut state[tile as usize], 0, 1 << bit);
    cur[(tile >> 6) as usize] |= 1 << (tile & 63);
    cur_summary[(tile >> 12) as usize].store(1 << ((tile >> 6) & 63), Ordering::Relaxed);
    let mut window = (tile >> 6, (tile >> 6) + 1);
    level_sizes.push(1);
    let target = stop
        .at
        .filter(|&v| v < lattice.vertex_count())
        .map(|v| tiling.locate(v));
    let threads = rayon::current_num_threads().max(1) as u64;

    for level in 0u64.. {
        if cancel.should_stop() {
            return Err(Cancelled);
        }
        observe(&Level {
            distance: level,
            state: &state,
            frontier: &cur,
            window,
        });
        if stop.radius.is_some_and(|r| level >= r) {
            break;
        }
        if let Some((tt, tb)) = target {
            let cell = state[tt as usize];
            if (cell[0] | cell[1]) & (1 << tb) != 0 {
                break;
            }
        }
        let parts = plan_parts(&cur_summary, window, threads, sizes);
        let shared = Shared {
            tiling,
            blocking,
            cur_summary: &cur_summary,
            next_summary: &next_summary,
            code: (level % 3) as u8,
            next_code: ((level + 1) % 3) as u8,
        };
        let mut labelled = 0u64;
        let mut next_window: Option<(u64, u64)> = None;
        for round in parts.chunks(threads as usize) {
            if cancel.should_stop() {
                return Err(Cancelled);
            }
            let outs = run_round::<B, O>(&shared, round, &mut state, &mut cur, &mut next, tiles);
            peak_outbox = peak_outbox.max(outbox_bytes(&outs));
            for mut out in outs {
                labelled += out.labelled;
                let mut sink = PartOut::default();
                for mv in out.outbox.drain(..) {
                    deposit(&shared, &mut state, &mut next, 0, mv, &mut sink);
                }
                labelled += sink.labelled;
                for w in [out.window, sink.window].into_iter().flatten() {
                    next_window = Some(match next_window {
                        None => w,
                        Some((lo, hi)) => (lo.min(w.0), hi.max(w.1)),
                    });
                }
            }
        }
        for sw in (window.0 >> 6)..=((window.1 - 1) >> 6) {
            cur_summary[sw as usize].store(0, Ordering::Relaxed);
        }
        std::mem::swap(&mut cur, &mut next);
        std::mem::swap(&mut cur_summary, &mut next_summary);
        cancel.advanced(labelled);
        match next_window {
            Some(w) if labelled > 0 => {
                level_sizes.push(labelled);
                window = w;
            }
            _ => break,
        }
    }
    Ok(Searched {
        state,
        level_sizes,
        peak_bytes: fixed_bytes + peak_outbox,
    })
}

/// Heap bytes of a round's outboxes, all held at once until applied.
fn outbox_bytes<B: Blocking>(outs: &[PartOut<B>]) -> u64 {
    let entry = std::mem::size_of::<Move<B>>() as u64;
    outs.iter()
        .map(|out| out.outbox.capacity() as u64 * entry)
        .sum()
}

/// Cuts the frontier words in `window` into parts of about equal count:
/// `[word0, word1)` ranges covering the window, in order.
fn plan_parts(
    summary: &[AtomicU64],
    window: (u64, u64),
    threads: u64,
    sizes: PartSizes,
) -> Vec<(u64, u64)> {
    let (lo, hi) = window;
    if threads == 1 {
        // One part per `max_words` frontier words, so that cancellation is polled often.
        return split_by_count(summary, window, sizes.max_words);
    }
    let total: u64 = ((lo >> 6)..=((hi - 1) >> 6))
        .map(|sw| u64::from(summary[sw as usize].load(Ordering::Relaxed).count_ones()))
        .sum();
    if total < sizes.min_words * 2 {
        return vec![(lo, hi)];
    }
    let per_part = total
        .div_ceil(threads)
        .clamp(sizes.min_words, sizes.max_words);
    split_by_count(summary, window, per_part)
}

/// Splits `window` into ranges each holding `per_part` set summary bits (the last fewer).
fn split_by_count(summary: &[AtomicU64], window: (u64, u64), per_part: u64) -> Vec<(u64, u64)> {
    let (lo, hi) = window;
    let mut parts = Vec::new();
    let mut start = lo;
    let mut count = 0u64;
    for sw in (lo >> 6)..=((hi - 1) >> 6) {
        let mut bits = summary[sw as usize].load(Ordering::Relaxed);
        while bits != 0 {
            let word = sw * 64 + u64::from(bits.trailing_zeros());
            bits &= bits - 1;
            if word < lo || word >= hi {
                continue;
            }
            if count == per_part {
                parts.push((start, word));
                start = word;
                count = 0;
            }
            count += 1;
        }
    }
    parts.push((start, hi));
    parts
}

/// Runs the parts of one round, in parallel when there are several.
fn run_round<B: Blocking, O: TileOrder>(
    shared: &Shared<'_, B>,
    round: &[(u64, u64)],
    state: &mut [[u64; 2]],
    cur: &mut [u64],
    next: &mut [u64],
    tiles: u64,
) -> Vec<PartOut<B>> {
    let (Some(&(first, _)), Some(&(_, last))) = (round.first(), round.last()) else {
        return Vec::new();
    };
    let tile_of = |word: u64| (word * 64).min(tiles) as usize;
    let mut state = &mut state[tile_of(first)..tile_of(last)];
    let mut cur = &mut cur[first as usize..last as usize];
    let mut next = &mut next[first as usize..last as usize];
    let mut parts = Vec::with_capacity(round.len());
    for &(w0, w1) in round {
        let (s, s_rest) = std::mem::take(&mut state).split_at_mut(tile_of(w1) - tile_of(w0));
        let (c, c_rest) = std::mem::take(&mut cur).split_at_mut((w1 - w0) as usize);
        let (n, n_rest) = std::mem::take(&mut next).split_at_mut((w1 - w0) as usize);
        parts.push(Part {
            word0: w0,
            state: s,
            cur: c,
            next: n,
        });
        (state, cur, next) = (s_rest, c_rest, n_rest);
    }
    if parts.len() == 1 {
        return parts
            .into_iter()
            .map(|p| run_part::<B, O>(shared, p))
            .collect();
    }
    parts
        .into_par_iter()
        .map(|p| run_part::<B, O>(shared, p))
        .collect()
}
