//! How the fast engine lays a lattice out in 64-bit words: tiles.
//!
//! A BFS frontier on a grid is a diagonal shell (from a corner, the plane
//! `x + y + z = d`), so a word holding 64 vertices of one row meets it in one
//! bit per level and bit parallelism buys nothing. A word holding a small
//! hypercube instead (8×8 in 2-D, 4×4×4 in 3-D, 4×4×2×2 in 4-D) meets the
//! shell in several bits per level, so one word operation advances several
//! vertices. This file owns that mapping: tile shape, the in-tile bit masks
//! per axis, the tile grid, and vertex ↔ (tile, bit). `sweep.rs` uses the
//! masks; it never recomputes them.
//!
//! Going from (tile, bit) back to a vertex index needs no division: a tile's
//! corner vertex is `sum(coords[a] * corner_step[a])` (or its neighbour's
//! corner plus or minus one step), and bit `b` lies `bit_offset[b]` past it.
//! Seeded blocking and the blocked mask use that (`sweep.rs`).
//!
//! Axes whose size the tile side does not divide leave padding bits in the
//! last tile along them; [`Tiling::valid`] masks those out, so they are never
//! reached and cost only memory (none on the benchmark lattices, whose sizes
//! the chosen sides divide).
//!
//! ## Tile order: bricks
//!
//! Numbered row-major over the whole tile grid, a tile's neighbour along
//! the slowest axis is a whole layer of tiles away (1 MiB of state on 3-D
//! 1000³, where a 4 KiB page holds one row of tiles): the sweep's reads and
//! writes jump from page to page at almost every frontier tile, and the
//! prefetchers, which stay inside a page, cannot follow. So the grid is cut
//! into bricks of `brick[a]` tiles along each axis (a divisor of the axis's
//! tile count, so no padding), bricks are numbered row-major over the brick
//! grid and tiles row-major inside their brick. A tile index is then a
//! mixed-radix number whose digits are, least significant first, the tile's
//! coordinates inside its brick and its brick's coordinates ([`TilePos`]).
//! Inside a brick every neighbour is a few hundred bytes away; only the
//! moves out of a brick's faces jump far, one tile in `brick[a]`.
//!
//! Bricks only pay once the state outgrows the caches: below that every
//! neighbour is a cache hit whatever the order, and the brick arithmetic
//! (mixed-radix `advance` over twice the digits, a select per neighbour
//! step) cost the quick suite 10–40 % (docs/benchmarks.md, "Tile order:
//! bricks"). So [`Tiling::new`] numbers a lattice in bricks only when its
//! state exceeds [`BRICKS_FROM_BYTES`], and the sweep is compiled once per
//! order ([`TileOrder`]): [`RowMajor`] is the plain numbering, stepping
//! by `± tile_stride` with coordinates advanced digit by digit over the
//! grid, and pays nothing for bricks; [`Bricks`] walks [`TilePos`] digits.
//! The GPU kernels step by `± tile_stride` too (`device.rs`,
//! `gpu/kernels/bfs.cuh`), so the layout handed to them is always
//! [`Tiling::row_major`].
//!
//! Nothing outside this file computes a tile index: `locate`, the orders'
//! `start`, `advance` and neighbour steps, and `corner_of` do.

use crate::spec::{Lattice, MAX_DIMENSIONS};

/// Bits in a tile: one `u64` per plane of state.
pub(crate) const TILE_BITS: u32 = 64;

/// The tile layout of one lattice; built once per search, read by every worker.
#[derive(Debug, Clone)]
pub(crate) struct Tiling {
    /// Axis sizes, as u64.
    pub(crate) sizes: Vec<u64>,
    /// Vertex strides of the lattice (mixed radix, axis 0 least significant).
    pub(crate) strides: Vec<u64>,
    /// Whether each axis wraps around.
    pub(crate) wrap: Vec<bool>,
    /// log2 of the tile side along each axis.
    pub(crate) side_log: Vec<u32>,
    /// Bit offset of one step along each axis inside a tile (a power of two).
    pub(crate) bit_step: Vec<u32>,
    /// Bit offset from the first to the last plane of a full tile along each axis.
    pub(crate) span: Vec<u32>,
    /// Bit offset from the first plane to the plane of the lattice's last
    /// position along each axis, in the last tile along it.
    pub(crate) last_span: Vec<u32>,
    /// Tiles along each axis (`ceil(size / side)`).
    pub(crate) grid: Vec<u64>,
    /// Tile-index stride of each axis in row-major order (mixed radix over
    /// `grid`): the [`RowMajor`] steps, and what the GPU kernels get.
    pub(crate) tile_stride: Vec<u64>,
    /// Whether tiles are numbered in bricks of more than one tile
    /// (then the sweep runs [`Bricks`], else [`RowMajor`]).
    bricked: bool,
    /// Tiles per brick along each axis (a divisor of `grid`; 1 for row-major).
    pub(crate) brick: Vec<u64>,
    /// Bricks along each axis (`grid / brick`).
    bricks: Vec<u64>,
    /// Per axis: index distance of one tile step inside a brick.
    inner_stride: Vec<u64>,
    /// Per axis: index distance between the first tiles of two adjacent
    /// bricks; in a row-major tiling, the row-major tile stride.
    pub(crate) brick_stride: Vec<u64>,
    /// Per axis: index distance of one tile step out of a brick's last
    /// layer into the next brick's first.
    edge_step: Vec<u64>,
    /// Per axis: the part of the index of a tile that is last along it
    /// (how far the last tile along the axis is from the first).
    end_part: Vec<u64>,
    /// Number of tiles.
    pub(crate) tiles: u64,
    /// Number of vertices of the lattice.
    pub(crate) vertices: u64,
    /// Per axis: bits whose in-tile coordinate is not 0 (targets of a `+1` shift).
    pub(crate) not_first: Vec<u64>,
    /// Per axis: bits whose in-tile coordinate is not the tile's last.
    pub(crate) not_last: Vec<u64>,
    /// Per axis: bits on the tile's first plane.
    pub(crate) first_plane: Vec<u64>,
    /// Per axis: bits on the tile's last plane.
    pub(crate) last_plane: Vec<u64>,
    /// Per axis: bits on the plane of the lattice's last position, for the last tile.
    pub(crate) end_plane: Vec<u64>,
    /// Per axis: vertex-index distance between the corners of two tiles
    /// adjacent along it (`strides[a] << side_log[a]`).
    pub(crate) corner_step: Vec<u64>,
    /// Per bit: vertex-index offset of that bit's vertex from its tile's corner
    /// vertex (0 for bits beyond the tile's used bits).
    pub(crate) bit_offset: [u64; TILE_BITS as usize],
    /// Valid bits of a tile, indexed by the set of axes along which it is the last tile.
    valid_by_last: Vec<u64>,
}

