//! Cancellation and estimates of every operation; their results are checked
//! against a naive reference in `lattice/tests/ops_reference.rs`.

use std::cell::Cell;
use std::error::Error;

use super::*;
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
