//! Connected components of the open vertices: how many, how large, and
//! whether one spans axis 0 (a percolation question: does some cluster touch
//! both the first and the last slice?).
//!
//! Without blocking the lattice is one component and the answer is written
//! down. With blocking every vertex is scanned in index order and each new
//! open vertex starts a BFS that marks its component in a bitset; the same
//! pass 2-colours the component by BFS parity, which is how `analyze.rs`
//! learns bipartiteness without a second scan.

use std::collections::{BTreeMap, VecDeque};
use std::mem::size_of;

use super::bitset::Bitset;
use crate::bfs::{queue_capacity, slot};
use crate::cancel::{Cancel, Cancelled, poll};
use crate::estimate::Estimate;
use crate::spec::Lattice;

/// How many components have a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ComponentSizeCount {
    /// Vertices in each of these components.
    pub size: u64,
    /// Components of that size.
    pub count: u64,
}

/// The connected components of the open vertices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Components {
    /// Number of components; 0 when every vertex is blocked.
    pub count: u64,
    /// Vertices in the largest component; 0 when every vertex is blocked.
    pub largest: u64,
    /// Components per size, ascending by size.
    pub size_histogram: Vec<ComponentSizeCount>,
    /// Some component holds a vertex with `coord[0] == 0` and one with
    /// `coord[0] == sizes[0] - 1` (wrap or not).
    pub spans_axis0: bool,
}

/// The connected components of `lattice`'s open vertices.
pub fn components(lattice: &Lattice, cancel: &dyn Cancel) -> Result<Components, Cancelled> {
    Ok(scan(lattice, cancel)?.components)
}

/// What the component pass learns, for [`components`] and `analyze.rs`.
pub(crate) struct Scan {
    pub(crate) components: Components,
    /// Smallest vertex index of the largest component (the first found, so
    /// the one with the smallest index among equally large ones); `None`
    /// when nothing is open.
    pub(crate) largest_root: Option<u64>,
    /// No edge joins two vertices of the same BFS parity.
    pub(crate) bipartite: bool,
}

/// The component pass: written down without blocking, scanned with it.
pub(crate) fn scan(lattice: &Lattice, cancel: &dyn Cancel) -> Result<Scan, Cancelled> {
    if lattice.has_blocking() {
        return scan_blocked(lattice, cancel);
    }
    let n = lattice.vertex_count();
    // Wrapping an odd axis closes an odd cycle; otherwise coordinate-sum parity 2-colours it.
    let odd_cycle = lattice
        .sizes()
        .iter()
        .zip(lattice.wraps())
        .any(|(&s, &w)| w && s % 2 == 1);
    Ok(Scan {
        components: Components {
            count: 1,
            largest: n,
            size_histogram: vec![ComponentSizeCount { size: n, count: 1 }],
            spans_axis0: true,
        },
        largest_root: Some(0),
        bipartite: !odd_cycle,
    })
}

/// Every vertex in index order; a BFS per component.
pub(crate) fn scan_blocked(lattice: &Lattice, cancel: &dyn Cancel) -> Result<Scan, Cancelled> {
    let n = lattice.vertex_count();
    let size0 = u64::from(lattice.sizes()[0]);
    let mut seen = Bitset::new(n);
    let mut odd = Bitset::new(n);
    let mut queue = VecDeque::with_capacity(slot(queue_capacity(lattice)));
    let mut sizes = BTreeMap::<u64, u64>::new();
    let (mut largest, mut largest_root, mut bipartite, mut spans) = (0u64, None, true, false);
    let mut steps = 0u64;
    for root in 0..n {
        if poll(cancel, steps) {
            return Err(Cancelled);
        }
        steps += 1;
        if seen.get(root) || lattice.is_blocked(root) {
            continue;
        }
        seen.set(root);
        queue.push_back(root);
        let (mut size, mut first, mut last) = (0u64, false, false);
        while let Some(v) = queue.pop_front() {
            if poll(cancel, steps) {
                return Err(Cancelled);
            }
            steps += 1;
            size += 1;
            let x0 = v % size0;
            first |= x0 == 0;
            last |= x0 == size0 - 1;
            let parity = odd.get(v);
            lattice.for_each_neighbor(v, |u| {
                if !seen.get(u) {
                    seen.set(u);
                    if !parity {
                        odd.set(u);
                    }
                    queue.push_back(u);
                } else if odd.get(u) == parity {
                    bipartite = false;
                }
            });
        }
        *sizes.entry(size).or_default() += 1;
        spans |= first && last;
        if size > largest {
            largest = size;
            largest_root = Some(root);
        }
    }
    Ok(Scan {
        components: Components {
            count: sizes.values().sum(),
            largest,
            size_histogram: sizes
                .into_iter()
                .map(|(size, count)| ComponentSizeCount { size, count })
                .collect(),
            spans_axis0: spans,
        },
        largest_root,
        bipartite,
    })
}

