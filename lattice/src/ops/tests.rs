//! Cancellation and estimates of every operation, and the operations that
//! run on the fast engine against the reference search of `bfs.rs` on
//! random lattices; their results are also checked against a naive
//! reference in `lattice/tests/ops_reference.rs`.

use std::cell::Cell;
use std::error::Error;

use proptest::prelude::*;

use super::*;
use crate::bfs::{Stop, UNREACHED, search, shortest_path};
use crate::cancel::{Cancelled, Never, POLL_INTERVAL};
use crate::estimate::{Work, estimate};
use crate::spec::{Blocked, Lattice};

type TestResult = Result<(), Box<dyn Error>>;

fn seeded(sizes: Vec<u32>, fraction: f64) -> Result<Lattice, Box<dyn Error>> {
    Ok(Lattice::new(sizes)?.with_blocked(Blocked::Seeded { fraction, seed: 3 })?)
}

#[test]
fn every_operation_stops_when_cancelled() -> TestResult {
    let lattice = seeded(vec![40, 40, 40], 0.2)?;
    let stop = || true;
    let source = (0..lattice.vertex_count())
        .find(|&v| !lattice.is_blocked(v))
        .ok_or("all blocked")?;
    assert_eq!(distances(&lattice, source, &stop), Err(Cancelled));
    assert_eq!(neighbors(&lattice, source, 100, &stop), Err(Cancelled));
    assert_eq!(neighbors(&lattice, source, 2, &stop), Err(Cancelled));
    assert_eq!(components(&lattice, &stop), Err(Cancelled));
    assert_eq!(analyze(&lattice, &stop), Err(Cancelled));
    assert_eq!(
        shortest_paths(&lattice, &[(source, source)], &stop),
        Err(Cancelled)
    );
    Ok(())
}

#[test]
fn component_scan_polls_about_every_poll_interval_steps() -> TestResult {
    let lattice = seeded(vec![64, 64, 64], 0.1)?; // 262_144 vertices
    let polls = Cell::new(0u64);
    let count = || {
        polls.set(polls.get() + 1);
        false
    };
    components(&lattice, &count)?;
    // One step per vertex scanned plus one per vertex expanded.
    let steps = lattice.vertex_count() + lattice.open_vertex_count();
    assert_eq!(polls.get(), steps.div_ceil(POLL_INTERVAL));
    Ok(())
}

#[test]
fn a_cancel_midway_through_analysis_is_honoured() -> TestResult {
    let lattice = seeded(vec![30, 30], 0.3)?;
    let polls = Cell::new(0u64);
    let later = || {
        polls.set(polls.get() + 1);
        polls.get() > 3
    };
    assert_eq!(analyze(&lattice, &later), Err(Cancelled));
    Ok(())
}

#[test]
fn estimates_bound_the_main_buffers() -> TestResult {
    let open = Lattice::uniform(3, 50)?;
    let n = open.vertex_count();
    let path = estimate(&open, Work::ShortestPath);
    assert_eq!(path, crate::estimate_shortest_path(&open));
    let dist = estimate(&open, Work::Distances);
    assert!(dist.memory_bytes >= 4 * n);
    assert_eq!(dist.vertex_visits, n);
    // A small ball is searched sparsely: far below a distance array.
    let ball = estimate(&open, Work::Neighbors { radius: 2 });
    assert!(ball.memory_bytes < 4 * n / 10, "{ball:?}");
    assert_eq!(ball.vertex_visits, 25);
    let huge = estimate(&open, Work::Neighbors { radius: 1000 });
    assert!(huge.memory_bytes >= 4 * n);
    assert_eq!(huge.vertex_visits, n);
    // Open lattices: components and analysis are written down.
    assert_eq!(estimate(&open, Work::Components).vertex_visits, 0);
    assert_eq!(estimate(&open, Work::Analyze).vertex_visits, 0);
    let batch = estimate(&open, Work::Batch { distinct_ends: 3 });
    assert_eq!(batch.vertex_visits, 3 * n);
    Ok(())
}

#[test]
fn blocking_raises_estimates_to_their_worst_case() -> TestResult {
    let lattice = seeded(vec![500, 400], 0.3)?;
    let n = lattice.vertex_count();
    // The FIFO may hold every open vertex once blocking voids the level bound.
    let path = estimate(&lattice, Work::ShortestPath);
    assert!(path.memory_bytes >= 12 * n);
    let components = estimate(&lattice, Work::Components);
    assert_eq!(components.vertex_visits, n);
    assert!(components.memory_bytes >= 8 * n + n / 4);
    // Analysis: scan + component pass + double sweep or capped all-pairs.
    let analysis = estimate(&lattice, Work::Analyze);
    let cap = EXACT_DIAMETER_CAP;
    assert!(analysis.vertex_visits >= 2 * n + cap * cap);
    Ok(())
}