impl Tiling {
    /// The CPU engine's tiling of `lattice`: tiles in bricks of about
    /// [`BRICK_SIDE`] tiles a side when its state is larger than
    /// [`BRICKS_FROM_BYTES`], row-major otherwise. Bricks pay where a tile's
    /// neighbours along the slow axes are far in memory (3-D 1000³:
    /// 1.4–1.8×); a state that stays in cache gains nothing from them and
    /// paid their per-tile bookkeeping (10–25 % on the quick suite,
    /// docs/benchmarks.md "Tile order: bricks").
    pub(crate) fn new(lattice: &Lattice) -> Self {
        Self::choose(lattice, BRICK_SIDE, BRICKS_FROM_BYTES)
    }

    /// Bricks of about `brick_side` tiles a side if the state is larger
    /// than `bricks_from_bytes`, row-major otherwise ([`Tiling::new`] with
    /// other thresholds: the engine's tests force bricks on tiny lattices).
    pub(crate) fn choose(lattice: &Lattice, brick_side: u64, bricks_from_bytes: u64) -> Self {
        let row_major = Self::row_major(lattice);
        if row_major.state_bytes() <= bricks_from_bytes || brick_side <= 1 {
            return row_major;
        }
        Self::with_brick_side(lattice, brick_side)
    }

    /// The tiling with tiles numbered row-major over the whole grid (bricks
    /// of one tile): the layout the GPU kernels share (`device.rs`).
    pub(crate) fn row_major(lattice: &Lattice) -> Self {
        Self::with_brick_side(lattice, 1)
    }

    /// Chooses the tile shape for `lattice`, bricks of about `brick_side`
    /// tiles a side ([`choose_bricks`]), and precomputes every mask.
    pub(crate) fn with_brick_side(lattice: &Lattice, brick_side: u64) -> Self {
        let sizes: Vec<u64> = lattice.sizes().iter().map(|&s| u64::from(s)).collect();
        let dims = sizes.len();
        let side_log = choose_sides(&sizes);
        let mut bit_step = Vec::with_capacity(dims);
        let mut offset = 0u32;
        for &log in &side_log {
            bit_step.push(1u32 << offset);
            offset += log;
        }
        let used_bits = 1u32 << offset;
        let used = if used_bits >= TILE_BITS {
            u64::MAX
        } else {
            (1u64 << used_bits) - 1
        };
        let side = |a: usize| 1u64 << side_log[a];
        let grid: Vec<u64> = (0..dims).map(|a| sizes[a].div_ceil(side(a))).collect();
        let tile_stride = running_products(&grid, 1);
        let tiles = grid.iter().product();
        let order = BrickOrder::new(&grid, choose_bricks(&grid, brick_side));
        let bricked = order.brick.iter().any(|&b| b > 1);
        // In-tile coordinate of bit `p` along axis `a`.
        let coord = |p: u32, a: usize| (u64::from(p) >> (offset_of(&side_log, a))) & (side(a) - 1);
        let plane_mask = |a: usize, pred: &dyn Fn(u64) -> bool| -> u64 {
            (0..used_bits)
                .filter(|&p| pred(coord(p, a)))
                .fold(0u64, |m, p| m | (1u64 << p))
        };
        let mut not_first = Vec::with_capacity(dims);
        let mut not_last = Vec::with_capacity(dims);
        let mut first_plane = Vec::with_capacity(dims);
        let mut last_plane = Vec::with_capacity(dims);
        let mut end_plane = Vec::with_capacity(dims);
        let mut span = Vec::with_capacity(dims);
        let mut last_span = Vec::with_capacity(dims);
        for a in 0..dims {
            let top = side(a) - 1;
            let end = (sizes[a] - 1) & top;
            not_first.push(plane_mask(a, &|c| c != 0));
            not_last.push(plane_mask(a, &|c| c != top));
            first_plane.push(plane_mask(a, &|c| c == 0));
            last_plane.push(plane_mask(a, &|c| c == top));
            end_plane.push(plane_mask(a, &|c| c == end));
            // Below 64: `top` and `end` are in-tile coordinates.
            span.push(bit_step[a] * top as u32);
            last_span.push(bit_step[a] * end as u32);
        }
        let valid_by_last = (0..1usize << dims)
            .map(|set| {
                (0..dims)
                    .filter(|&a| set & (1 << a) != 0)
                    .fold(used, |m, a| {
                        let end = (sizes[a] - 1) & (side(a) - 1);
                        m & plane_mask(a, &|c| c <= end)
                    })
            })
            .collect();
        let strides = lattice.strides().to_vec();
        let corner_step = (0..dims).map(|a| strides[a] << side_log[a]).collect();
        let mut bit_offset = [0u64; TILE_BITS as usize];
        for (p, slot) in bit_offset.iter_mut().enumerate().take(used_bits as usize) {
            *slot = (0..dims).map(|a| coord(p as u32, a) * strides[a]).sum();
        }
        Self {
            sizes,
            strides,
            wrap: lattice.wraps().to_vec(),
            side_log,
            bit_step,
            span,
            last_span,
            grid,
            tile_stride,
            bricked,
            brick: order.brick,
            bricks: order.bricks,
            inner_stride: order.inner_stride,
            brick_stride: order.brick_stride,
            edge_step: order.edge_step,
            end_part: order.end_part,
            tiles,
            vertices: lattice.vertex_count(),
            not_first,
            not_last,
            first_plane,
            last_plane,
            end_plane,
            corner_step,
            bit_offset,
            valid_by_last,
        }
    }

