//! The BFS ball around a vertex: every vertex within `radius` hops.
//!
//! A small ball in a large lattice should not cost a search over the whole
//! lattice, so the ball is searched sparsely (a hash set of the vertices
//! seen) when its size bound makes that cheaper in memory, and densely
//! otherwise: where the fast engine pays (`engine/mod.rs`,
//! `fast_engine_pays`) it is stopped after level `radius` (a quarter byte a
//! vertex), its level sizes the counts and its states the listing; else
//! the reference (`bfs.rs`, one `u32` per vertex) with a radius stop. The bound is the number of integer points within L1 distance
//! `radius` in `d` dimensions, which the ball on any lattice (wrapped or
//! blocked) cannot exceed.

use std::collections::HashSet;
use std::mem::size_of;

use crate::bfs::{Stop, UNREACHED, search, slot};
use crate::cancel::{Cancel, Cancelled, poll};
use crate::engine::{bfs_levels_within, fast_engine_pays, fast_search_bytes};
use crate::estimate::{Estimate, search_bytes};
use crate::spec::Lattice;

/// A ball lists its vertices only when it has at most this many.
pub const BALL_LIST_CAP: u64 = 10_000;

/// The vertices within `radius` hops of `center`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ball {
    /// The center's coordinate, axis 0 first.
    pub center: Vec<u32>,
    /// The radius asked for, in hops.
    pub radius: u32,
    /// Vertices in the ball, the center included; 0 when the center is blocked.
    pub count: u64,
    /// `by_distance[d]` = vertices at exactly `d` hops; ends at the farthest
    /// distance present (no trailing zeros), empty when the center is blocked.
    pub by_distance: Vec<u64>,
    /// The ball's coordinates in ascending vertex index, only when `count`
    /// is at most [`BALL_LIST_CAP`].
    pub vertices: Option<Vec<Vec<u32>>>,
}

/// The BFS ball of `radius` hops around `center` (center included at
/// distance 0). A blocked or out-of-range center gives an empty ball.
pub fn neighbors(
    lattice: &Lattice,
    center: u64,
    radius: u32,
    cancel: &dyn Cancel,
) -> Result<Ball, Cancelled> {
    let (ball, _) = ball(lattice, center, radius, BALL_LIST_CAP, cancel)?;
    Ok(ball)
}

/// [`neighbors`], and for a ball of more than [`BALL_LIST_CAP`] vertices
/// (whose coordinates the [`Ball`] does not list) every vertex's index in
/// ascending order: a job's stored result part (issue 22). One search, as
/// [`neighbors`]; the list costs 8 bytes a vertex of the ball.
pub fn neighbors_listed(
    lattice: &Lattice,
    center: u64,
    radius: u32,
    cancel: &dyn Cancel,
) -> Result<(Ball, Option<Vec<u64>>), Cancelled> {
    ball(lattice, center, radius, u64::MAX, cancel)
}

/// The ball, its coordinates listed up to `BALL_LIST_CAP` vertices, and
/// its indices beyond that when `list_cap` allows.
fn ball(
    lattice: &Lattice,
    center: u64,
    radius: u32,
    list_cap: u64,
    cancel: &dyn Cancel,
) -> Result<(Ball, Option<Vec<u64>>), Cancelled> {
    let (indices, by_distance) = if center >= lattice.vertex_count() || lattice.is_blocked(center) {
        (Some(Vec::new()), Vec::new())
    } else if plan(lattice, radius).sparse {
        sparse(lattice, center, radius, list_cap, cancel)?
    } else {
        dense(
            lattice,
            center,
            radius,
            list_cap,
            fast_engine_pays(lattice),
            cancel,
        )?
    };
    let count: u64 = by_distance.iter().sum();
    let (listed, beyond) = match indices {
        Some(list) if count <= BALL_LIST_CAP => (Some(list), None),
        other => (None, other),
    };
    let ball = Ball {
        center: lattice.coord_of(center),
        radius,
        count,
        by_distance,
        vertices: listed.map(|list| list.into_iter().map(|v| lattice.coord_of(v)).collect()),
    };
    Ok((ball, beyond))
}

/// A ball search's listed indices (when within its list cap) and counts per distance.
pub(super) type Found = (Option<Vec<u64>>, Vec<u64>);

/// Level by level over a hash set, listing the ball when within the cap.
pub(super) fn sparse(
    lattice: &Lattice,
    center: u64,
    radius: u32,
    list_cap: u64,
    cancel: &dyn Cancel,
) -> Result<Found, Cancelled> {
    let capacity = plan(lattice, radius).bound;
    let (mut order, by_distance) = sparse_order(lattice, center, radius, capacity, cancel)?;
    let listed = (order.len() as u64 <= list_cap).then(|| {
        order.sort_unstable();
        order
    });
    Ok((listed, by_distance))
}

