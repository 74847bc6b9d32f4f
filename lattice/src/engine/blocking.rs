//! How a search tells blocked vertices from open ones, chosen once per
//! search and compiled into the sweep (`sweep.rs` is generic over
//! [`Blocking`], so an open lattice pays nothing for blocking).
//!
//! - [`Open`]: nothing is blocked.
//! - [`Bitmap`]: an explicit list, expanded into one bit per vertex in the
//!   state's layout (0.125 bytes per vertex) by [`blocked_mask`].
//! - [`Seeded`]: the seeded rule of `spec.rs`, evaluated in `deposit` for
//!   exactly the bits about to be labelled, so no mask is held. Each move
//!   carries its target tile's corner vertex ([`Blocking::Corner`]), derived
//!   in `expand` from the expanding tile's corner by one axis step; a bit's
//!   vertex is that corner plus `Tiling::bit_offset`. An open vertex is
//!   hashed once (when it is labelled), a blocked one once per reached
//!   neighbour, since nothing remembers it.

use rayon::prelude::*;

use crate::engine::tiling::{Bricks, RowMajor, TILE_BITS, TileOrder, Tiling};
use crate::spec::{Blocked, Lattice, MAX_DIMENSIONS, SeededRule, splitmix64};

/// A blocking strategy of the sweep.
pub(crate) trait Blocking: Sync {
    /// What a move carries so that [`Blocking::open`] can find its vertices:
    /// nothing, or the target tile's corner vertex.
    type Corner: Copy + Send + Sync;

    /// The corner of the tile at `coords`.
    fn corner(&self, tiling: &Tiling, coords: &[u64]) -> Self::Corner;

    /// The corner of the tile `n` tiles along axis `a` from the tile of
    /// `corner`, upwards when `up` (the target must be a tile).
    fn step(&self, corner: Self::Corner, a: usize, n: u64, up: bool) -> Self::Corner;

    /// The open ones among `bits` of `tile` (whose corner is `corner`).
    fn open(&self, tile: u64, corner: Self::Corner, bits: u64) -> u64;

    /// Heap bytes the strategy holds.
    fn bytes(&self) -> u64;
}

/// A strategy that needs only the tile to tell blocked bits: its moves carry no corner.
pub(crate) trait TileMask: Sync {
    /// The open ones among `bits` of `tile`.
    fn open_in(&self, tile: u64, bits: u64) -> u64;

    /// Heap bytes the strategy holds.
    fn held(&self) -> u64;
}

impl<M: TileMask> Blocking for M {
    type Corner = ();

    #[inline]
    fn corner(&self, _: &Tiling, _: &[u64]) {}

    #[inline]
    fn step(&self, _: (), _: usize, _: u64, _: bool) {}

    #[inline]
    fn open(&self, tile: u64, _: (), bits: u64) -> u64 {
        self.open_in(tile, bits)
    }

    fn bytes(&self) -> u64 {
        self.held()
    }
}

/// Nothing is blocked.
pub(crate) struct Open;

impl TileMask for Open {
    #[inline]
    fn open_in(&self, _: u64, bits: u64) -> u64 {
        bits
    }

    fn held(&self) -> u64 {
        0
    }
}

/// Blocked bits per tile, in the state's layout.
pub(crate) struct Bitmap(pub(crate) Vec<u64>);

impl TileMask for Bitmap {
    #[inline]
    fn open_in(&self, tile: u64, bits: u64) -> u64 {
        bits & !self.0[tile as usize]
    }

    fn held(&self) -> u64 {
        self.0.len() as u64 * 8
    }
}

/// The seeded rule, evaluated per candidate bit.
pub(crate) struct Seeded {
    rule: SeededRule,
    /// Copies of the tiling's `corner_step` and `bit_offset`, beside the rule.
    corner_step: [u64; MAX_DIMENSIONS],
    bit_offset: [u64; TILE_BITS as usize],
}

impl Seeded {
    pub(crate) fn new(rule: SeededRule, tiling: &Tiling) -> Self {
        let mut corner_step = [0u64; MAX_DIMENSIONS];
        corner_step[..tiling.dims()].copy_from_slice(&tiling.corner_step);
        Self {
            rule,
            corner_step,
            bit_offset: tiling.bit_offset,
        }
    }

    /// The bits of `bits` whose vertices (tile corner `corner`) the rule blocks.
    #[inline]
    fn blocked(&self, corner: u64, bits: u64) -> u64 {
        // Tested once here rather than per bit (`SeededRule::blocks`): the loop is the hot path.
        if self.rule.all {
            return bits;
        }
        let (seed, below) = (self.rule.seed, self.rule.below);
        let mut blocked = 0u64;
        let mut rest = bits;
        while rest != 0 {
            let bit = rest.trailing_zeros();
            rest &= rest - 1;
            let v = corner + self.bit_offset[bit as usize];
            blocked |= u64::from(splitmix64(seed ^ v) < below) << bit;
        }
        blocked
    }
}

impl Blocking for Seeded {
    type Corner = u64;

    #[inline]
    fn corner(&self, tiling: &Tiling, coords: &[u64]) -> u64 {
        tiling.corner(coords)
    }

    #[inline]
    fn step(&self, corner: u64, a: usize, n: u64, up: bool) -> u64 {
        let delta = n * self.corner_step[a];
        if up { corner + delta } else { corner - delta }
    }