    /// Number of axes.
    pub(crate) fn dims(&self) -> usize {
        self.sizes.len()
    }

    /// Valid bits of a tile that is the last along the axes in `last_set`.
    #[inline]
    pub(crate) fn valid(&self, last_set: usize) -> u64 {
        self.valid_by_last[last_set]
    }

    /// Tile index and bit of vertex `v` (which must be below the vertex count).
    pub(crate) fn locate(&self, v: u64) -> (u64, u32) {
        let mut tile = 0u64;
        let mut bit = 0u32;
        for a in 0..self.dims() {
            let c = (v / self.strides[a]) % self.sizes[a];
            let t = c >> self.side_log[a];
            tile += if self.bricked {
                self.part(a, t)
            } else {
                t * self.tile_stride[a]
            };
            // Below the side, itself at most 64.
            bit += (c & ((1 << self.side_log[a]) - 1)) as u32 * self.bit_step[a];
        }
        (tile, bit)
    }

    /// The part of a tile's index that its coordinate `c` along axis `a` makes.
    fn part(&self, a: usize, c: u64) -> u64 {
        (c % self.brick[a]) * self.inner_stride[a] + (c / self.brick[a]) * self.brick_stride[a]
    }

    /// Whether tiles are numbered in bricks: which [`TileOrder`] the sweep runs.
    pub(crate) fn bricked(&self) -> bool {
        self.bricked
    }

    /// Index of the tile at `pos`.
    #[cfg(test)]
    pub(crate) fn index(&self, pos: &TilePos) -> u64 {
        (0..self.dims())
            .map(|a| pos.inner[a] * self.inner_stride[a] + pos.outer[a] * self.brick_stride[a])
            .sum()
    }

    /// The place of the tile at coordinates `coords` (one per axis).
    #[cfg(test)]
    pub(crate) fn pos_at(&self, coords: &[u64]) -> TilePos {
        let mut pos = TilePos::default();
        for (a, &c) in coords.iter().enumerate() {
            pos.inner[a] = c % self.brick[a];
            pos.outer[a] = c / self.brick[a];
            pos.coords[a] = c;
        }
        pos
    }

    /// The place of tile `t` (below the tile count) in the brick order.
    pub(crate) fn pos_of(&self, t: u64) -> TilePos {
        let mut pos = TilePos::default();
        let dims = self.dims();
        let mut rest = t;
        for (digit, &radix) in self.digits(&mut pos, dims) {
            *digit = rest % radix;
            rest /= radix;
        }
        for a in 0..dims {
            pos.coords[a] = pos.outer[a] * self.brick[a] + pos.inner[a];
        }
        pos
    }

