//! Vertex index ↔ coordinate, and the neighbours of a vertex.
//!
//! The lattice is implicit: nothing stores adjacency. A vertex is a `u64` in
//! mixed radix (axis 0 least significant, docs/adr/0002-lattices.md) and its neighbours are
//! found from the strides precomputed in `spec.rs`. Coordinates arrive from
//! user JSON, so [`Lattice::index_of`] checks length and range; the other
//! functions take indices the caller already obtained from it. Neighbours
//! honour wrap-around and skip blocked vertices (`spec.rs`).

use crate::spec::{Lattice, LatticeError};

impl Lattice {
    /// Mixed radix, axis 0 least significant. Coordinates come from user JSON so take &[u64] and check range + length.
    pub fn index_of(&self, coord: &[u64]) -> Result<u64, LatticeError> {
        if coord.len() != self.dimensions() {
            return Err(LatticeError::CoordinateLength {
                expected: self.dimensions(),
                got: coord.len(),
            });
        }
        let mut index = 0u64;
        for (axis, ((&value, &size), &stride)) in coord
            .iter()
            .zip(self.sizes())
            .zip(self.strides())
            .enumerate()
        {
            if value >= u64::from(size) {
                return Err(LatticeError::CoordinateRange { axis, value, size });
            }
            // Cannot overflow: the sum stays below the vertex count, which fits.
            index += value * stride;
        }
        Ok(index)
    }

    /// The coordinate of vertex `index`, axis 0 first.
    ///
    /// `index` should be below [`Lattice::vertex_count`]; a larger one is taken
    /// modulo the vertex count rather than panicking.
    pub fn coord_of(&self, index: u64) -> Vec<u32> {
        let mut rest = index;
        self.sizes()
            .iter()
            .map(|&size| {
                let size = u64::from(size);
                let component = rest % size;
                rest /= size;
                // Below `size`, which is a u32.
                component as u32
            })
            .collect()
    }

    /// Neighbours of `index` in ascending vertex-index order, appended to `out` after clearing it.
    ///
    /// Wrapped axes join their ends; blocked vertices are not in the graph, so
    /// a blocked `index` has no neighbours and no blocked vertex is listed.
    /// Wrap needs size >= 3, so the two neighbours along an axis always
    /// differ and the list has no duplicates. An `index` outside the lattice
    /// has no neighbours.
    pub fn neighbors_into(&self, index: u64, out: &mut Vec<u64>) {
        out.clear();
        if index >= self.vertex_count() || self.is_blocked(index) {
            return;
        }
        self.for_each_neighbor(index, |u| out.push(u));
        // At most 20 entries; wrap-around neighbours break the stride order.
        out.sort_unstable();
    }

    /// Calls `visit` on each open neighbour of the open vertex `index`, in no
    /// particular order (callers that need the canonical order use
    /// [`Lattice::neighbors_into`]). Allocates nothing; the caller checks
    /// `index` is open and in range.
    #[inline]
    pub(crate) fn for_each_neighbor(&self, index: u64, mut visit: impl FnMut(u64)) {
        self.for_each_axis(index, |_, below, above| {
            for u in [below, above].into_iter().flatten() {
                visit(u);
            }
        });
    }

