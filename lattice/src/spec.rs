//! The validated shape of a lattice and the errors that reject a bad one.
//!
//! A [`Lattice`] is built once, through [`Lattice::new`] or [`Lattice::uniform`],
//! and cannot hold bad data afterwards: 1..=[`MAX_DIMENSIONS`] axes, each of
//! size at least [`MIN_SIZE`], and a vertex count that fits in a `u64`. The
//! mixed-radix strides are computed here, once, so that index arithmetic in
//! `index.rs` and the BFS in `bfs.rs` never recompute them. Wrap-around and
//! blocked vertices (design §2) are not modelled yet; they will be added here
//! as further validated fields.

/// Most axes a lattice may have (design §2).
pub const MAX_DIMENSIONS: usize = 10;

/// Smallest size of any axis (design §2): a size-1 axis adds nothing but confusion.
pub const MIN_SIZE: u32 = 2;

/// Why a lattice or a coordinate was rejected. Each variant names the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LatticeError {
    /// The number of axes is 0 or more than [`MAX_DIMENSIONS`].
    #[error("dimensions must be between 1 and 10, got {0}")]
    Dimensions(usize),
    /// An axis is smaller than [`MIN_SIZE`]; `axis` is the first such axis.
    #[error("size of axis {axis} must be at least 2, got {size}")]
    Size { axis: usize, size: u32 },
    /// The product of the sizes does not fit in a `u64`.
    #[error("vertex count overflows 64 bits")]
    TooLarge,
    /// A coordinate has the wrong number of components.
    #[error("coordinate has {got} components but the lattice has {expected} dimensions")]
    CoordinateLength { expected: usize, got: usize },
    /// A coordinate component lies outside its axis; `axis` is the first such component.
    #[error("component {axis} is {value}, outside 0..{size}")]
    CoordinateRange { axis: usize, value: u64, size: u32 },
}

/// A validated lattice: 1..=10 axes, each size >= 2, vertex count fits u64 (checked multiplication).
///
/// Vertices are numbered in mixed radix with axis 0 least significant, so the
/// vertex at coordinate `c` has index `sum(c[a] * strides[a])`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lattice {
    /// Size of each axis, each at least [`MIN_SIZE`]; its length is the dimension count.
    sizes: Vec<u32>,
    /// `strides[a]` is the product of the sizes of axes `0..a`; strictly increasing.
    strides: Vec<u64>,
    /// Product of all sizes; known to fit in a `u64`.
    vertex_count: u64,
}

impl Lattice {
    /// Validates `sizes` (one per axis) and precomputes strides and the vertex count.
    ///
    /// Checks, in order: the number of axes, each axis size, then the product.
    pub fn new(sizes: Vec<u32>) -> Result<Self, LatticeError> {
        if sizes.is_empty() || sizes.len() > MAX_DIMENSIONS {
            return Err(LatticeError::Dimensions(sizes.len()));
        }
        if let Some((axis, &size)) = sizes.iter().enumerate().find(|&(_, &s)| s < MIN_SIZE) {
            return Err(LatticeError::Size { axis, size });
        }
        let mut strides = Vec::with_capacity(sizes.len());
        let mut product: u64 = 1;
        for &size in &sizes {
            strides.push(product);
            product = product
                .checked_mul(u64::from(size))
                .ok_or(LatticeError::TooLarge)?;
        }
        Ok(Self {
            sizes,
            strides,
            vertex_count: product,
        })
    }

    /// A lattice with `dimensions` axes, all of size `size`.
    pub fn uniform(dimensions: usize, size: u32) -> Result<Self, LatticeError> {
        if dimensions == 0 || dimensions > MAX_DIMENSIONS {
            return Err(LatticeError::Dimensions(dimensions));
        }
        Self::new(vec![size; dimensions])
    }

    /// Number of axes, 1..=[`MAX_DIMENSIONS`].
    pub fn dimensions(&self) -> usize {
        self.sizes.len()
    }

    /// Size of each axis, axis 0 first.
    pub fn sizes(&self) -> &[u32] {
        &self.sizes
    }

    /// Mixed-radix place value of each axis: `strides()[0] == 1`, strictly increasing.
    pub fn strides(&self) -> &[u64] {
        &self.strides
    }

    /// Number of vertices (product of the sizes).
    pub fn vertex_count(&self) -> u64 {
        self.vertex_count
    }