#[test]
fn estimates_do_not_overflow_on_the_largest_lattice() -> TestResult {
    let lattice = seeded(vec![84; 10], 0.5)?;
    for work in [
        Work::ShortestPath,
        Work::Distances,
        Work::Neighbors { radius: u32::MAX },
        Work::Components,
        Work::Analyze,
        Work::Batch {
            distinct_ends: u64::MAX,
        },
    ] {
        let found = estimate(&lattice, work);
        assert!(found.memory_bytes > 0, "{work:?}");
    }
    let open = Lattice::uniform(10, 84)?;
    assert_eq!(estimate(&open, Work::Analyze).vertex_visits, 0);
    Ok(())
}

#[test]
fn never_is_accepted_everywhere() -> TestResult {
    let lattice = Lattice::new(vec![3])?.with_wrap(vec![true])?;
    assert_eq!(distances(&lattice, 0, &Never)?.eccentricity, 1);
    Ok(())
}

/// A random lattice of 1..=6 axes (sizes 2..=9, fewer and wider with fewer
/// axes, so that tiles pad and rows cross words), each axis of size 3 or
/// more wrapped at random; no blocking, a seeded fraction, or an explicit set.
fn lattices() -> impl Strategy<Value = Lattice> {
    let axes = (1usize..=6).prop_flat_map(|dims| {
        let most = [0, 200, 40, 12, 9, 6, 5][dims];
        prop::collection::vec((2u32..=most, any::<bool>()), dims)
    });
    let blocking = prop_oneof![
        1 => Just(None),
        2 => (0.0f64..0.5, any::<u64>()).prop_map(|(f, s)| Some(Blocked::Seeded { fraction: f, seed: s })),
        1 => prop::collection::vec(any::<u64>(), 0..40).prop_map(|v| Some(Blocked::Explicit(v))),
    ];
    (axes, blocking).prop_filter_map("valid lattice", |(axes, blocking)| {
        let sizes: Vec<u32> = axes.iter().map(|&(s, _)| s).collect();
        let wrap = axes.iter().map(|&(s, w)| w && s >= 3).collect();
        let lattice = Lattice::new(sizes).ok()?.with_wrap(wrap).ok()?;
        let n = lattice.vertex_count();
        match blocking {
            None => Some(lattice),
            Some(Blocked::Explicit(v)) => {
                let within = v.into_iter().map(|x| x % n).collect();
                lattice.with_blocked(Blocked::Explicit(within)).ok()
            }
            Some(rule) => lattice.with_blocked(rule).ok(),
        }
    })
}

/// A vertex from a random pick: out of range one time in eight, else any
/// vertex (blocked ones included).
fn vertex(lattice: &Lattice, pick: u64) -> u64 {
    let n = lattice.vertex_count();
    if pick.is_multiple_of(8) {
        n + pick % 3
    } else {
        pick % n
    }
}

fn fail(e: Cancelled) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

