//! A small explicit copy of part of the lattice: the vertices of one
//! component (exact diameter) or every open vertex (centrality), renumbered
//! `0..m` in ascending index order, with adjacency in compressed rows.
//!
//! The all-pairs passes run `m` searches over the same vertices; on the
//! implicit lattice each neighbour would cost a blocking check (a splitmix64
//! or a binary search), so building the rows once is far cheaper. Only
//! used below the caps in `analyze.rs`, which bound `m`.

use std::mem::size_of;

use crate::bfs::slot;
use crate::cancel::{Cancel, Cancelled, poll};
use crate::spec::Lattice;

/// Distance of a vertex not reached by [`CompactGraph::bfs`].
pub(crate) const FAR: u32 = u32::MAX;

/// Adjacency of `m` vertices in compressed rows.
pub(crate) struct CompactGraph {
    /// Row `i` is `targets[offsets[i]..offsets[i + 1]]`; `m + 1` entries.
    offsets: Vec<usize>,
    /// Neighbour ids, each row ascending.
    targets: Vec<u32>,
}

impl CompactGraph {
    /// Rows for `members` (ascending vertex indices, each open; every open
    /// neighbour of a member must be a member, e.g. a whole component).
    pub(crate) fn build(lattice: &Lattice, members: &[u64]) -> Self {
        let mut offsets = Vec::with_capacity(members.len() + 1);
        let mut targets = Vec::with_capacity(members.len() * 2 * lattice.dimensions());
        let mut scratch = Vec::with_capacity(2 * lattice.dimensions());
        offsets.push(0);
        for &v in members {
            lattice.neighbors_into(v, &mut scratch);
            for &u in &scratch {
                if let Ok(id) = members.binary_search(&u) {
                    // Below `members.len()`, which the callers cap far below 2^32.
                    targets.push(id as u32);
                }
            }
            offsets.push(targets.len());
        }
        Self { offsets, targets }
    }

    /// Heap bytes [`CompactGraph::build`] holds for `m` members on `dimensions`
    /// axes, scratch included, for estimates.
    pub(crate) fn bytes(m: u64, dimensions: usize) -> u64 {
        let d = dimensions as u64;
        let offsets = m
            .saturating_add(1)
            .saturating_mul(size_of::<usize>() as u64);
        let targets = m.saturating_mul(2 * d * size_of::<u32>() as u64);
        offsets
            .saturating_add(targets)
            .saturating_add(2 * d * size_of::<u64>() as u64)
    }

    /// Number of vertices.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Neighbour ids of `i`, ascending.
    pub(crate) fn neighbors(&self, i: usize) -> &[u32] {
        let (from, to) = (self.offsets[i], self.offsets[i + 1]);
        &self.targets[from..to]
    }

    /// BFS from `source` into `dist` (length [`CompactGraph::len`], reset
    /// here to [`FAR`]) using `order` as the FIFO; on return `order` holds the
    /// reached ids in BFS order. Adds the expansions to `*expansions`,
    /// polling `cancel` each time it crosses a multiple of the poll interval.
    pub(crate) fn bfs(
        &self,
        source: usize,
        dist: &mut [u32],
        order: &mut Vec<u32>,
        expansions: &mut u64,
        cancel: &dyn Cancel,
    ) -> Result<(), Cancelled> {
        dist.fill(FAR);
        order.clear();
        dist[source] = 0;
        order.push(source as u32);
        let mut head = 0;
        while let Some(&v) = order.get(head) {
            head += 1;
            if poll(cancel, *expansions) {
                return Err(Cancelled);
            }
            *expansions += 1;
            let next = dist[slot(u64::from(v))] + 1;
            for &u in self.neighbors(slot(u64::from(v))) {
                let entry = &mut dist[slot(u64::from(u))];
                if *entry == FAR {
                    *entry = next;
                    order.push(u);
                }
            }
        }
        Ok(())
    }
}