    /// The digits of a tile index at `pos` with their radices, least
    /// significant first: the coordinates inside the brick, then the brick's.
    fn digits<'p>(
        &'p self,
        pos: &'p mut TilePos,
        dims: usize,
    ) -> impl Iterator<Item = (&'p mut u64, &'p u64)> {
        let TilePos { inner, outer, .. } = pos;
        (inner[..dims].iter_mut().zip(&self.brick))
            .chain(outer[..dims].iter_mut().zip(&self.bricks))
    }

    /// Moves `pos` forward by `delta` tiles in the brick order; cheap when
    /// the step is short, as between consecutive frontier tiles.
    #[inline]
    pub(crate) fn advance_pos(&self, pos: &mut TilePos, delta: u64) {
        let dims = self.dims();
        let mut carry = delta;
        for a in 0..dims {
            let radix = self.brick[a];
            carry = add_digit(&mut pos.inner[a], &mut pos.coords[a], 1, radix, carry);
            if carry == 0 {
                return;
            }
        }
        for a in 0..dims {
            let (weight, radix) = (self.brick[a], self.bricks[a]);
            carry = add_digit(&mut pos.outer[a], &mut pos.coords[a], weight, radix, carry);
            if carry == 0 {
                return;
            }
        }
    }

    /// The tile one step up axis `a` from `tile` (at `pos`) in the brick
    /// order, which must not be the last along it: the next tile of the
    /// brick, or across its face.
    #[inline]
    pub(crate) fn up(&self, tile: u64, pos: &TilePos, a: usize) -> u64 {
        tile + self.step(pos.inner[a] + 1 == self.brick[a], a)
    }

    /// Index distance of one tile step along axis `a`, across a brick face
    /// if `across`. A select, not a branch: which way it goes changes every
    /// few tiles, too often for the branch predictor.
    #[inline]
    fn step(&self, across: bool, a: usize) -> u64 {
        let (inside, edge) = (self.inner_stride[a], self.edge_step[a]);
        inside + u64::from(across) * (edge - inside)
    }

    /// The tile one step down axis `a` from `tile` (at `pos`) in the brick
    /// order, which must not be the first along it.
    #[inline]
    pub(crate) fn down(&self, tile: u64, pos: &TilePos, a: usize) -> u64 {
        tile - self.step(pos.inner[a] == 0, a)
    }

    /// The tile a wrapping step up axis `a` reaches from `tile`, the last
    /// along it, in the brick order: the first.
    #[inline]
    pub(crate) fn wrapped_up(&self, tile: u64, a: usize) -> u64 {
        tile - self.end_part[a]
    }

    /// The tile a wrapping step down axis `a` reaches from `tile`, the
    /// first along it, in the brick order: the last.
    #[inline]
    pub(crate) fn wrapped_down(&self, tile: u64, a: usize) -> u64 {
        tile + self.end_part[a]
    }

    /// Tile coordinate along axis `a` of the tile at `pos`.
    #[cfg(test)]
    pub(crate) fn coord(&self, pos: &TilePos, a: usize) -> u64 {
        pos.coords[a]
    }

    /// Vertex index of the corner (in-tile coordinates all 0) of the tile
    /// at tile coordinates `coords` (one per axis; extra entries ignored).
    #[inline]
    pub(crate) fn corner(&self, coords: &[u64]) -> u64 {
        coords
            .iter()
            .zip(&self.corner_step)
            .map(|(&c, &s)| c * s)
            .sum()
    }

    /// Vertex index of the corner of tile `tile`, in either order.
    pub(crate) fn corner_of(&self, tile: u64) -> u64 {
        if self.bricked {
            self.corner(&self.pos_of(tile).coords)
        } else {
            let mut coords = [0u64; MAX_DIMENSIONS];
            self.tile_coords(tile, &mut coords[..self.dims()]);
            self.corner(&coords)
        }
    }

    /// Row-major tile coordinates of tile `t`, written into `out` (one per axis).
    pub(crate) fn tile_coords(&self, t: u64, out: &mut [u64]) {
        let mut rest = t;
        for (slot, &g) in out.iter_mut().zip(&self.grid) {
            *slot = rest % g;
            rest /= g;
        }
    }

    /// Advances row-major tile coordinates `coords` by `delta` tiles;
    /// cheap when the step is short, as between consecutive frontier tiles.
    #[inline]
    pub(crate) fn advance(&self, coords: &mut [u64], delta: u64) {
        let mut carry = delta;
        for (slot, &g) in coords.iter_mut().zip(&self.grid) {
            let sum = *slot + carry;
            if sum < g {
                *slot = sum;
                return;
            }
            *slot = sum % g;
            carry = sum / g;
        }
    }

    /// The set of axes (bit per axis) along which the tile at `coords` is
    /// the last (extra entries of `coords` ignored).
    #[inline]
    pub(crate) fn last_set(&self, coords: &[u64]) -> usize {
        coords
            .iter()
            .zip(&self.grid)
            .enumerate()
            .fold(
                0,
                |set, (a, (&c, &g))| if c + 1 == g { set | (1 << a) } else { set },
            )
    }

    /// The tiles of one brick layer (the bricks at one coordinate along the
    /// slowest axis) are a contiguous range of indices holding the vertices
    /// of a contiguous range of vertex indices: tiles and vertices per layer.
    pub(crate) fn layer(&self) -> (u64, u64) {
        let last = self.dims() - 1;
        let tiles = self.brick_stride[last];
        let vertices = (self.brick[last] << self.side_log[last]) * self.strides[last];
        (tiles, vertices)
    }

    /// Number of brick layers (bricks along the slowest axis).
    pub(crate) fn layers(&self) -> u64 {
        self.bricks[self.dims() - 1]
    }

    /// Bytes of one plane pair per tile, times the tiles: the state array.
    pub(crate) fn state_bytes(&self) -> u64 {
        self.tiles.saturating_mul(16)
    }

    /// Words (of 64 tiles each) in a tile bitmap.
    pub(crate) fn bitmap_words(&self) -> u64 {
        self.tiles.div_ceil(64)
    }
}

