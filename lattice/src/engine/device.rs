//! The fast engine's tile layout handed to another executor of the same
//! search: the GPU kernels of `catalytic-gpu` run this engine's level step
//! (same tiles, same 2-bit states, same moves as `sweep.rs::expand`), so their
//! states hold the same distances as this engine's and [`walk_canonical`]
//! walks them. Their tiles are always numbered row-major
//! ([`Tiling::row_major`], the kernels step by `± tile_stride`); the CPU
//! numbers a state larger than the caches brick by brick (`tiling.rs`). The
//! [`Levels`] carry their tiling, so every answer read from them is the same.
//!
//! Everything a kernel needs is flattened into one `u64` array, whose layout
//! is a contract with `gpu/kernels/bfs.cuh` (keep the two in step):
//!
//! ```text
//! [0] dims   [1] tiles
//! [2 + 13a + k] for axis a, k = bit_step, span, last_span, grid, tile_stride,
//!               not_first, not_last, first_plane, last_plane, end_plane, wrap,
//!               shift (log2 of bit_step), vertex_stride
//! [2 + 13·dims + set] valid bits of a tile that is last along the axes in `set`
//! ```
//!
//! The blocked mask is per tile, in the state's layout. [`DeviceLayout::new`]
//! builds it on the host; [`DeviceLayout::deferring_seeded`] leaves a seeded
//! rule to the executor, which computes the mask where it runs (a GPU does
//! 10⁸ splitmix64s in about a millisecond; the host's cores take far longer,
//! and the copy is saved). The last two axis entries are there for that.
//!
//! [`walk_canonical`]: crate::walk_canonical

use super::Levels;
use super::sweep::blocked_mask;
use super::tiling::Tiling;
use crate::spec::{Lattice, SeededRule};

/// Entries per axis in [`DeviceLayout::params`].
pub const PARAMS_PER_AXIS: usize = 13;

/// A lattice's tiling, flattened for a kernel, with its blocked mask or the
/// rule to compute it.
#[derive(Debug, Clone)]
pub struct DeviceLayout {
    tiling: Tiling,
    params: Vec<u64>,
    mask: Mask,
}

/// The blocked bits a layout holds: [`DeviceMask`], owned.
#[derive(Debug, Clone)]
enum Mask {
    Open,
    Words(Vec<u64>),
    Seeded(SeededRule),
}

impl Mask {
    /// The mask built on the host (Open when nothing is blocked).
    fn built(lattice: &Lattice, tiling: &Tiling) -> Self {
        blocked_mask(lattice, tiling).map_or(Mask::Open, Mask::Words)
    }
}

/// Where an executor gets a layout's blocked bits per tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMask<'a> {
    /// Nothing is blocked.
    Open,
    /// The mask, built on the host.
    Words(&'a [u64]),
    /// The executor computes the mask: bit `b` of tile `t` is blocked iff the
    /// rule blocks its vertex (the params give the vertex of every bit).
    Seeded(SeededRule),
}

impl DeviceLayout {
    /// Lays `lattice` out as the fast engine would, building the per-tile
    /// blocked mask when anything is blocked (on the rayon pool).
    pub fn new(lattice: &Lattice) -> Self {
        let mut layout = Self::deferring_seeded(lattice);
        if let Mask::Seeded(_) = layout.mask {
            layout.mask = Mask::built(lattice, &layout.tiling);
        }
        layout
    }

    /// As [`DeviceLayout::new`], but a seeded rule is left to the executor
    /// ([`DeviceMask::Seeded`]); an explicit list is still built here.
    pub fn deferring_seeded(lattice: &Lattice) -> Self {
        let tiling = Tiling::row_major(lattice);
        let dims = tiling.dims();
        let mut params = Vec::with_capacity(2 + dims * PARAMS_PER_AXIS + (1 << dims));
        params.extend([dims as u64, tiling.tiles]);
        for a in 0..dims {
            params.extend([
                u64::from(tiling.bit_step[a]),
                u64::from(tiling.span[a]),
                u64::from(tiling.last_span[a]),
                tiling.grid[a],
                tiling.tile_stride[a],
                tiling.not_first[a],
                tiling.not_last[a],
                tiling.first_plane[a],
                tiling.last_plane[a],
                tiling.end_plane[a],
                u64::from(tiling.wrap[a]),
                u64::from(tiling.bit_step[a].trailing_zeros()),
                tiling.strides[a],
            ]);
        }
        params.extend((0..1usize << dims).map(|set| tiling.valid(set)));
        let mask = match lattice.seeded_rule() {
            Some(rule) => Mask::Seeded(rule),
            None => Mask::built(lattice, &tiling),
        };
        Self {
            tiling,
            params,
            mask,
        }
    }

    /// The flattened layout (see the module docs).
    pub fn params(&self) -> &[u64] {
        &self.params
    }

    /// Number of tiles: the state holds two words per tile.
    pub fn tiles(&self) -> u64 {
        self.tiling.tiles
    }

