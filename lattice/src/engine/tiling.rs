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

use crate::spec::Lattice;

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
    /// Tile-index stride of each axis (mixed radix over `grid`).
    pub(crate) tile_stride: Vec<u64>,
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
    /// Chooses the tile shape for `lattice` and precomputes every mask.
    pub(crate) fn new(lattice: &Lattice) -> Self {
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
        let mut tile_stride = Vec::with_capacity(dims);
        let mut tiles = 1u64;
        for &g in &grid {
            tile_stride.push(tiles);
            tiles *= g;
        }
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
            tile += (c >> self.side_log[a]) * self.tile_stride[a];
            // Below the side, itself at most 64.
            bit += (c & ((1 << self.side_log[a]) - 1)) as u32 * self.bit_step[a];
        }
        (tile, bit)
    }

    /// Vertex index of the corner (in-tile coordinates all 0) of the tile at `coords`.
    #[inline]
    pub(crate) fn corner(&self, coords: &[u64]) -> u64 {
        coords
            .iter()
            .zip(&self.corner_step)
            .map(|(&c, &s)| c * s)
            .sum()
    }

    /// Tile coordinates of tile `t`, written into `out` (one per axis).
    pub(crate) fn tile_coords(&self, t: u64, out: &mut [u64]) {
        let mut rest = t;
        for (slot, &g) in out.iter_mut().zip(&self.grid) {
            *slot = rest % g;
            rest /= g;
        }
    }

    /// Advances tile coordinates `coords` of tile `from` to those of tile `to > from`;
    /// cheap when the two are close, as consecutive frontier tiles are.
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

    /// The set of axes (bit per axis) along which the tile at `coords` is the last.
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

    /// Bytes of one plane pair per tile, times the tiles: the state array.
    pub(crate) fn state_bytes(&self) -> u64 {
        self.tiles.saturating_mul(16)
    }

    /// Words (of 64 tiles each) in a tile bitmap.
    pub(crate) fn bitmap_words(&self) -> u64 {
        self.tiles.div_ceil(64)
    }
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

    #[test]
    fn locate_is_a_bijection_onto_valid_bits() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![5, 3, 7])?;
        let tiling = Tiling::new(&lattice);
        let mut seen = std::collections::HashSet::new();
        let mut coords = vec![0; 3];
        for v in 0..lattice.vertex_count() {
            let (tile, bit) = tiling.locate(v);
            assert!(tile < tiling.tiles);
            tiling.tile_coords(tile, &mut coords);
            assert_ne!(tiling.valid(tiling.last_set(&coords)) & (1 << bit), 0);
            assert!(seen.insert((tile, bit)));
            assert_eq!(tiling.corner(&coords) + tiling.bit_offset[bit as usize], v);
        }
        Ok(())
    }
}
