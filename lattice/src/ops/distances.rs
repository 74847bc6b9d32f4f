//! Distances from one source: how many vertices it reaches, how far the
//! farthest is, how many sit at each distance, and for small lattices the
//! whole distance field.
//!
//! Two engines give equal answers. The reference ([`distances`],
//! [`distances_with_field`]): one full BFS (`bfs.rs`), the histogram counted
//! from the distance array after the search has dropped its FIFO. The fast
//! one ([`fast_distances`], [`fast_distances_with_field`]):
//! the bit-parallel search of `engine/` at a quarter byte a vertex,
//! its level sizes as the histogram, and the exact field (4 bytes a vertex)
//! written level by level only when the field is wanted. The worker runs
//! the fast one where it pays (enough vertices a level) and `estimate`
//! bounds whichever it runs, the field included: a job stores it at any size.

use std::mem::size_of;

use crate::bfs::{Stop, UNREACHED, search, slot};
use crate::cancel::{Cancel, Cancelled, POLL_INTERVAL};
use crate::engine::{
    Levels, bfs_levels, bfs_levels_with_field, fast_engine_pays, fast_search_bytes, field_bytes,
};
use crate::estimate::{Estimate, search_bytes};
use crate::spec::Lattice;

/// The full distance field is returned only for lattices of at most this
/// many vertices (8 bytes each on the wire); larger ones get the histogram.
pub const FULL_FIELD_CAP: u64 = 100_000;

/// What a BFS from one source found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Distances {
    /// The source's coordinate, axis 0 first.
    pub source: Vec<u32>,
    /// Vertices reached, the source included; 0 when the source is blocked.
    pub reachable: u64,
    /// Largest distance to a reached vertex; 0 when nothing is reached.
    pub eccentricity: u64,
    /// `histogram[d]` = vertices at distance `d`; `eccentricity + 1` entries,
    /// empty when nothing is reached.
    pub histogram: Vec<u64>,
    /// Distance of every vertex in index order, `-1` for unreachable or
    /// blocked; only when the lattice has at most [`FULL_FIELD_CAP`] vertices.
    pub field: Option<Vec<i64>>,
}

/// BFS from `source` over the open vertices; a blocked (or out-of-range)
/// source reaches nothing.
pub fn distances(
    lattice: &Lattice,
    source: u64,
    cancel: &dyn Cancel,
) -> Result<Distances, Cancelled> {
    let (mut found, dist) = distances_with_field(lattice, source, cancel)?;
    found.field = (lattice.vertex_count() <= FULL_FIELD_CAP).then(|| inline_field(&dist));
    Ok(found)
}

/// A distance field as [`Distances::field`] lists it: `-1` where unreached.
fn inline_field(dist: &[u32]) -> Vec<i64> {
    dist.iter()
        .map(|&d| if d == UNREACHED { -1 } else { i64::from(d) })
        .collect()
}

/// [`distances`] on the fast engine, equal in every field: for lattices
/// above [`FULL_FIELD_CAP`] the search alone (a quarter byte a vertex),
/// within it the field too, listed inline.
pub fn fast_distances(
    lattice: &Lattice,
    source: u64,
    cancel: &dyn Cancel,
) -> Result<Distances, Cancelled> {
    if lattice.vertex_count() > FULL_FIELD_CAP {
        let levels = bfs_levels(lattice, source, None, cancel)?;
        return Ok(summary_of(lattice, source, levels));
    }
    let (mut found, dist) = fast_distances_with_field(lattice, source, cancel)?;
    found.field = Some(inline_field(&dist));
    Ok(found)
}

/// [`distances_with_field`] on the fast engine, equal to it: the summary
/// from the search's levels and the exact field its observer wrote.
pub fn fast_distances_with_field(
    lattice: &Lattice,
    source: u64,
    cancel: &dyn Cancel,
) -> Result<(Distances, Vec<u32>), Cancelled> {
    let (levels, dist) = bfs_levels_with_field(lattice, source, cancel)?;
    Ok((summary_of(lattice, source, levels), dist))
}

/// Distances on whichever engine is quicker on `lattice` (the fast one where
/// it pays, `fast_engine_pays`, else the reference), as a job runs them:
/// with the whole field in index order when `with_field` (a field too large
/// to list inline), else the summary with its inline field within the cap.
pub fn distances_where_fastest(
    lattice: &Lattice,
    source: u64,
    with_field: bool,
    cancel: &dyn Cancel,
) -> Result<(Distances, Option<Vec<u32>>), Cancelled> {
    let fast = fast_engine_pays(lattice);
    Ok(match (with_field, fast) {
        (true, true) => {
            let (d, field) = fast_distances_with_field(lattice, source, cancel)?;
            (d, Some(field))
        }
        (true, false) => {
            let (d, field) = distances_with_field(lattice, source, cancel)?;
            (d, Some(field))
        }
        (false, true) => (fast_distances(lattice, source, cancel)?, None),
        (false, false) => (distances(lattice, source, cancel)?, None),
    })
}