/// The reference ball: a radius-stopped search of `bfs.rs`, its counts and listing.
fn reference_ball(lattice: &Lattice, center: u64, radius: u32) -> (Vec<u64>, Vec<u64>) {
    if center >= lattice.vertex_count() {
        return (Vec::new(), Vec::new());
    }
    let Ok(found) = search(lattice, center, Stop::Radius(radius), &Never) else {
        return (Vec::new(), Vec::new());
    };
    let mut counts = Vec::new();
    let mut listed = Vec::new();
    for (v, &d) in (0u64..).zip(&found.dist) {
        if d != UNREACHED {
            listed.push(v);
            let d = d as usize;
            counts.resize(counts.len().max(d + 1), 0);
            counts[d] += 1;
        }
    }
    (listed, counts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fast_distances_equal_the_reference(lattice in lattices(), pick in any::<u64>()) {
        let source = vertex(&lattice, pick);
        let reference = distances_with_field(&lattice, source, &Never).map_err(fail)?;
        prop_assert_eq!(fast_distances_with_field(&lattice, source, &Never).map_err(fail)?, reference);
        let inline = distances(&lattice, source, &Never).map_err(fail)?;
        prop_assert_eq!(fast_distances(&lattice, source, &Never).map_err(fail)?, inline);
    }

    #[test]
    fn fast_balls_equal_the_reference(lattice in lattices(), pick in any::<u64>(), radius in 0u32..30) {
        let center = vertex(&lattice, pick);
        let (listed, counts) = reference_ball(&lattice, center, radius);
        let (ball, beyond) = neighbors_listed(&lattice, center, radius, &Never).map_err(fail)?;
        prop_assert_eq!(&ball.by_distance, &counts);
        prop_assert_eq!(ball.count, listed.len() as u64);
        let all = beyond.or_else(|| {
            ball.vertices.as_ref().map(|c| c.iter().map(|x| {
                let x: Vec<u64> = x.iter().map(|&c| u64::from(c)).collect();
                lattice.index_of(&x).unwrap_or(u64::MAX)
            }).collect())
        });
        prop_assert_eq!(all, Some(listed.clone()));
        // Small lattices search the reference; the fast ball must equal it too.
        let fast = neighbors::dense(&lattice, center, radius, u64::MAX, true, &Never).map_err(fail)?;
        prop_assert_eq!(&fast, &(Some(listed), counts));
        if center < lattice.vertex_count() && !lattice.is_blocked(center) {
            let sparse = neighbors::sparse(&lattice, center, radius, u64::MAX, &Never).map_err(fail)?;
            prop_assert_eq!(&fast, &sparse);
        }
    }

    #[test]
    fn fast_batches_equal_single_reference_paths(
        lattice in lattices(),
        picks in prop::collection::vec((any::<u64>(), 0u64..4), 1..12),
    ) {
        // A few ends shared by several starts.
        let ends: Vec<u64> = picks.iter().take(4).map(|&(p, _)| vertex(&lattice, p / 7)).collect();
        let pairs: Vec<(u64, u64)> = picks
            .iter()
            .map(|&(p, e)| (vertex(&lattice, p), ends[e as usize % ends.len()]))
            .collect();
        // Small lattices search the reference; the fast batch must equal it too.
        let batch = shortest_paths(&lattice, &pairs, &Never).map_err(fail)?;
        let fast = batch::shortest_paths_on(&lattice, &pairs, true, &Never).map_err(fail)?;
        for ((&(s, e), got), fast) in pairs.iter().zip(&batch).zip(&fast) {
            let reference = shortest_path(&lattice, s, e, &Never).map_err(fail)?;
            prop_assert_eq!(got, &reference, "{} -> {}", s, e);
            prop_assert_eq!(fast, &reference, "fast {} -> {}", s, e);
        }
    }
}

#[test]
fn large_fields_split_into_slabs_equal_the_reference() -> TestResult {
    // Several slabs along the slowest axis, small bricks and levels cut into parts.
    let open = Lattice::new(vec![300, 300])?;
    let wrapped = Lattice::new(vec![37, 41, 70])?.with_wrap(vec![true, false, true])?;
    let blocked = seeded(vec![64, 40, 50], 0.25)?;
    for lattice in [open, wrapped, blocked] {
        let source = (lattice.vertex_count() / 3..)
            .find(|&v| !lattice.is_blocked(v))
            .ok_or("all blocked")?;
        let (summary, field) = fast_distances_with_field(&lattice, source, &Never)?;
        // The estimate covers the search's own peak, the field and its written words.
        let levels = crate::engine::bfs_levels(&lattice, source, None, &Never)?;
        let n = lattice.vertex_count();
        let held = levels.memory_bytes() + 4 * n + n / 8;
        assert!(estimate(&lattice, Work::Distances).memory_bytes >= held);
        let (reference, reference_field) = distances_with_field(&lattice, source, &Never)?;
        assert_eq!(summary, reference);
        assert!(field == reference_field);
        // Both tile orders: production numbers lattices this small row-major.
        let orders = [
            crate::engine::Tuning::TINY,
            crate::engine::Tuning::TINY_ROW_MAJOR,
        ];
        for (threads, tuning) in [1, 2].into_iter().flat_map(|t| orders.map(|o| (t, o))) {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            let (_, tiny) = pool.install(|| {
                crate::engine::bfs_levels_with_field_tuned(&lattice, source, tuning, &Never)
            })?;
            assert!(tiny == reference_field, "{threads} threads, {tuning:?}");
        }
        let pairs = [(0, source), (lattice.vertex_count() - 1, source), (7, 3)];
        let batch = batch::shortest_paths_on(&lattice, &pairs, true, &Never)?;
        for (&(s, e), got) in pairs.iter().zip(&batch) {
            assert_eq!(got, &shortest_path(&lattice, s, e, &Never)?, "{s} -> {e}");
        }
    }
    Ok(())
}

#[test]
fn the_fast_engine_is_chosen_for_wide_levels_only() -> TestResult {
    use crate::engine::fast_engine_pays;
    assert!(!fast_engine_pays(&Lattice::new(vec![100_000])?));
    assert!(!fast_engine_pays(&Lattice::uniform(2, 316)?));
    assert!(!fast_engine_pays(&Lattice::uniform(3, 46)?));
    assert!(fast_engine_pays(&Lattice::uniform(5, 10)?));
    assert!(fast_engine_pays(&Lattice::uniform(3, 464)?));
    Ok(())
}
