//! The geometry of a quarter-turn rotation: where each vertex goes and how the
//! vertices fall into orbits. Shared by the plain and the catalytic rotate.
//!
//! Only the two plane components of a vertex change, so its image is found
//! from two strides with no coordinate vector: rotating allocates nothing.

use super::TransformError;
use crate::spec::Lattice;

/// A validated rotation: `turns` (0..4) quarter turns in the plane of two
/// distinct axes of equal `size`.
#[derive(Debug, Clone, Copy)]
pub(super) struct QuarterTurns {
    /// Stride of the axis whose positive direction turns into the other's.
    stride_a: u64,
    /// Stride of the second axis.
    stride_b: u64,
    /// The common size of both axes.
    size: u64,
    /// Quarter turns, already reduced mod 4.
    turns: u8,
}

impl QuarterTurns {
    /// Checks the axes (each in range, distinct, equal sizes); reduces the turns mod 4.
    pub(super) fn new(
        lattice: &Lattice,
        axes: [usize; 2],
        quarter_turns: u8,
    ) -> Result<Self, TransformError> {
        let dimensions = lattice.dimensions();
        if let Some(&axis) = axes.iter().find(|&&axis| axis >= dimensions) {
            return Err(TransformError::RotateAxis { axis, dimensions });
        }
        let [a, b] = axes;
        if a == b {
            return Err(TransformError::RotateSameAxis);
        }
        let sizes = [lattice.sizes()[a], lattice.sizes()[b]];
        if sizes[0] != sizes[1] {
            return Err(TransformError::RotateUnequalSizes { axes, sizes });
        }
        Ok(Self {
            stride_a: lattice.strides()[a],
            stride_b: lattice.strides()[b],
            size: u64::from(sizes[0]),
            turns: quarter_turns % 4,
        })
    }

    /// Where the element at vertex `index` moves: `(u, v) -> (m-1-v, u)` per turn.
    pub(super) fn image(&self, index: u64) -> u64 {
        let m = self.size;
        let u = (index / self.stride_a) % m;
        let v = (index / self.stride_b) % m;
        let rest = index - u * self.stride_a - v * self.stride_b;
        let (u, v) = match self.turns {
            0 => (u, v),
            1 => (m - 1 - v, u),
            2 => (m - 1 - u, m - 1 - v),
            _ => (v, m - 1 - u),
        };
        rest + u * self.stride_a + v * self.stride_b
    }

    /// Number of orbits longer than one element among `vertex_count` vertices.
    ///
    /// In each `m×m` plane a half turn fixes only the centre (odd `m`) and
    /// pairs the rest; a quarter turn fixes the same centre and groups the rest
    /// in fours (a point fixed by a quarter turn is fixed by the half turn).
    pub(super) fn moving_orbits(&self, vertex_count: u64) -> u64 {
        let m = self.size;
        let planes = vertex_count / (m * m);
        let moving = m * m - m % 2;
        let per_plane = match self.turns {
            0 => 0,
            2 => moving / 2,
            _ => moving / 4,
        };
        planes * per_plane
    }
}