/// Estimate for [`components`] (and the component pass of `analyze.rs`):
/// two bits per vertex, the FIFO, and the size map. Distinct component
/// sizes `k` satisfy `k (k + 1) / 2 <= open`, so there are at most
/// `sqrt(2 open) + 1`; a B-tree entry is charged 64 bytes (nodes are at
/// least half full) and its output row 16. Without blocking: nothing.
pub(crate) fn estimate(lattice: &Lattice) -> Estimate {
    if !lattice.has_blocking() {
        return Estimate {
            memory_bytes: size_of::<ComponentSizeCount>() as u64,
            vertex_visits: 0,
        };
    }
    let n = lattice.vertex_count();
    let open = lattice.open_vertex_bound();
    let distinct = (2.0 * open as f64).sqrt() as u64 + 2;
    let sizes = distinct.saturating_mul(64 + size_of::<ComponentSizeCount>() as u64);
    Estimate {
        memory_bytes: Bitset::bytes(n)
            .saturating_mul(2)
            .saturating_add(queue_capacity(lattice).saturating_mul(size_of::<u64>() as u64))
            .saturating_add(sizes),
        vertex_visits: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Never;
    use crate::spec::Blocked;
    use std::error::Error;

    #[test]
    fn a_wall_splits_a_square_into_two() -> Result<(), Box<dyn Error>> {
        // 3x3 with the middle column blocked: two columns of 3, neither spans.
        let lattice = Lattice::new(vec![3, 3])?.with_blocked(Blocked::Explicit(vec![1, 4, 7]))?;
        let found = components(&lattice, &Never)?;
        assert_eq!(found.count, 2);
        assert_eq!(found.largest, 3);
        assert_eq!(
            found.size_histogram,
            vec![ComponentSizeCount { size: 3, count: 2 }]
        );
        assert!(!found.spans_axis0);
        Ok(())
    }

    #[test]
    fn the_written_down_answer_matches_the_scan() -> Result<(), Box<dyn Error>> {
        for (sizes, wrap) in [
            (vec![4, 3], vec![false, true]),
            (vec![3, 3, 2], vec![true, false, false]),
            (vec![4, 4], vec![true, true]),
            (vec![5], vec![false]),
        ] {
            let lattice = Lattice::new(sizes)?.with_wrap(wrap)?;
            let quick = scan(&lattice, &Never)?;
            let full = scan_blocked(&lattice, &Never)?;
            assert_eq!(quick.components, full.components);
            assert_eq!(quick.bipartite, full.bipartite);
            assert_eq!(quick.largest_root, full.largest_root);
        }
        Ok(())
    }

    #[test]
    fn everything_blocked_has_no_components() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![3, 3])?.with_blocked(Blocked::Seeded {
            fraction: 1.0,
            seed: 7,
        })?;
        let found = scan(&lattice, &Never)?;
        assert_eq!(found.components.count, 0);
        assert_eq!(found.components.largest, 0);
        assert!(found.components.size_histogram.is_empty());
        assert_eq!(found.largest_root, None);
        Ok(())
    }
}