    /// Number of undirected edges: along axis `a` there are `(size_a - 1) * n / size_a`.
    ///
    /// Each term is below the vertex count, but their sum over ten axes can
    /// exceed `u64::MAX` on the largest lattices; it saturates there.
    pub fn edge_count(&self) -> u64 {
        self.sizes
            .iter()
            .map(|&size| {
                let size = u64::from(size);
                (size - 1) * (self.vertex_count / size)
            })
            .fold(0u64, u64::saturating_add)
    }

    /// Largest graph distance between two vertices: `sum(size_a - 1)`, the
    /// distance between opposite corners. Without wrap or blocking this is the
    /// diameter and the longest possible shortest path, in edges.
    pub fn max_distance(&self) -> u64 {
        self.sizes.iter().map(|&s| u64::from(s) - 1).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_one_to_ten_dimensions() -> Result<(), LatticeError> {
        for d in 1..=MAX_DIMENSIONS {
            let lattice = Lattice::uniform(d, 2)?;
            assert_eq!(lattice.dimensions(), d);
            assert_eq!(lattice.vertex_count(), 1u64 << d);
        }
        Ok(())
    }

    #[test]
    fn rejects_zero_and_eleven_dimensions() {
        assert_eq!(Lattice::new(vec![]), Err(LatticeError::Dimensions(0)));
        assert_eq!(Lattice::uniform(0, 5), Err(LatticeError::Dimensions(0)));
        assert_eq!(Lattice::new(vec![2; 11]), Err(LatticeError::Dimensions(11)));
        assert_eq!(Lattice::uniform(11, 2), Err(LatticeError::Dimensions(11)));
    }

    #[test]
    fn rejects_the_first_axis_smaller_than_two() {
        assert_eq!(
            Lattice::new(vec![3, 1, 0]),
            Err(LatticeError::Size { axis: 1, size: 1 })
        );
        assert_eq!(
            Lattice::uniform(3, 0),
            Err(LatticeError::Size { axis: 0, size: 0 })
        );
    }

    #[test]
    fn dimension_check_comes_before_size_check() {
        assert_eq!(Lattice::new(vec![0; 11]), Err(LatticeError::Dimensions(11)));
    }

    #[test]
    fn vertex_count_overflow_is_too_large() {
        // 84^10 < 2^64 < 85^10.
        assert!(Lattice::uniform(10, 84).is_ok());
        assert_eq!(Lattice::uniform(10, 85), Err(LatticeError::TooLarge));
        assert!(Lattice::new(vec![u32::MAX, u32::MAX]).is_ok());
        assert_eq!(
            Lattice::new(vec![u32::MAX, u32::MAX, 2]),
            Err(LatticeError::TooLarge)
        );
    }

    #[test]
    fn strides_are_mixed_radix_with_axis_zero_least_significant() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4, 5])?;
        assert_eq!(lattice.strides(), &[1, 3, 12]);
        assert_eq!(lattice.vertex_count(), 60);
        assert_eq!(lattice.sizes(), &[3, 4, 5]);
        Ok(())
    }

    #[test]
    fn edge_count_matches_per_axis_formula() -> Result<(), LatticeError> {
        assert_eq!(Lattice::new(vec![5])?.edge_count(), 4);
        // 3x4: rows of 3 give 2 edges each * 4 rows, columns give 3 edges * 3 columns.
        assert_eq!(Lattice::new(vec![3, 4])?.edge_count(), 8 + 9);
        // Hypercube Q10: d * 2^(d-1).
        assert_eq!(Lattice::uniform(10, 2)?.edge_count(), 10 * 512);
        Ok(())
    }

    #[test]
    fn edge_count_saturates_on_the_largest_lattices() -> Result<(), LatticeError> {
        assert_eq!(Lattice::uniform(10, 84)?.edge_count(), u64::MAX);
        Ok(())
    }

    #[test]
    fn max_distance_is_corner_to_corner() -> Result<(), LatticeError> {
        assert_eq!(Lattice::new(vec![3, 4, 5])?.max_distance(), 2 + 3 + 4);
        assert_eq!(Lattice::uniform(10, 2)?.max_distance(), 10);
        Ok(())
    }

    #[test]
    fn error_messages_name_the_offending_part() {
        assert_eq!(
            LatticeError::Size { axis: 2, size: 1 }.to_string(),
            "size of axis 2 must be at least 2, got 1"
        );
        assert_eq!(
            LatticeError::CoordinateRange {
                axis: 1,
                value: 7,
                size: 4
            }
            .to_string(),
            "component 1 is 7, outside 0..4"
        );
    }
}