    #[inline]
    fn open(&self, _: u64, corner: u64, bits: u64) -> u64 {
        bits & !self.blocked(corner, bits)
    }

    fn bytes(&self) -> u64 {
        0
    }
}

/// Builds the blocked mask per tile, or None when nothing is blocked: a
/// seeded rule evaluated per valid bit (rayon over tiles), an explicit list
/// scattered entry by entry.
pub(crate) fn blocked_mask(lattice: &Lattice, tiling: &Tiling) -> Option<Vec<u64>> {
    if !lattice.has_blocking() {
        return None;
    }
    let mut mask = vec![0u64; tiling.tiles as usize];
    match (lattice.seeded_rule(), lattice.blocked()) {
        (Some(rule), _) => seeded_mask(&Seeded::new(rule, tiling), tiling, &mut mask),
        (None, Blocked::Explicit(indices)) => {
            for &v in indices {
                let (tile, bit) = tiling.locate(v);
                mask[tile as usize] |= 1 << bit;
            }
        }
        (None, _) => {}
    }
    Some(mask)
}

/// Fills `mask` with the bits `seeded` blocks, chunks of tiles in parallel.
fn seeded_mask(seeded: &Seeded, tiling: &Tiling, mask: &mut [u64]) {
    if tiling.bricked() {
        seeded_mask_in::<Bricks>(seeded, tiling, mask);
    } else {
        seeded_mask_in::<RowMajor>(seeded, tiling, mask);
    }
}

/// [`seeded_mask`] walking the tiles in order `O`, the tiling's.
fn seeded_mask_in<O: TileOrder>(seeded: &Seeded, tiling: &Tiling, mask: &mut [u64]) {
    const CHUNK: usize = 4096;
    mask.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(chunk, words)| {
            let mut pos = O::start(tiling, (chunk * CHUNK) as u64);
            for (i, word) in words.iter_mut().enumerate() {
                if i > 0 {
                    O::advance(tiling, &mut pos, 1);
                }
                let coords = O::coords(&pos);
                let valid = tiling.valid(tiling.last_set(coords));
                *word = seeded.blocked(tiling.corner(coords), valid);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LatticeError;

    /// The mask built vertex by vertex through `Tiling::locate`: what
    /// `blocked_mask` computed before it used the offset table.
    fn mask_by_vertex(lattice: &Lattice, tiling: &Tiling) -> Vec<u64> {
        let mut mask = vec![0u64; tiling.tiles as usize];
        for v in (0..lattice.vertex_count()).filter(|&v| lattice.is_blocked(v)) {
            let (tile, bit) = tiling.locate(v);
            mask[tile as usize] |= 1 << bit;
        }
        mask
    }

    #[test]
    fn mask_equals_the_vertex_by_vertex_mask() -> Result<(), LatticeError> {
        for sizes in [
            vec![5],
            vec![130, 3],
            vec![9, 7],
            vec![5, 3, 7],
            vec![2, 9, 2, 9],
            vec![3, 4, 5, 3, 2, 3],
            vec![70, 70],
            // Several chunks of `seeded_mask`, each starting mid-grid.
            vec![600, 600],
        ] {
            let lattice = Lattice::new(sizes)?;
            // Both tile orders: bricks of about two tiles where the grid allows.
            for tiling in [
                Tiling::row_major(&lattice),
                Tiling::with_brick_side(&lattice, 2),
            ] {
                check_masks(&lattice, &tiling)?;
            }
        }
        Ok(())
    }

    /// Checks [`blocked_mask`] on `lattice` (open) laid out as `tiling`, with
    /// a seeded rule and with an explicit list.
    fn check_masks(lattice: &Lattice, tiling: &Tiling) -> Result<(), LatticeError> {
        assert_eq!(blocked_mask(lattice, tiling), None);
        let n = lattice.vertex_count();
        for blocked in [
            Blocked::Seeded {
                fraction: 0.3,
                seed: 11,
            },
            Blocked::Seeded {
                fraction: 1.0,
                seed: 3,
            },
            Blocked::Explicit(vec![0, n / 2, n - 1]),
        ] {
            let lattice = lattice.clone().with_blocked(blocked)?;
            let mask = blocked_mask(&lattice, tiling);
            assert_eq!(mask, Some(mask_by_vertex(&lattice, tiling)), "{lattice:?}");
        }
        Ok(())
    }

    #[test]
    fn seeded_steps_reach_the_neighbouring_corner() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![9, 7, 5])?.with_blocked(Blocked::Seeded {
            fraction: 0.5,
            seed: 1,
        })?;
        let tiling = Tiling::new(&lattice);
        let rule = lattice.seeded_rule().ok_or(LatticeError::TooLarge)?;
        let seeded = Seeded::new(rule, &tiling);
        let mut coords = vec![0u64; 3];
        let mut moved = vec![0u64; 3];
        for tile in 0..tiling.tiles {
            tiling.tile_coords(tile, &mut coords);
            let corner = seeded.corner(&tiling, &coords);
            for a in 0..3 {
                let n = tiling.grid[a] - 1 - coords[a];
                moved.copy_from_slice(&coords);
                moved[a] += n;
                let far = seeded.step(corner, a, n, true);
                assert_eq!(far, tiling.corner(&moved));
                assert_eq!(seeded.step(far, a, n, false), corner);
            }
        }
        Ok(())
    }
}