    /// The blocked bits per tile, or how to compute them.
    pub fn mask(&self) -> DeviceMask<'_> {
        match &self.mask {
            Mask::Open => DeviceMask::Open,
            Mask::Words(words) => DeviceMask::Words(words),
            Mask::Seeded(rule) => DeviceMask::Seeded(*rule),
        }
    }

    /// Tile and bit mask of vertex `v`, or None past the last vertex.
    pub fn locate(&self, v: u64) -> Option<(u64, u64)> {
        (v < self.tiling.vertices).then(|| {
            let (tile, bit) = self.tiling.locate(v);
            (tile, 1u64 << bit)
        })
    }

    /// Whether vertex `v` exists and is not blocked: a search from it reaches something.
    pub fn is_open(&self, v: u64) -> bool {
        match (self.locate(v), self.mask()) {
            (None, _) => false,
            (Some(_), DeviceMask::Open) => true,
            (Some((tile, mask)), DeviceMask::Words(blocked)) => blocked[tile as usize] & mask == 0,
            (Some(_), DeviceMask::Seeded(rule)) => !rule.blocks(v),
        }
    }

    /// Bytes of the state (two words per tile).
    pub fn state_bytes(&self) -> u64 {
        self.tiling.state_bytes()
    }

    /// The result of a search run elsewhere: `state` (two words per tile,
    /// plane 0 then plane 1, codes as in `sweep.rs`) and the vertices
    /// labelled at each distance. `peak_bytes`: what the executor held.
    pub fn into_levels(
        self,
        state: Vec<[u64; 2]>,
        level_sizes: Vec<u64>,
        peak_bytes: u64,
    ) -> Levels {
        Levels {
            tiling: self.tiling,
            state,
            reached: level_sizes.iter().sum(),
            level_sizes,
            peak_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Blocked, LatticeError};

    #[test]
    fn params_follow_the_documented_layout() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![5, 3, 7])?;
        let layout = DeviceLayout::new(&lattice);
        let p = layout.params();
        assert_eq!(p.len(), 2 + 3 * PARAMS_PER_AXIS + 8);
        assert_eq!((p[0], p[1]), (3, layout.tiles()));
        let tiling = Tiling::row_major(&lattice);
        let mut tile_stride = 1;
        for a in 0..3 {
            let axis = &p[2 + a * PARAMS_PER_AXIS..2 + (a + 1) * PARAMS_PER_AXIS];
            assert_eq!(axis[0], u64::from(tiling.bit_step[a]));
            assert_eq!(axis[3], tiling.grid[a]);
            assert_eq!(axis[4], tile_stride);
            tile_stride *= tiling.grid[a];
            assert_eq!(axis[9], tiling.end_plane[a]);
            assert_eq!(1 << axis[11], axis[0]);
            assert_eq!(axis[12], tiling.strides[a]);
        }
        assert_eq!(p[2 + 3 * PARAMS_PER_AXIS + 7], tiling.valid(7));
        assert_eq!(layout.mask(), DeviceMask::Open);
        Ok(())
    }

    #[test]
    fn kernels_get_row_major_tiles_where_the_cpu_uses_bricks() -> Result<(), LatticeError> {
        // 250 tiles a side, 250 MB of state: the CPU engine numbers them in bricks of 5.
        let lattice = Lattice::uniform(3, 1000)?;
        assert_eq!(Tiling::new(&lattice).brick, vec![5, 5, 5]);
        let layout = DeviceLayout::deferring_seeded(&lattice);
        let p = layout.params();
        let tile_strides: Vec<u64> = (0..3).map(|a| p[2 + a * PARAMS_PER_AXIS + 4]).collect();
        assert_eq!(tile_strides, vec![1, 250, 62_500]);
        // The vertex at tile (1, 2, 3), bit (1, 1, 1) of 4×4×4.
        let v = lattice.index_of(&[5, 9, 13])?;
        let bit = 1 + 4 + 16;
        assert_eq!(layout.locate(v), Some((1 + 2 * 250 + 3 * 62_500, 1 << bit)));
        Ok(())
    }

    #[test]
    fn a_seeded_rule_is_deferred_only_when_asked() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![9, 7])?.with_blocked(Blocked::Seeded {
            fraction: 0.3,
            seed: 5,
        })?;
        let built = DeviceLayout::new(&lattice);
        let deferred = DeviceLayout::deferring_seeded(&lattice);
        assert!(matches!(built.mask(), DeviceMask::Words(_)));
        let rule = lattice.seeded_rule().ok_or(LatticeError::TooLarge)?;
        assert_eq!(deferred.mask(), DeviceMask::Seeded(rule));
        for v in 0..64 {
            let open = v < 63 && !lattice.is_blocked(v);
            assert_eq!(built.is_open(v), open, "{v}");
            assert_eq!(deferred.is_open(v), open, "{v}");
        }
        let listed = lattice.with_blocked(Blocked::Explicit(vec![2]))?;
        assert!(matches!(
            DeviceLayout::deferring_seeded(&listed).mask(),
            DeviceMask::Words(_)
        ));
        Ok(())
    }

    #[test]
    fn blocked_vertices_are_not_open() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![4, 4])?.with_blocked(Blocked::Explicit(vec![1]))?;
        let layout = DeviceLayout::new(&lattice);
        assert!(layout.is_open(0));
        assert!(!layout.is_open(1));
        assert!(!layout.is_open(16));
        Ok(())
    }
}
