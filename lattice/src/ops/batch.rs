//! Many shortest paths at once: one BFS per distinct end, shared by every
//! pair with that end, and each pair's answer identical to
//! [`crate::shortest_path`] on that pair (path, length and `vertices_visited`).
//!
//! `shortest_path` stops its search once the start's level is complete, so
//! its `vertices_visited` is the number of vertices within the path's length
//! of the end; a full search answers that for every start at once from the
//! cumulative level sizes. Where the fast engine pays (`engine/mod.rs`,
//! `fast_engine_pays`) the searches run on it (a quarter byte a vertex) and
//! each start walks down its mod-3 distances to the end, which gives its
//! path and length together; elsewhere on the reference (`bfs.rs`).

use std::collections::BTreeMap;
use std::mem::size_of;

use super::distances::{histogram, histogram_entries, level_bytes};
use crate::bfs::{ShortestPath, Stop, search, slot, walk};
use crate::cancel::{Cancel, Cancelled};
use crate::engine::{bfs_levels, fast_engine_pays, fast_search_bytes, walk_to_source};
use crate::estimate::{Estimate, search_bytes};
use crate::spec::Lattice;

/// The canonical shortest path for each `(start, end)` pair, in order;
/// `None` where unreachable (blocked or out-of-range ends included).
pub fn shortest_paths(
    lattice: &Lattice,
    pairs: &[(u64, u64)],
    cancel: &dyn Cancel,
) -> Result<Vec<Option<ShortestPath>>, Cancelled> {
    shortest_paths_on(lattice, pairs, fast_engine_pays(lattice), cancel)
}

/// [`shortest_paths`] on the fast engine (`fast`) or the reference.
pub(crate) fn shortest_paths_on(
    lattice: &Lattice,
    pairs: &[(u64, u64)],
    fast: bool,
    cancel: &dyn Cancel,
) -> Result<Vec<Option<ShortestPath>>, Cancelled> {
    let n = lattice.vertex_count();
    let mut by_end = BTreeMap::<u64, Vec<usize>>::new();
    for (i, &(_, end)) in pairs.iter().enumerate() {
        by_end.entry(end).or_default().push(i);
    }
    let mut results = vec![None; pairs.len()];
    for (end, members) in by_end {
        if end >= n || lattice.is_blocked(end) {
            continue;
        }
        let starts = members.iter().map(|&i| pairs[i].0);
        let paths = match fast {
            true => fast_paths_to(lattice, end, starts, cancel)?,
            false => reference_paths_to(lattice, end, starts, cancel)?,
        };
        for (i, path) in members.into_iter().zip(paths) {
            results[i] = path;
        }
    }
    Ok(results)
}

/// `within[d]` = vertices at distance at most `d`, from the counts per distance.
fn cumulative(counts: &[u64]) -> Vec<u64> {
    counts
        .iter()
        .scan(0u64, |sum, &count| {
            *sum += count;
            Some(*sum)
        })
        .collect()
}

/// One fast search from `end`; each start walks down its mod-3 distances.
fn fast_paths_to(
    lattice: &Lattice,
    end: u64,
    starts: impl Iterator<Item = u64>,
    cancel: &dyn Cancel,
) -> Result<Vec<Option<ShortestPath>>, Cancelled> {
    let levels = bfs_levels(lattice, end, None, cancel)?;
    let within = cumulative(levels.level_sizes());
    Ok(starts
        .map(|start| {
            let path = walk_to_source(lattice, &levels, start, end)?;
            let length = path.len() as u64 - 1;
            Some(ShortestPath {
                length,
                vertices_visited: *within.get(slot(length))?,
                path,
            })
        })
        .collect())
}

/// One reference search from `end`; each start walks down its distances.
fn reference_paths_to(
    lattice: &Lattice,
    end: u64,
    starts: impl Iterator<Item = u64>,
    cancel: &dyn Cancel,
) -> Result<Vec<Option<ShortestPath>>, Cancelled> {
    let found = search(lattice, end, Stop::Exhausted, cancel)?;
    let within = cumulative(&histogram(&found.dist, found.reached, cancel)?);
    Ok(starts
        .map(|start| {
            let length = *found.dist.get(slot(start))?;
            let path = walk(lattice, &found.dist, start)?;
            Some(ShortestPath {
                length: u64::from(length),
                vertices_visited: *within.get(slot(u64::from(length)))?,
                path,
            })
        })
        .collect())
}

/// Estimate for [`shortest_paths`] with `distinct_ends` different ends: one
/// search at a time (the fast one's buffers or the reference's, its level
/// sizes and their cumulative copy), and one longest path per distinct end. Paths of further pairs
/// sharing an end are not counted: callers that allow many pairs per end add
/// one longest path (as in `estimate_shortest_path`) per extra pair. Visits:
/// every vertex per distinct end.
pub(crate) fn estimate(lattice: &Lattice, distinct_ends: u64) -> Estimate {
    let d = lattice.dimensions() as u64;
    let path = histogram_entries(lattice)
        .saturating_mul(size_of::<Vec<u32>>() as u64 + d * size_of::<u32>() as u64)
        .saturating_add(2 * d * size_of::<u64>() as u64);
    let (dist, queue) = search_bytes(lattice);
    // The reference holds its distance array, then the larger of its FIFO and the histograms.
    let reference = dist.saturating_add(queue.max(level_bytes(lattice)));
    let fast = fast_search_bytes(lattice).saturating_add(level_bytes(lattice));
    let search = if fast_engine_pays(lattice) {
        fast
    } else {
        reference
    };
    Estimate {
        memory_bytes: search.saturating_add(path.saturating_mul(distinct_ends)),
        vertex_visits: lattice.open_vertex_bound().saturating_mul(distinct_ends),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bfs::shortest_path;
    use crate::cancel::Never;
    use crate::spec::Blocked;
    use std::error::Error;

    #[test]
    fn batch_answers_equal_single_answers() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![5, 4])?
            .with_wrap(vec![true, false])?
            .with_blocked(Blocked::Explicit(vec![6, 7, 12]))?;
        let pairs = [
            (0, 19),
            (3, 19),
            (19, 19),
            (6, 0),
            (0, 6),
            (13, 2),
            (2, 13),
            (0, 99),
        ];
        let batch = shortest_paths(&lattice, &pairs, &Never)?;
        for (&(s, e), got) in pairs.iter().zip(&batch) {
            assert_eq!(got, &shortest_path(&lattice, s, e, &Never)?, "{s} -> {e}");
        }
        assert!(batch[0].is_some() && batch[3].is_none() && batch[7].is_none());
        Ok(())
    }

    #[test]
    fn a_cancel_stops_the_batch() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![5, 4])?;
        let stop = || true;
        assert_eq!(shortest_paths(&lattice, &[(0, 1)], &stop), Err(Cancelled));
        assert_eq!(shortest_paths(&lattice, &[], &stop), Ok(vec![]));
        Ok(())
    }
}