/// Bricks of about this many tiles a side in the CPU engine's tiling: 125
/// tiles (2,000 bytes of state) in 3-D, where a step along the slowest axis
/// inside a brick is 400 bytes. Measured in docs/benchmarks.md ("Tile order").
pub(crate) const BRICK_SIDE: u64 = 5;

/// Smallest state (two bit planes, 16 bytes a tile) numbered in bricks:
/// 32 MiB, about this machine's last-level cache and the size beyond which
/// the cost model prices searches as uncached (shared/src/job/cost.rs).
pub(crate) const BRICKS_FROM_BYTES: u64 = 32 << 20;

/// Where a tile lies: the digits of its index (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TilePos {
    /// Per axis: the tile's coordinate inside its brick.
    inner: [u64; MAX_DIMENSIONS],
    /// Per axis: its brick's coordinate on the brick grid.
    outer: [u64; MAX_DIMENSIONS],
    /// Per axis: its coordinate on the tile grid (`outer · brick + inner`),
    /// kept beside the digits since the sweep reads it for every tile.
    coords: [u64; MAX_DIMENSIONS],
}

impl TilePos {
    /// The tile coordinates (one per axis, then zeros).
    #[inline]
    pub(crate) fn coords(&self) -> &[u64; MAX_DIMENSIONS] {
        &self.coords
    }
}

/// How the sweep walks tile indices: where a tile is, the next frontier
/// tile's place from the last one's, and a tile's neighbours. The sweep is
/// compiled once per order (`sweep.rs`), so the row-major one carries no
/// brick arithmetic at all (see the module doc).
pub(crate) trait TileOrder {
    /// A tile's place, kept from one frontier tile to the next.
    type Pos: Copy + Default;

    /// The place of tile `tile`.
    fn start(t: &Tiling, tile: u64) -> Self::Pos;

    /// Moves `pos` forward by `delta` tiles.
    fn advance(t: &Tiling, pos: &mut Self::Pos, delta: u64);

    /// The tile coordinates of `pos` (one per axis; extra entries are 0).
    fn coords(pos: &Self::Pos) -> &[u64; MAX_DIMENSIONS];

    /// The tile one step up axis `a` from `tile` (at `pos`, not the last along it).
    fn up(t: &Tiling, tile: u64, pos: &Self::Pos, a: usize) -> u64;

    /// The tile one step down axis `a` from `tile` (at `pos`, not the first along it).
    fn down(t: &Tiling, tile: u64, pos: &Self::Pos, a: usize) -> u64;

    /// The first tile along axis `a` from `tile`, the last along it (at coordinate `c`).
    fn wrapped_up(t: &Tiling, tile: u64, c: u64, a: usize) -> u64;

    /// The last tile along axis `a` from `tile`, the first along it.
    fn wrapped_down(t: &Tiling, tile: u64, a: usize) -> u64;
}

/// Tiles numbered row-major over the whole grid: steps of `± tile_stride`.
pub(crate) struct RowMajor;

impl TileOrder for RowMajor {
    type Pos = [u64; MAX_DIMENSIONS];

    #[inline]
    fn start(t: &Tiling, tile: u64) -> Self::Pos {
        let mut coords = [0u64; MAX_DIMENSIONS];
        t.tile_coords(tile, &mut coords);
        coords
    }

    #[inline]
    fn advance(t: &Tiling, pos: &mut Self::Pos, delta: u64) {
        t.advance(pos, delta);
    }

    #[inline]
    fn coords(pos: &Self::Pos) -> &[u64; MAX_DIMENSIONS] {
        pos
    }

    #[inline]
    fn up(t: &Tiling, tile: u64, _: &Self::Pos, a: usize) -> u64 {
        tile + t.tile_stride[a]
    }

    #[inline]
    fn down(t: &Tiling, tile: u64, _: &Self::Pos, a: usize) -> u64 {
        tile - t.tile_stride[a]
    }

    #[inline]
    fn wrapped_up(t: &Tiling, tile: u64, c: u64, a: usize) -> u64 {
        tile - c * t.tile_stride[a]
    }

    #[inline]
    fn wrapped_down(t: &Tiling, tile: u64, a: usize) -> u64 {
        tile + (t.grid[a] - 1) * t.tile_stride[a]
    }
}

/// Tiles numbered brick by brick (see the module doc).
pub(crate) struct Bricks;

impl TileOrder for Bricks {
    type Pos = TilePos;

    #[inline]
    fn start(t: &Tiling, tile: u64) -> TilePos {
        t.pos_of(tile)
    }

    #[inline]
    fn advance(t: &Tiling, pos: &mut TilePos, delta: u64) {
        t.advance_pos(pos, delta);
    }

    #[inline]
    fn coords(pos: &TilePos) -> &[u64; MAX_DIMENSIONS] {
        pos.coords()
    }

