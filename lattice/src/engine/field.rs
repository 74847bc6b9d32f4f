//! Per-vertex answers in vertex index order, read off the tile layout: the
//! exact distance field (written level by level while the search runs, as
//! an observer of `sweep.rs`'s level loop) and the list of labelled vertices.
//!
//! Both are split by slab: a slab is one brick layer of the tiling (the
//! bricks at one coordinate along the slowest axis, `Tiling::layer`; one
//! layer of tiles when they are numbered row-major), a
//! contiguous range of tiles holding exactly the vertices of one contiguous
//! range of indices, so each slab owns a disjoint chunk of the output and
//! the slabs run on rayon's threads with plain `par_chunks_mut`: no
//! atomics, no `unsafe`.

use std::mem::size_of;

use rayon::prelude::*;

use crate::engine::Levels;
use crate::engine::sweep::{Level, code_mask};
use crate::engine::tiling::Tiling;

/// Field value of a vertex that was not labelled (unreached or blocked),
/// as in `bfs.rs`.
pub(crate) const UNSET: u32 = u32::MAX;

/// How tiles map onto vertex indices, slab by slab.
pub(crate) struct Slabs<'a> {
    tiling: &'a Tiling,
    /// Tiles per slab.
    tiles: u64,
    /// Vertex indices per slab (the last slab may have fewer).
    vertices: u64,
}

impl<'a> Slabs<'a> {
    pub(crate) fn new(tiling: &'a Tiling) -> Self {
        let (tiles, vertices) = tiling.layer();
        Self {
            tiling,
            tiles,
            vertices,
        }
    }

    /// Number of slabs.
    fn count(&self) -> u64 {
        self.tiling.layers()
    }

    /// Calls `f(local index, bit)` for every set bit of `bits` in tile
    /// `tile` of slab `slab`, the index relative to the slab's first vertex.
    #[inline]
    fn each_vertex(&self, slab: u64, tile: u64, bits: u64, f: &mut impl FnMut(usize)) {
        let corner = self.tiling.corner_of(tile) - slab * self.vertices;
        let mut bits = bits;
        while bits != 0 {
            let bit = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            f((corner + self.tiling.bit_offset[bit]) as usize);
        }
    }

    /// The tiles of slab `slab` within `tiles` (a range of tile indices).
    fn tiles_of(&self, slab: u64, tiles: (u64, u64)) -> (u64, u64) {
        let first = (slab * self.tiles).max(tiles.0);
        let end = ((slab + 1) * self.tiles).min(tiles.1);
        (first, end.max(first))
    }
}

/// New bits of one tile at one level, kept until their slab is flushed.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// The tile's index within its slab.
    tile: u64,
    /// The vertices labelled at `distance`.
    bits: u64,
    distance: u32,
}

/// Writes the exact field from a search's levels. Written straight away,
/// each level's few vertices per row would touch a cache line of every row
/// the shell crosses, each line again at the next levels, and a large
/// field is far bigger than the caches. So each level's new bits (those of
/// the level's code not yet written: one word per tile keeps which) are
/// queued per slab, and a slab's queue is written out when the next level
/// might not fit in it (room for one entry per tile of the slab): a band of
/// many levels at once, the slab's rows then hot in cache. The queues hold
/// at most 3/8 of a byte a vertex.
pub(crate) struct FieldWriter<'a> {
    slabs: Slabs<'a>,
    field: Vec<u32>,
    /// Per tile: the bits already queued or written.
    written: Vec<u64>,
    /// Per slab: its queued bits.
    pending: Vec<Vec<Pending>>,
}

impl<'a> FieldWriter<'a> {
    /// An empty field ([`UNSET`] everywhere) over `tiling`.
    pub(crate) fn new(tiling: &'a Tiling) -> Self {
        let slabs = Slabs::new(tiling);
        let pending = (0..slabs.count()).map(|_| Vec::new()).collect();
        Self {
            field: vec![UNSET; tiling.vertices as usize],
            written: vec![0u64; tiling.tiles as usize],
            pending,
            slabs,
        }
    }

    /// Most heap bytes a writer over `tiling` holds: the field, the written
    /// words, and the queues, each made once with room for one entry per
    /// tile of its slab (3/8 of a byte a vertex).
    pub(crate) fn bytes(tiling: &Tiling) -> u64 {
        let queues = tiling.tiles.saturating_mul(size_of::<Pending>() as u64);
        tiling
            .vertices
            .saturating_mul(size_of::<u32>() as u64)
            .saturating_add(tiling.tiles.saturating_mul(8))
            .saturating_add(queues)
    }