/// The ball around the open vertex `center` in BFS order, and its counts
/// per distance, searched over a hash set sized for `capacity` vertices
/// (a bound on the ball, so neither buffer grows).
pub(crate) fn sparse_order(
    lattice: &Lattice,
    center: u64,
    radius: u32,
    capacity: u64,
    cancel: &dyn Cancel,
) -> Result<(Vec<u64>, Vec<u64>), Cancelled> {
    let mut seen = HashSet::with_capacity(slot(capacity));
    let mut order = Vec::with_capacity(slot(capacity));
    seen.insert(center);
    order.push(center);
    let mut by_distance = vec![1u64];
    let (mut level_start, mut expansions) = (0, 0u64);
    for _ in 0..radius {
        let level_end = order.len();
        for i in level_start..level_end {
            if poll(cancel, expansions) {
                return Err(Cancelled);
            }
            expansions += 1;
            lattice.for_each_neighbor(order[i], |u| {
                if seen.insert(u) {
                    order.push(u);
                }
            });
        }
        if order.len() == level_end {
            break;
        }
        by_distance.push((order.len() - level_end) as u64);
        level_start = level_end;
    }
    Ok((order, by_distance))
}

/// One search stopped after level `radius`: the fast engine when `fast`
/// (its level sizes the counts, the listing read off its states), else the
/// reference and a scan of its distance array.
pub(super) fn dense(
    lattice: &Lattice,
    center: u64,
    radius: u32,
    list_cap: u64,
    fast: bool,
    cancel: &dyn Cancel,
) -> Result<Found, Cancelled> {
    if fast {
        let levels = bfs_levels_within(lattice, center, u64::from(radius), cancel)?;
        let listed = (levels.reached() <= list_cap).then(|| levels.labelled());
        return Ok((listed, levels.level_sizes().to_vec()));
    }
    let found = search(lattice, center, Stop::Radius(radius), cancel)?;
    let by_distance = super::distances::histogram(&found.dist, found.reached, cancel)?;
    let listed = (found.reached <= list_cap).then(|| {
        (0u64..)
            .zip(&found.dist)
            .filter(|&(_, &d)| d != UNREACHED)
            .map(|(v, _)| v)
            .collect()
    });
    Ok((listed, by_distance))
}

/// Which search a ball of `radius` gets, and its size bound.
struct Plan {
    /// Vertices the ball can hold at most.
    bound: u64,
    /// Search sparsely (hash set) rather than densely (a whole-lattice search).
    sparse: bool,
    /// Peak bytes of the chosen search's own buffers.
    bytes: u64,
}

fn plan(lattice: &Lattice, radius: u32) -> Plan {
    let bound = l1_ball_points(lattice.dimensions() as u64, u64::from(radius))
        .min(lattice.open_vertex_bound());
    let sparse_bytes =
        hash_set_bytes(bound).saturating_add(bound.saturating_mul(size_of::<u64>() as u64));
    let dense_bytes = if fast_engine_pays(lattice) {
        fast_search_bytes(lattice)
    } else {
        let (dist, queue) = search_bytes(lattice);
        dist.saturating_add(queue)
    };
    if sparse_bytes < dense_bytes {
        Plan {
            bound,
            sparse: true,
            bytes: sparse_bytes,
        }
    } else {
        Plan {
            bound,
            sparse: false,
            bytes: dense_bytes,
        }
    }
}

/// Integer points of Z^d within L1 distance `r` of the origin:
/// `sum over k of 2^k C(d, k) C(r, k)` (choose the k nonzero axes, their
/// signs and a composition of at most r into k positive parts). Saturates.
fn l1_ball_points(d: u64, r: u64) -> u64 {
    let mut total = 0u64;
    let mut dk = 1u128; // C(d, k)
    let mut rk = 1u128; // C(r, k)
    for k in 0..=d.min(r) {
        if k > 0 {
            dk = dk * u128::from(d - k + 1) / u128::from(k);
            rk = rk.saturating_mul(u128::from(r - k + 1)) / u128::from(k);
        }
        let term = (dk << k).saturating_mul(rk);
        total = total.saturating_add(u64::try_from(term).unwrap_or(u64::MAX));
    }
    total
}

/// Heap bytes of a `HashSet<u64>` made `with_capacity(cap)`: std's table
/// rounds `cap * 8 / 7` up to a power of two buckets, each one `u64` plus a
/// control byte, plus a group of trailing control bytes; rounded up here.
pub(crate) fn hash_set_bytes(cap: u64) -> u64 {
    if cap == 0 {
        return 0;
    }
    let buckets = (cap.saturating_mul(8) / 7)
        .max(3)
        .saturating_add(1)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX);
    buckets
        .saturating_mul(size_of::<u64>() as u64 + 1)
        .saturating_add(64)
}