/// [`distances`], and the distance field of any size as the search left
/// it: every vertex's distance in index order (axis 0 varying fastest),
/// `u32::MAX` for unreachable or blocked ones. For a field too large to
/// list inline, stored apart (a job's result part, issue 22). The same
/// search and memory as [`distances`]: the field is its distance array.
pub fn distances_with_field(
    lattice: &Lattice,
    source: u64,
    cancel: &dyn Cancel,
) -> Result<(Distances, Vec<u32>), Cancelled> {
    let found = search(lattice, source, Stop::Exhausted, cancel)?;
    let histogram = histogram(&found.dist, found.reached, cancel)?;
    let eccentricity = histogram.len().saturating_sub(1) as u64;
    let summary = Distances {
        source: lattice.coord_of(source),
        reachable: found.reached,
        eccentricity,
        histogram,
        field: None,
    };
    Ok((summary, found.dist))
}

/// The summary of a search run by the fast engine or a GPU (`levels`, a
/// complete search from `source`): equal to [`distances`] for lattices of
/// more than [`FULL_FIELD_CAP`] vertices, whose field is never listed. At
/// 2 bits per vertex instead of 4 bytes.
pub fn distances_from_levels(lattice: &Lattice, source: u64, levels: &Levels) -> Distances {
    Distances {
        histogram: levels.level_sizes().to_vec(),
        ..without_histogram(lattice, source, levels)
    }
}

/// [`distances_from_levels`], its histogram the levels' own vector (no copy).
fn summary_of(lattice: &Lattice, source: u64, levels: Levels) -> Distances {
    let found = without_histogram(lattice, source, &levels);
    Distances {
        histogram: levels.into_level_sizes(),
        ..found
    }
}

/// The summary of `levels` but its histogram (empty) and field.
fn without_histogram(lattice: &Lattice, source: u64, levels: &Levels) -> Distances {
    Distances {
        source: lattice.coord_of(source),
        reachable: levels.reached(),
        eccentricity: levels.eccentricity(),
        histogram: Vec::new(),
        field: None,
    }
}

/// Vertices per distance, from a distance array with `reached` labelled
/// entries: two passes (the largest distance, then the counts) so the vector
/// is allocated once at its exact length.
pub(crate) fn histogram(
    dist: &[u32],
    reached: u64,
    cancel: &dyn Cancel,
) -> Result<Vec<u64>, Cancelled> {
    if reached == 0 {
        return Ok(Vec::new());
    }
    let mut largest = 0u32;
    for chunk in dist.chunks(slot(POLL_INTERVAL)) {
        if cancel.should_stop() {
            return Err(Cancelled);
        }
        largest = chunk
            .iter()
            .filter(|&&d| d != UNREACHED)
            .fold(largest, |m, &d| m.max(d));
    }
    let mut counts = vec![0u64; slot(u64::from(largest)) + 1];
    for chunk in dist.chunks(slot(POLL_INTERVAL)) {
        if cancel.should_stop() {
            return Err(Cancelled);
        }
        for &d in chunk.iter().filter(|&&d| d != UNREACHED) {
            counts[slot(u64::from(d))] += 1;
        }
    }
    Ok(counts)
}

/// Most entries a distance histogram can have: the closed-form diameter + 1
/// without blocking; with blocking a shortest path can wind through every
/// open vertex.
pub(crate) fn histogram_entries(lattice: &Lattice) -> u64 {
    if lattice.has_blocking() {
        lattice.open_vertex_bound()
    } else {
        lattice.open_diameter().saturating_add(1)
    }
}

/// Bytes of a search's level sizes and one copy of them (the summary's
/// histogram, or the cumulative counts of `batch.rs`), 8 a level. As in
/// `fast_estimate`, the slack of the search's vector growing by doubling is
/// not charged: with blocking the bound on levels is the number of open
/// vertices, which no real search approaches.
pub(crate) fn level_bytes(lattice: &Lattice) -> u64 {
    histogram_entries(lattice).saturating_mul(2 * size_of::<u64>() as u64)
}