    /// Queues the new bits of `level`, flushing the slabs whose queue it might overfill.
    pub(crate) fn observe(&mut self, level: &Level<'_>) {
        let Self {
            slabs,
            field,
            written,
            pending,
        } = self;
        let tiles = slabs.tiling.tiles;
        let (w0, w1) = level.window;
        let span = ((w0 * 64).min(tiles), (w1 * 64).min(tiles));
        if span.0 >= span.1 {
            return;
        }
        let (s0, s1) = (span.0 / slabs.tiles, (span.1 - 1) / slabs.tiles + 1);
        let distance = u32::try_from(level.distance).unwrap_or(UNSET);
        let code = (level.distance % 3) as u8;
        let capacity = slabs.tiles as usize;
        slab_parts(slabs, field, written, pending, (s0, s1)).for_each(
            |(slab, (chunk, (seen, queue)))| {
                let first = slab * slabs.tiles;
                let tiles = slabs.tiles_of(slab, span);
                // A level adds at most one entry per frontier tile: flush first
                // if they might not fit, so the queue never grows past its capacity.
                let mut coming = 0usize;
                for_each_set(level.frontier, tiles, |_| coming += 1);
                if queue.len() + coming > capacity {
                    slabs.flush(slab, chunk, queue);
                }
                if queue.capacity() == 0 {
                    queue.reserve_exact(capacity);
                }
                for_each_set(level.frontier, tiles, |tile| {
                    let Some(done) = seen.get_mut((tile - first) as usize) else {
                        return;
                    };
                    let bits = code_mask(level.state[tile as usize], code) & !*done;
                    *done |= bits;
                    if bits != 0 {
                        let tile = tile - first;
                        queue.push(Pending {
                            tile,
                            bits,
                            distance,
                        });
                    }
                });
            },
        );
    }

    /// Flushes every queue and hands back the field.
    pub(crate) fn finish(self) -> Vec<u32> {
        let Self {
            slabs,
            mut field,
            mut written,
            mut pending,
        } = self;
        let all = (0, slabs.count());
        slab_parts(&slabs, &mut field, &mut written, &mut pending, all)
            .for_each(|(slab, (chunk, (_, queue)))| slabs.flush(slab, chunk, queue));
        field
    }
}

/// Slabs `s0..s1` of `range` in parallel, each with its chunk of `field`,
/// its tiles' words of `written` and its queue.
#[allow(clippy::type_complexity)]
fn slab_parts<'b>(
    slabs: &Slabs<'_>,
    field: &'b mut [u32],
    written: &'b mut [u64],
    pending: &'b mut [Vec<Pending>],
    range: (u64, u64),
) -> impl IndexedParallelIterator<Item = (u64, (&'b mut [u32], (&'b mut [u64], &'b mut Vec<Pending>)))>
{
    let (s0, s1) = range;
    let lo = ((s0 * slabs.vertices) as usize).min(field.len());
    let hi = ((s1 * slabs.vertices) as usize).min(field.len());
    let t_lo = ((s0 * slabs.tiles) as usize).min(written.len());
    let t_hi = ((s1 * slabs.tiles) as usize).min(written.len());
    let queues = &mut pending[s0 as usize..s1 as usize];
    (s0..s1).collect::<Vec<u64>>().into_par_iter().zip(
        field[lo..hi].par_chunks_mut(slabs.vertices as usize).zip(
            written[t_lo..t_hi]
                .par_chunks_mut(slabs.tiles as usize)
                .zip(queues.par_iter_mut()),
        ),
    )
}

impl Slabs<'_> {
    /// Writes the queued bits of slab `slab` into its field chunk and empties the queue.
    fn flush(&self, slab: u64, chunk: &mut [u32], queue: &mut Vec<Pending>) {
        for p in queue.drain(..) {
            self.each_vertex(slab, slab * self.tiles + p.tile, p.bits, &mut |i| {
                if let Some(entry) = chunk.get_mut(i) {
                    *entry = p.distance;
                }
            });
        }
    }
}

/// Calls `f(tile)` for every tile in `tiles` (a range) whose bit is set in `bitmap`.
fn for_each_set(bitmap: &[u64], tiles: (u64, u64), mut f: impl FnMut(u64)) {
    let (first, end) = tiles;
    if first >= end {
        return;
    }
    for word in (first >> 6)..=((end - 1) >> 6) {
        let mut bits = bitmap.get(word as usize).copied().unwrap_or(0);
        while bits != 0 {
            let tile = word * 64 + u64::from(bits.trailing_zeros());
            bits &= bits - 1;
            if tile >= first && tile < end {
                f(tile);
            }
        }
    }
}

/// Every labelled vertex of `levels`, in ascending index order: counted per
/// slab, then each slab lists and sorts its own chunk of the output.
pub(crate) fn labelled(levels: &Levels) -> Vec<u64> {
    let slabs = Slabs::new(&levels.tiling);
    let all = (0, levels.tiling.tiles);
    let reached = |tile: u64| {
        let cell = levels.state[tile as usize];
        cell[0] | cell[1]
    };
    let counts: Vec<usize> = (0..slabs.count())
        .into_par_iter()
        .map(|slab| {
            let (first, end) = slabs.tiles_of(slab, all);
            (first..end).map(|t| reached(t).count_ones() as usize).sum()
        })
        .collect();
    let mut out = vec![0u64; counts.iter().sum()];
    let mut rest = out.as_mut_slice();
    let mut chunks = Vec::with_capacity(counts.len());
    for &count in &counts {
        let (chunk, tail) = std::mem::take(&mut rest).split_at_mut(count);
        chunks.push(chunk);
        rest = tail;
    }
    chunks
        .into_par_iter()
        .enumerate()
        .for_each(|(slab, chunk)| {
            let slab = slab as u64;
            let (first, end) = slabs.tiles_of(slab, all);
            let base = slab * slabs.vertices;
            let mut next = 0;
            for tile in first..end {
                slabs.each_vertex(slab, tile, reached(tile), &mut |i| {
                    if let Some(slot) = chunk.get_mut(next) {
                        *slot = base + i as u64;
                        next += 1;
                    }
                });
            }
            chunk.sort_unstable();
        });
    out
}