    #[inline]
    fn up(t: &Tiling, tile: u64, pos: &TilePos, a: usize) -> u64 {
        t.up(tile, pos, a)
    }

    #[inline]
    fn down(t: &Tiling, tile: u64, pos: &TilePos, a: usize) -> u64 {
        t.down(tile, pos, a)
    }

    #[inline]
    fn wrapped_up(t: &Tiling, tile: u64, _: u64, a: usize) -> u64 {
        t.wrapped_up(tile, a)
    }

    #[inline]
    fn wrapped_down(t: &Tiling, tile: u64, a: usize) -> u64 {
        t.wrapped_down(tile, a)
    }
}

/// Adds `carry` to `digit` (of radix `radix`), moving the tile coordinate
/// `coord` by `weight` per unit of the digit; returns the carry out.
#[inline]
fn add_digit(digit: &mut u64, coord: &mut u64, weight: u64, radix: u64, carry: u64) -> u64 {
    // Axes of bricks of one tile (all of a row-major tiling's) have a digit that is always 0.
    if radix == 1 {
        return carry;
    }
    let sum = *digit + carry;
    // A carry into the next digit is most often one: no division then.
    let (new, out) = if sum < radix {
        (sum, 0)
    } else if sum < 2 * radix {
        (sum - radix, 1)
    } else {
        (sum % radix, sum / radix)
    };
    *coord = *coord - *digit * weight + new * weight;
    *digit = new;
    out
}

/// The index arithmetic of one brick shape (see [`Tiling`]'s fields of the same names).
struct BrickOrder {
    brick: Vec<u64>,
    bricks: Vec<u64>,
    inner_stride: Vec<u64>,
    brick_stride: Vec<u64>,
    edge_step: Vec<u64>,
    end_part: Vec<u64>,
}

impl BrickOrder {
    /// Bricks of `brick[a]` tiles (each dividing `grid[a]`): row-major
    /// inside a brick, bricks row-major over the brick grid.
    fn new(grid: &[u64], brick: Vec<u64>) -> Self {
        let bricks: Vec<u64> = grid.iter().zip(&brick).map(|(&g, &b)| g / b).collect();
        let inner_stride = running_products(&brick, 1);
        let brick_stride = running_products(&bricks, brick.iter().product());
        let axes = brick
            .iter()
            .zip(&bricks)
            .zip(&inner_stride)
            .zip(&brick_stride);
        let (mut edge_step, mut end_part) = (Vec::new(), Vec::new());
        for (((&b, &n), &inner), &outer) in axes {
            edge_step.push(outer - (b - 1) * inner);
            end_part.push((b - 1) * inner + (n - 1) * outer);
        }
        Self {
            brick,
            bricks,
            inner_stride,
            brick_stride,
            edge_step,
            end_part,
        }
    }
}

/// The strides of a mixed-radix number of `radices` (least significant
/// first) whose unit is `unit`.
fn running_products(radices: &[u64], unit: u64) -> Vec<u64> {
    radices
        .iter()
        .scan(unit, |product, &r| {
            let stride = *product;
            *product *= r;
            Some(stride)
        })
        .collect()
}

/// Tiles per brick along each axis: the divisor of the axis's tile count
/// nearest `side` by ratio (ties to the larger), at most twice `side` so
/// that a brick stays small. No padding; an axis whose count has no such
/// divisor but 1 (a prime, say) is numbered row-major along it.
fn choose_bricks(grid: &[u64], side: u64) -> Vec<u64> {
    let off = |d: u64| (d as f64 / side as f64).max(side as f64 / d as f64);
    grid.iter()
        .map(|&g| {
            (1..=g.min(2 * side))
                .filter(|d| g % d == 0)
                .fold(1, |best, d| if off(d) <= off(best) { d } else { best })
        })
        .collect()
}

/// Bit offset of axis `a` inside a tile: the sum of the side logs of the axes before it.
fn offset_of(side_log: &[u32], a: usize) -> u32 {
    side_log[..a].iter().sum()
}