    /// Calls `visit(axis, below, above)` for each axis of the in-range vertex
    /// `index`, with its open neighbours one step down and one step up that
    /// axis (`None` where there is no such vertex or it is blocked). Peels the
    /// coordinates off as it goes instead of building a coordinate.
    #[inline]
    pub(crate) fn for_each_axis(
        &self,
        index: u64,
        mut visit: impl FnMut(usize, Option<u64>, Option<u64>),
    ) {
        let blocking = self.has_blocking();
        let open = |u: u64| !blocking || !self.is_blocked(u);
        let mut rest = index;
        let axes = self.sizes().iter().zip(self.strides()).zip(self.wraps());
        for (axis, ((&size, &stride), &wrap)) in axes.enumerate() {
            let size = u64::from(size);
            let component = rest % size;
            rest /= size;
            let below = if component > 0 {
                Some(index - stride)
            } else if wrap {
                Some(index + (size - 1) * stride)
            } else {
                None
            };
            let above = if component + 1 < size {
                Some(index + stride)
            } else if wrap {
                Some(index - (size - 1) * stride)
            } else {
                None
            };
            visit(axis, below.filter(|&u| open(u)), above.filter(|&u| open(u)));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::{Blocked, Lattice, LatticeError};

    fn neighbors(lattice: &Lattice, index: u64) -> Vec<u64> {
        let mut out = vec![999_999];
        lattice.neighbors_into(index, &mut out);
        out
    }

    #[test]
    fn index_of_and_coord_of_round_trip_on_every_vertex() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 2, 4])?;
        for index in 0..lattice.vertex_count() {
            let coord: Vec<u64> = lattice.coord_of(index).into_iter().map(u64::from).collect();
            assert_eq!(lattice.index_of(&coord)?, index);
        }
        Ok(())
    }

    #[test]
    fn axis_zero_is_least_significant() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4, 5])?;
        assert_eq!(lattice.index_of(&[1, 0, 0])?, 1);
        assert_eq!(lattice.index_of(&[0, 1, 0])?, 3);
        assert_eq!(lattice.index_of(&[0, 0, 1])?, 12);
        assert_eq!(lattice.index_of(&[2, 3, 4])?, 59);
        assert_eq!(lattice.coord_of(59), vec![2, 3, 4]);
        assert_eq!(lattice.coord_of(17), vec![2, 1, 1]);
        Ok(())
    }

    #[test]
    fn index_of_rejects_wrong_length() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?;
        assert_eq!(
            lattice.index_of(&[1]),
            Err(LatticeError::CoordinateLength {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            lattice.index_of(&[0, 0, 0]),
            Err(LatticeError::CoordinateLength {
                expected: 2,
                got: 3
            })
        );
        Ok(())
    }

    #[test]
    fn index_of_rejects_the_first_component_out_of_range() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?;
        assert_eq!(
            lattice.index_of(&[2, 4]),
            Err(LatticeError::CoordinateRange {
                axis: 1,
                value: 4,
                size: 4
            })
        );
        assert_eq!(
            lattice.index_of(&[u64::MAX, u64::MAX]),
            Err(LatticeError::CoordinateRange {
                axis: 0,
                value: u64::MAX,
                size: 3
            })
        );
        Ok(())
    }

    #[test]
    fn coord_of_out_of_range_wraps_instead_of_panicking() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?;
        assert_eq!(lattice.coord_of(12 + 5), lattice.coord_of(5));
        assert_eq!(lattice.coord_of(u64::MAX).len(), 2);
        Ok(())
    }

    #[test]
    fn one_dimensional_neighbours() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![5])?;
        assert_eq!(neighbors(&lattice, 0), vec![1]);
        assert_eq!(neighbors(&lattice, 2), vec![1, 3]);
        assert_eq!(neighbors(&lattice, 4), vec![3]);
        Ok(())
    }

    #[test]
    fn size_two_axis_has_one_neighbour_per_vertex() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![2])?;
        assert_eq!(neighbors(&lattice, 0), vec![1]);
        assert_eq!(neighbors(&lattice, 1), vec![0]);
        Ok(())
    }

    #[test]
    fn interior_neighbours_are_sorted_by_index() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4, 5])?;
        let centre = lattice.index_of(&[1, 1, 1])?; // 1 + 3 + 12 = 16
        assert_eq!(neighbors(&lattice, centre), vec![4, 13, 15, 17, 19, 28]);
        Ok(())
    }

    #[test]
    fn edge_neighbours_skip_missing_sides() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?;
        // (2, 0): no +x, no -y.
        assert_eq!(neighbors(&lattice, 2), vec![1, 5]);
        // (0, 3): no -x, no +y.
        assert_eq!(neighbors(&lattice, 9), vec![6, 10]);
        Ok(())
    }

    #[test]
    fn ten_dimensional_hypercube_corners() -> Result<(), LatticeError> {
        let lattice = Lattice::uniform(10, 2)?;
        let powers: Vec<u64> = (0..10).map(|a| 1u64 << a).collect();
        assert_eq!(neighbors(&lattice, 0), powers);
        let last = lattice.vertex_count() - 1;
        let mut expected: Vec<u64> = powers.iter().map(|p| last - p).collect();
        expected.sort_unstable();
        assert_eq!(neighbors(&lattice, last), expected);
        Ok(())
    }

    #[test]
    fn largest_lattice_top_corner_does_not_overflow() -> Result<(), LatticeError> {
        let lattice = Lattice::uniform(10, 84)?;
        let last = lattice.vertex_count() - 1;
        let found = neighbors(&lattice, last);
        assert_eq!(found.len(), 10);
        assert!(found.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(lattice.coord_of(last), vec![83; 10]);
        Ok(())
    }

    #[test]
    fn out_of_range_index_has_no_neighbours() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?;
        assert!(neighbors(&lattice, 12).is_empty());
        assert!(neighbors(&lattice, u64::MAX).is_empty());
        Ok(())
    }

    #[test]
    fn wrapped_neighbours_are_sorted_by_index() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?.with_wrap(vec![true, true])?;
        // (0, 0): -x wraps to (2, 0) = 2, -y wraps to (0, 3) = 9.
        assert_eq!(neighbors(&lattice, 0), vec![1, 2, 3, 9]);
        // (2, 3) = 11: +x wraps to (0, 3) = 9, +y wraps to (2, 0) = 2.
        assert_eq!(neighbors(&lattice, 11), vec![2, 8, 9, 10]);
        let ring = Lattice::new(vec![3])?.with_wrap(vec![true])?;
        assert_eq!(neighbors(&ring, 0), vec![1, 2]);
        assert_eq!(neighbors(&ring, 2), vec![0, 1]);
        Ok(())
    }

    #[test]
    fn wrap_on_one_axis_leaves_the_other_open() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 4])?.with_wrap(vec![false, true])?;
        assert_eq!(neighbors(&lattice, 0), vec![1, 3, 9]);
        Ok(())
    }

    #[test]
    fn blocked_vertices_are_skipped_and_have_no_neighbours() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3, 3])?.with_blocked(Blocked::Explicit(vec![1, 4]))?;
        assert_eq!(neighbors(&lattice, 0), vec![3]);
        assert!(neighbors(&lattice, 4).is_empty());
        assert_eq!(neighbors(&lattice, 7), vec![6, 8]);
        Ok(())
    }
}