/// Estimate for a distances job, which keeps the exact field at any size
/// (inline within [`FULL_FIELD_CAP`], a result part above it) and runs on
/// the fast engine where it pays (`engine/mod.rs`, `fast_engine_pays`):
/// the search's buffers, the field with what writes it (4 bytes a vertex
/// and half a byte at most) and the level sizes, which become the
/// histogram. Elsewhere on the reference: its distance array (the field),
/// then the larger of its FIFO and the histogram. Either way the inline
/// field within the cap and the source coordinate. Visits: every vertex at most.
pub(crate) fn estimate(lattice: &Lattice) -> Estimate {
    let n = lattice.vertex_count();
    let inline = if n <= FULL_FIELD_CAP {
        n * size_of::<i64>() as u64
    } else {
        0
    };
    let histogram = histogram_entries(lattice).saturating_mul(size_of::<u64>() as u64);
    let search = if fast_engine_pays(lattice) {
        fast_search_bytes(lattice)
            .saturating_add(field_bytes(lattice))
            .saturating_add(histogram)
    } else {
        let (dist, queue) = search_bytes(lattice);
        dist.saturating_add(queue.max(histogram))
    };
    let coord = lattice.dimensions() as u64 * size_of::<u32>() as u64;
    Estimate {
        memory_bytes: search.saturating_add(inline).saturating_add(coord),
        vertex_visits: lattice.open_vertex_bound(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Never;
    use crate::spec::{Blocked, LatticeError};
    use std::error::Error;

    #[test]
    fn corner_of_a_square_has_a_diamond_histogram() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![3, 3])?;
        let found = distances(&lattice, 0, &Never)?;
        assert_eq!(found.source, vec![0, 0]);
        assert_eq!(found.reachable, 9);
        assert_eq!(found.eccentricity, 4);
        assert_eq!(found.histogram, vec![1, 2, 3, 2, 1]);
        assert_eq!(found.field, Some(vec![0, 1, 2, 1, 2, 3, 2, 3, 4]));
        Ok(())
    }

    #[test]
    fn blocked_source_reaches_nothing() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![3, 3])?.with_blocked(Blocked::Explicit(vec![4]))?;
        let found = distances(&lattice, 4, &Never)?;
        assert_eq!(found.reachable, 0);
        assert_eq!(found.eccentricity, 0);
        assert!(found.histogram.is_empty());
        assert_eq!(found.field, Some(vec![-1; 9]));
        let around = distances(&lattice, 0, &Never)?;
        assert_eq!(around.field, Some(vec![0, 1, 2, 1, -1, 3, 2, 3, 4]));
        Ok(())
    }

    #[test]
    fn the_field_apart_is_the_inline_one_and_any_size() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![3, 3])?.with_blocked(Blocked::Explicit(vec![4]))?;
        let (summary, field) = distances_with_field(&lattice, 0, &Never)?;
        let inline = distances(&lattice, 0, &Never)?;
        let as_inline: Vec<i64> = field
            .iter()
            .map(|&d| if d == u32::MAX { -1 } else { i64::from(d) })
            .collect();
        assert_eq!(Some(as_inline), inline.field);
        assert_eq!(
            Distances {
                field: None,
                ..inline
            },
            summary
        );
        let big = Lattice::new(vec![FULL_FIELD_CAP as u32 + 1])?;
        let (summary, field) = distances_with_field(&big, 0, &Never)?;
        assert_eq!(field.len() as u64, big.vertex_count());
        assert_eq!(field.last().copied(), Some(FULL_FIELD_CAP as u32));
        assert_eq!(summary, distances(&big, 0, &Never)?);
        Ok(())
    }

    #[test]
    fn field_is_left_out_above_the_cap() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![FULL_FIELD_CAP as u32 + 1])?;
        let found = distances(&lattice, 0, &Never)?;
        assert_eq!(found.field, None);
        assert_eq!(found.eccentricity, FULL_FIELD_CAP);
        Ok(())
    }

    #[test]
    fn ring_of_three_has_a_two_entry_histogram() -> Result<(), LatticeError> {
        let lattice = Lattice::new(vec![3])?.with_wrap(vec![true])?;
        assert_eq!(histogram_entries(&lattice), 2);
        Ok(())
    }

    #[test]
    fn the_fast_engine_summary_equals_the_reference_above_the_field_cap() -> Result<(), LatticeError>
    {
        let open = Lattice::new(vec![400, 300])?;
        let blocked = Lattice::new(vec![70, 60, 30])?.with_blocked(Blocked::Seeded {
            fraction: 0.25,
            seed: 9,
        })?;
        for (lattice, source) in [(open, 12_345), (blocked, 0)] {
            assert!(lattice.vertex_count() > FULL_FIELD_CAP);
            let reference =
                distances(&lattice, source, &Never).map_err(|_| LatticeError::Dimensions(0))?;
            let levels = crate::engine::bfs_levels(&lattice, source, None, &Never)
                .map_err(|_| LatticeError::Dimensions(0))?;
            assert_eq!(distances_from_levels(&lattice, source, &levels), reference);
        }
        Ok(())
    }
}