/// Tile side (log2) per axis: six doublings, each given to the axis where it
/// adds the least padding, ties to the axis with the most tiles left (so
/// cubes get cubic tiles), then the lowest axis. An axis never gets a side
/// beyond its size rounded up to a power of two; tiny lattices use fewer
/// than 64 bits.
fn choose_sides(sizes: &[u64]) -> Vec<u32> {
    let mut log = vec![0u32; sizes.len()];
    let padded = |log: &[u32]| -> f64 {
        sizes
            .iter()
            .zip(log)
            .map(|(&s, &l)| (s.div_ceil(1 << l) << l) as f64 / s as f64)
            .product()
    };
    for _ in 0..6 {
        let mut best: Option<(usize, f64, u64)> = None;
        for a in 0..sizes.len() {
            if (1u64 << (log[a] + 1)) > sizes[a].next_power_of_two() {
                continue;
            }
            log[a] += 1;
            let waste = padded(&log);
            log[a] -= 1;
            let room = sizes[a] >> log[a];
            let better = match best {
                None => true,
                Some((_, w, r)) => waste < w - 1e-12 || ((waste - w).abs() <= 1e-12 && room > r),
            };
            if better {
                best = Some((a, waste, room));
            }
        }
        match best {
            Some((a, _, _)) => log[a] += 1,
            None => break,
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LatticeError;

    #[test]
    fn benchmark_lattices_get_square_tiles_without_padding() -> Result<(), LatticeError> {
        assert_eq!(choose_sides(&[1000, 1000]), vec![3, 3]);
        assert_eq!(choose_sides(&[100, 100, 100]), vec![2, 2, 2]);
        assert_eq!(choose_sides(&[60, 60, 60, 60]), vec![2, 2, 1, 1]);
        let tiling = Tiling::new(&Lattice::uniform(3, 1000)?);
        assert_eq!(tiling.tiles, 250 * 250 * 250);
        assert_eq!(tiling.valid(0b111), u64::MAX);
        Ok(())
    }

    #[test]
    fn tiny_lattices_use_fewer_bits() {
        assert_eq!(choose_sides(&[2, 3]), vec![1, 2]);
        assert_eq!(choose_sides(&[5]), vec![3]);
    }

    /// Lattices whose tile grids have several bricks along every axis, some
    /// axes with padding bits, one with a prime tile count (no bricks).
    fn bricked_lattices() -> Result<Vec<Lattice>, LatticeError> {
        let wrapped = |sizes: Vec<u32>| -> Result<Lattice, LatticeError> {
            let wrap = vec![true; sizes.len()];
            Lattice::new(sizes)?.with_wrap(wrap)
        };
        Ok(vec![
            Lattice::new(vec![40, 24, 36])?,
            wrapped(vec![37, 23, 18])?,
            Lattice::new(vec![96, 50])?,
            wrapped(vec![30, 20, 7, 12])?,
            Lattice::new(vec![52, 8, 8])?,
            Lattice::new(vec![5, 3, 7])?,
        ])
    }

    /// The tilings of `lattice` the tests compare: row-major, small bricks,
    /// the engine's bricks (which [`Tiling::new`] uses only on large states).
    fn tilings(lattice: &Lattice) -> [Tiling; 3] {
        [
            Tiling::row_major(lattice),
            Tiling::with_brick_side(lattice, 2),
            Tiling::with_brick_side(lattice, BRICK_SIDE),
        ]
    }

    /// Walks every tile of `tiling` in index order with `O`: each place
    /// `advance` reaches is `start`'s, with the coordinates of the brick
    /// order's place (which is exact for any tiling), and a long jump
    /// lands where single steps do.
    fn walk_with<O: TileOrder>(tiling: &Tiling)
    where
        O::Pos: PartialEq + std::fmt::Debug,
    {
        let mut pos = O::start(tiling, 0);
        for t in 0..tiling.tiles {
            if t > 0 {
                O::advance(tiling, &mut pos, 1);
            }
            assert_eq!(pos, O::start(tiling, t), "tile {t}");
            assert_eq!(O::coords(&pos), tiling.pos_of(t).coords());
        }
        let mut far = O::start(tiling, 0);
        O::advance(tiling, &mut far, tiling.tiles - 1);
        assert_eq!(far, pos);
    }

    /// Checks `O`'s steps on `tiling` against the row-major neighbours
    /// (`row_major`: the same lattice's row-major tiling), mapped through
    /// their coordinates.
    fn steps_with<O: TileOrder>(row_major: &Tiling, tiling: &Tiling) {
        // The image of row-major tile `r`: the same coordinates in `tiling`.
        let dims = tiling.dims();
        let image = |r: u64| tiling.index(&tiling.pos_at(&row_major.pos_of(r).coords[..dims]));
        let mut stride = 1;
        for a in 0..tiling.dims() {
            let g = tiling.grid[a];
            for r in 0..tiling.tiles {
                let c = row_major.coord(&row_major.pos_of(r), a);
                let (t, pos) = (image(r), O::start(tiling, image(r)));
                if c + 1 < g {
                    assert_eq!(O::up(tiling, t, &pos, a), image(r + stride));
                } else {
                    assert_eq!(O::wrapped_up(tiling, t, c, a), image(r - c * stride));
                }
                if c > 0 {
                    assert_eq!(O::down(tiling, t, &pos, a), image(r - stride));
                } else {
                    let last = image(r + (g - 1) * stride);
                    assert_eq!(O::wrapped_down(tiling, t, a), last);
                }
            }
            stride *= g;
        }
    }

    #[test]
    fn bricks_divide_the_grid_near_the_side_asked() {
        assert_eq!(choose_bricks(&[250, 250, 250], 5), vec![5, 5, 5]);
        assert_eq!(choose_bricks(&[125, 25, 15, 30], 5), vec![5, 5, 5, 5]);
        assert_eq!(choose_bricks(&[8, 3, 2, 1], 5), vec![4, 3, 2, 1]);
        // A prime count stays row-major; a large one never gets one brick.
        assert_eq!(choose_bricks(&[251, 254, 12], 5), vec![1, 2, 6]);
        assert_eq!(choose_bricks(&[250, 7, 9], 2), vec![2, 1, 3]);
        assert_eq!(choose_bricks(&[250, 7, 9], 1), vec![1, 1, 1]);
    }

    #[test]
    fn row_major_is_the_plain_numbering() -> Result<(), LatticeError> {
        let tiling = Tiling::row_major(&Lattice::new(vec![40, 24, 36])?);
        assert_eq!(tiling.grid, vec![10, 6, 9]);
        assert_eq!(tiling.brick, vec![1, 1, 1]);
        assert_eq!(tiling.brick_stride, vec![1, 10, 60]);
        assert_eq!(tiling.tile_stride, tiling.brick_stride);
        assert!(!tiling.bricked());
        let bricked = Tiling::with_brick_side(&Lattice::new(vec![40, 24, 36])?, BRICK_SIDE);
        assert_eq!(bricked.brick, vec![5, 6, 3]);
        assert_eq!(bricked.tile_stride, vec![1, 10, 60]);
        assert!(bricked.bricked());
        Ok(())
    }

    #[test]
    fn bricks_only_beyond_the_threshold() -> Result<(), LatticeError> {
        // 16 bytes a tile: 3-D 100³ (25³ tiles, 250 KB) stays row-major,
        // 3-D 1000³ (250³ tiles, 250 MB) gets bricks of 5.
        assert!(!Tiling::new(&Lattice::uniform(3, 100)?).bricked());
        assert!(!Tiling::new(&Lattice::uniform(4, 60)?).bricked());
        let big = Tiling::new(&Lattice::uniform(3, 1000)?);
        assert_eq!(big.brick, vec![5, 5, 5]);
        assert!(big.bricked());
        // The tests' thresholds: bricks on any lattice, or never.
        let small = Lattice::new(vec![40, 24, 36])?;
        assert!(Tiling::choose(&small, 2, 0).bricked());
        assert!(!Tiling::choose(&small, 1, 0).bricked());
        // A grid with no divisor near the side asked (7×7 tiles) has only
        // bricks of one tile: row-major.
        let prime = Tiling::choose(&Lattice::new(vec![56, 56])?, 2, 0);
        assert_eq!(prime.grid, vec![7, 7]);
        assert!(!prime.bricked());
        Ok(())
    }

    #[test]
    fn tile_order_is_a_bijection_walked_by_advance() -> Result<(), LatticeError> {
        for lattice in bricked_lattices()? {
            for tiling in tilings(&lattice) {
                let mut pos = tiling.pos_of(0);
                assert_eq!(pos, TilePos::default());
                let mut seen = vec![false; tiling.tiles as usize];
                for t in 0..tiling.tiles {
                    if t > 0 {
                        tiling.advance_pos(&mut pos, 1);
                    }
                    assert_eq!(pos, tiling.pos_of(t), "{lattice:?} tile {t}");
                    assert_eq!(tiling.index(&pos), t);
                    let coords: Vec<u64> =
                        (0..tiling.dims()).map(|a| tiling.coord(&pos, a)).collect();
                    assert!(coords.iter().zip(&tiling.grid).all(|(c, g)| c < g));
                    let row_major: u64 = coords
                        .iter()
                        .rev()
                        .zip(tiling.grid.iter().rev())
                        .fold(0, |i, (c, g)| i * g + c);
                    assert!(!std::mem::replace(&mut seen[row_major as usize], true));
                    assert_eq!(tiling.pos_at(&coords), pos);
                }
                // Long jumps land where single steps do.
                let mut far = tiling.pos_of(0);
                tiling.advance_pos(&mut far, tiling.tiles - 1);
                assert_eq!(far, pos);
                // The orders the sweep runs: bricks on any tiling, row-major on its own.
                walk_with::<Bricks>(&tiling);
                if !tiling.bricked() {
                    walk_with::<RowMajor>(&tiling);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn steps_reach_the_images_of_the_row_major_neighbours() -> Result<(), LatticeError> {
        for lattice in bricked_lattices()? {
            let [row_major, small, engine] = tilings(&lattice);
            for tiling in [&row_major, &small, &engine] {
                steps_with::<Bricks>(&row_major, tiling);
                if !tiling.bricked() {
                    steps_with::<RowMajor>(&row_major, tiling);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn locate_is_a_bijection_onto_valid_bits() -> Result<(), LatticeError> {
        for lattice in bricked_lattices()? {
            for tiling in tilings(&lattice) {
                let mut seen = std::collections::HashSet::new();
                for v in 0..lattice.vertex_count() {
                    let (tile, bit) = tiling.locate(v);
                    assert!(tile < tiling.tiles);
                    let pos = tiling.pos_of(tile);
                    assert_ne!(tiling.valid(tiling.last_set(pos.coords())) & (1 << bit), 0);
                    assert!(seen.insert((tile, bit)));
                    let corner = tiling.corner_of(tile);
                    assert_eq!(tiling.corner(pos.coords()), corner);
                    assert_eq!(corner + tiling.bit_offset[bit as usize], v);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn a_brick_layer_holds_a_contiguous_range_of_vertices() -> Result<(), LatticeError> {
        for lattice in bricked_lattices()? {
            for tiling in tilings(&lattice) {
                let (tiles, vertices) = tiling.layer();
                assert_eq!(tiles * tiling.layers(), tiling.tiles);
                for v in 0..lattice.vertex_count() {
                    assert_eq!(tiling.locate(v).0 / tiles, v / vertices, "{lattice:?} {v}");
                }
            }
        }
        Ok(())
    }
}