/// Estimate for [`neighbors`]: the chosen search's buffers, the counts per
/// distance and the listed coordinates. Visits: the ball's size bound.
pub(crate) fn estimate(lattice: &Lattice, radius: u32) -> Estimate {
    let plan = plan(lattice, radius);
    let d = lattice.dimensions() as u64;
    // Twice the levels: the search's level sizes and the ball's copy.
    let levels = u64::from(radius)
        .saturating_add(1)
        .min(super::distances::histogram_entries(lattice))
        .saturating_mul(2);
    let listed = plan.bound.min(BALL_LIST_CAP);
    let listed_bytes = listed * (size_of::<Vec<u32>>() as u64 + d * size_of::<u32>() as u64);
    // Indices are collected before they become coordinates; beyond the
    // cap the worker keeps them all (`neighbors_listed`, a result part).
    let indices = plan.bound.saturating_mul(size_of::<u64>() as u64);
    Estimate {
        memory_bytes: plan
            .bytes
            .saturating_add(levels.saturating_mul(size_of::<u64>() as u64))
            .saturating_add(listed_bytes)
            .saturating_add(indices),
        vertex_visits: plan.bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::Never;
    use crate::spec::Blocked;
    use std::error::Error;

    #[test]
    fn the_listed_ball_beyond_the_cap_holds_every_vertex_in_index_order()
    -> Result<(), Box<dyn Error>> {
        // Radius 80 around the middle of a 300 × 300 square: 12,961 > 10,000.
        let lattice = Lattice::new(vec![300, 300])?;
        let center = 150 + 300 * 150;
        let (ball, listed) = neighbors_listed(&lattice, center, 80, &Never)?;
        assert!(ball.count > BALL_LIST_CAP && ball.vertices.is_none());
        let listed = listed.ok_or("listed")?;
        assert_eq!(listed.len() as u64, ball.count);
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
        let l1 = |v: u64| (v % 300).abs_diff(150) + (v / 300).abs_diff(150);
        assert!(listed.iter().all(|&v| l1(v) <= 80));
        assert_eq!(ball, neighbors(&lattice, center, 80, &Never)?);
        // Within the cap, the ball lists it and nothing more is kept.
        let (small, beyond) = neighbors_listed(&lattice, center, 5, &Never)?;
        assert!(small.vertices.is_some() && beyond.is_none());
        Ok(())
    }

    #[test]
    fn l1_ball_counts_match_small_cases() {
        assert_eq!(l1_ball_points(1, 3), 7);
        assert_eq!(l1_ball_points(2, 1), 5);
        assert_eq!(l1_ball_points(2, 2), 13);
        assert_eq!(l1_ball_points(3, 1), 7);
        assert_eq!(l1_ball_points(3, 2), 25);
        assert_eq!(l1_ball_points(10, 0), 1);
        assert_eq!(l1_ball_points(10, u64::from(u32::MAX)), u64::MAX);
    }

    #[test]
    fn small_ball_in_a_large_lattice_is_sparse() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::uniform(3, 1000)?;
        assert!(plan(&lattice, 3).sparse);
        let center = lattice.index_of(&[500, 500, 500])?;
        let ball = neighbors(&lattice, center, 2, &Never)?;
        assert_eq!(ball.count, 25);
        assert_eq!(ball.by_distance, vec![1, 6, 18]);
        let listed = ball.vertices.ok_or("not listed")?;
        assert_eq!(listed.len(), 25);
        assert!(listed.contains(&vec![500, 500, 502]));
        Ok(())
    }

    #[test]
    fn sparse_and_dense_agree() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![7, 6])?
            .with_wrap(vec![true, false])?
            .with_blocked(Blocked::Explicit(vec![8, 9, 15]))?;
        for radius in [0, 1, 2, 5, 40] {
            let a = sparse(&lattice, 1, radius, BALL_LIST_CAP, &Never)?;
            let b = dense(&lattice, 1, radius, BALL_LIST_CAP, false, &Never)?;
            let c = dense(&lattice, 1, radius, BALL_LIST_CAP, true, &Never)?;
            assert_eq!(a, b, "radius {radius}");
            assert_eq!(a, c, "radius {radius}");
        }
        Ok(())
    }

    #[test]
    fn ball_stops_growing_at_the_component_edge() -> Result<(), Box<dyn Error>> {
        let lattice = Lattice::new(vec![4])?;
        let ball = neighbors(&lattice, 0, 10, &Never)?;
        assert_eq!(ball.by_distance, vec![1, 1, 1, 1]);
        assert_eq!(ball.count, 4);
        let blocked = lattice.with_blocked(Blocked::Explicit(vec![0]))?;
        let empty = neighbors(&blocked, 0, 3, &Never)?;
        assert_eq!((empty.count, empty.by_distance.len()), (0, 0));
        assert_eq!(empty.vertices, Some(vec![]));
        Ok(())
    }
}
