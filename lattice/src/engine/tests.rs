//! The fast engine against the reference in `bfs.rs`: same path, same
//! counts, distances equal modulo 3, on random small lattices with and
//! without wrap and blocking, on one thread and on several. Seeded blocking,
//! which the sweep evaluates per vertex from tile corners instead of reading
//! a mask, has its own lattices: 1..=6 axes, fractions up to 1, blocked
//! sources and stops.

use std::cell::Cell;
use std::error::Error;

use proptest::prelude::*;

use super::{
    Levels, ShortestPath, Tuning, bfs_levels_tuned, fast_estimate, fast_shortest_path_tuned,
};
use crate::bfs::{bfs_distances, shortest_path};
use crate::cancel::{Cancel, Cancelled, Never};
use crate::spec::{Blocked, Lattice};

const TINY: Tuning = Tuning::TINY;

/// Both tile orders, with tiny parts: the checks below run each, since
/// production picks the order by size (`tiling.rs`) and these lattices are
/// all small.
const ORDERS: [Tuning; 2] = [Tuning::TINY, Tuning::TINY_ROW_MAJOR];

fn bfs_levels(
    lattice: &Lattice,
    source: u64,
    stop_at: Option<u64>,
    cancel: &dyn Cancel,
) -> Result<Levels, Cancelled> {
    bfs_levels_tuned(lattice, source, stop_at, TINY, cancel)
}

fn fast_shortest_path(
    lattice: &Lattice,
    start: u64,
    end: u64,
    cancel: &dyn Cancel,
) -> Result<Option<ShortestPath>, Cancelled> {
    fast_shortest_path_tuned(lattice, start, end, TINY, cancel)
}

type TestResult = Result<(), Box<dyn Error>>;

/// Checks `bfs_levels` from `source` against `bfs_distances`: states mod 3,
/// reached count, level sizes, eccentricity and reached edges.
fn check_levels(lattice: &Lattice, source: u64) -> Result<(), TestCaseError> {
    for tuning in ORDERS {
        check_levels_tuned(lattice, source, tuning)?;
    }
    Ok(())
}

/// [`check_levels`] with one tuning.
fn check_levels_tuned(lattice: &Lattice, source: u64, tuning: Tuning) -> Result<(), TestCaseError> {
    let dist =
        bfs_distances(lattice, source, &Never).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let levels = bfs_levels_tuned(lattice, source, None, tuning, &Never)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut sizes: Vec<u64> = Vec::new();
    for (v, &d) in dist.iter().enumerate() {
        let expected = (d != u32::MAX).then_some((d % 3) as u8);
        prop_assert_eq!(levels.distance_mod3(v as u64), expected, "vertex {}", v);
        if d != u32::MAX {
            let d = d as usize;
            if sizes.len() <= d {
                sizes.resize(d + 1, 0);
            }
            sizes[d] += 1;
        }
    }
    prop_assert_eq!(levels.level_sizes(), &sizes[..]);
    prop_assert_eq!(levels.reached(), sizes.iter().sum::<u64>());
    prop_assert_eq!(
        levels.eccentricity(),
        (sizes.len() as u64).saturating_sub(1)
    );
    let mut edges = 0u64;
    let mut neighbours = Vec::new();
    for v in 0..lattice.vertex_count() {
        if dist[v as usize] == u32::MAX {
            continue;
        }
        lattice.neighbors_into(v, &mut neighbours);
        edges += neighbours
            .iter()
            .filter(|&&u| u > v && dist[u as usize] != u32::MAX)
            .count() as u64;
    }
    prop_assert_eq!(levels.reached_edges(), edges);
    prop_assert!(levels.memory_bytes() <= fast_estimate(lattice).memory_bytes);
    Ok(())
}

/// Checks a search from `source` stopped at `stop` against `bfs_distances`:
/// exactly the vertices within the stop's distance are labelled (all that
/// `source` reaches when the stop is blocked or unreachable).
fn check_stopped(lattice: &Lattice, source: u64, stop: u64) -> Result<(), TestCaseError> {
    let dist =
        bfs_distances(lattice, source, &Never).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for tuning in ORDERS {
        let levels = bfs_levels_tuned(lattice, source, Some(stop), tuning, &Never)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let limit = dist[stop as usize];
        let mut reached = 0u64;
        for (v, &d) in dist.iter().enumerate() {
            let labelled = d != u32::MAX && d <= limit;
            reached += u64::from(labelled);
            let expected = labelled.then_some((d % 3) as u8);
            prop_assert_eq!(levels.distance_mod3(v as u64), expected, "vertex {}", v);
        }
        prop_assert_eq!(levels.reached(), reached);
    }
    Ok(())
}

fn check_path(lattice: &Lattice, start: u64, end: u64) -> Result<(), TestCaseError> {
    let reference = shortest_path(lattice, start, end, &Never)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    for tuning in ORDERS {
        let fast = fast_shortest_path_tuned(lattice, start, end, tuning, &Never)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&fast, &reference);
    }
    Ok(())
}

/// `sizes` as a lattice, wrapped along the axes of size 3 or more whose bit
/// is set in `wrap_bits`, with seeded blocking of (fraction, seed) `blocked`
/// if any; None if that is not a valid lattice.
fn lattice_of(sizes: Vec<u32>, wrap_bits: u8, blocked: Option<(f64, u64)>) -> Option<Lattice> {
    let wrap = sizes
        .iter()
        .enumerate()
        .map(|(a, &s)| s >= 3 && wrap_bits & (1 << a) != 0)
        .collect();
    let lattice = Lattice::new(sizes).ok()?.with_wrap(wrap).ok()?;
    match blocked {
        None => Some(lattice),
        Some((fraction, seed)) => lattice
            .with_blocked(Blocked::Seeded { fraction, seed })
            .ok(),
    }
}

/// A random lattice of 1..=4 axes of sizes 2..=9 (wide enough on axis 0 to
/// cross a 64-bit word sometimes), optionally wrapped and blocked.
fn lattices() -> impl Strategy<Value = Lattice> {
    let sizes = prop::collection::vec(2u32..=9, 1..=4);
    let wide = prop::option::weighted(0.2, 60u32..=140);
    let blocked = prop::option::weighted(0.5, (0.0f64..0.45, any::<u64>()));
    (sizes, wide, any::<u8>(), blocked).prop_filter_map(
        "valid lattice",
        |(mut sizes, wide, wrap_bits, blocked)| {
            if let Some(w) = wide {
                sizes[0] = w;
                sizes.truncate(2);
            }
            lattice_of(sizes, wrap_bits, blocked)
        },
    )
}

/// A random lattice of 1..=6 axes of sizes 2..=6 (or two axes, the first
/// wide enough to cross words), optionally wrapped, with seeded blocking of
/// any fraction, often a high one (up to every vertex).
fn seeded_lattices() -> impl Strategy<Value = Lattice> {
    let sizes = prop::collection::vec(2u32..=6, 1..=6);
    let wide = prop::option::weighted(0.2, 60u32..=140);
    let fraction = prop_oneof![0.0f64..=1.0, 0.3f64..0.7, Just(1.0)];
    (sizes, wide, any::<u8>(), fraction, any::<u64>()).prop_filter_map(
        "valid lattice",
        |(mut sizes, wide, wrap_bits, fraction, seed)| {
            if let Some(w) = wide {
                sizes[0] = w;
                sizes.truncate(2);
            }
            lattice_of(sizes, wrap_bits, Some((fraction, seed)))
        },
    )
}

/// A random lattice of 2 or 3 axes of sizes 9..=40: tile grids of a few
/// bricks of two tiles along each axis (or of three, or none where a count
/// is odd), optionally wrapped and blocked, so that moves cross brick faces
/// and wrap from brick to brick along every axis.
fn bricked_lattices() -> impl Strategy<Value = Lattice> {
    let sizes = prop::collection::vec(9u32..=40, 2..=3);
    let blocked = prop::option::weighted(0.5, (0.0f64..0.4, any::<u64>()));
    (sizes, any::<u8>(), blocked).prop_filter_map("valid lattice", |(sizes, wrap_bits, blocked)| {
        lattice_of(sizes, wrap_bits, blocked)
    })
}

/// Runs `f` on a rayon pool of `threads` threads.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> Result<T, Box<dyn Error>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    Ok(pool.install(f))
}

/// A proptest failure as an ordinary error, for the plain tests.
fn plain(result: Result<(), TestCaseError>) -> TestResult {
    result.map_err(|e| e.to_string().into())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn levels_agree_with_reference_distances(lattice in lattices(), pick in any::<u64>()) {
        check_levels(&lattice, pick % lattice.vertex_count())?;
    }

    #[test]
    fn fast_path_equals_reference_path(lattice in lattices(), a in any::<u64>(), b in any::<u64>()) {
        let n = lattice.vertex_count();
        check_path(&lattice, a % n, b % n)?;
    }

    #[test]
    fn bricked_levels_and_paths_agree_with_reference(
        lattice in bricked_lattices(), a in any::<u64>(), b in any::<u64>(),
    ) {
        let n = lattice.vertex_count();
        check_levels(&lattice, a % n)?;
        check_path(&lattice, a % n, b % n)?;
    }

    // Sources and stops are drawn anywhere, so blocked ones are common at high fractions.
    #[test]
    fn seeded_levels_agree_with_reference(lattice in seeded_lattices(), pick in any::<u64>()) {
        check_levels(&lattice, pick % lattice.vertex_count())?;
    }

    #[test]
    fn seeded_stops_agree_with_reference(
        lattice in seeded_lattices(), a in any::<u64>(), b in any::<u64>(),
    ) {
        let n = lattice.vertex_count();
        check_stopped(&lattice, a % n, b % n)?;
        check_path(&lattice, a % n, b % n)?;
    }
}

#[test]
fn sizes_two_and_word_boundaries_on_one_and_two_threads() -> TestResult {
    for sizes in [
        vec![2],
        vec![2, 2, 2],
        vec![63],
        vec![64],
        vec![65],
        vec![130, 3],
        vec![2, 9, 2, 9],
    ] {
        let lattice = Lattice::new(sizes)?;
        let last = lattice.vertex_count() - 1;
        for threads in [1, 2] {
            plain(on_threads(threads, || check_levels(&lattice, 0))?)?;
            plain(on_threads(threads, || check_path(&lattice, 0, last))?)?;
        }
    }
    Ok(())
}

#[test]
fn large_levels_split_across_threads_agree() -> TestResult {
    // Big enough that levels are cut into several parts, with wrap and blocking.
    let open = Lattice::new(vec![600, 600])?;
    let wrapped = Lattice::new(vec![200, 37, 41])?.with_wrap(vec![true, false, true])?;
    let blocked = Lattice::new(vec![512, 512])?.with_blocked(Blocked::Seeded {
        fraction: 0.2,
        seed: 7,
    })?;
    let wrapped_blocked = Lattice::new(vec![90, 37, 41])?
        .with_wrap(vec![true, false, true])?
        .with_blocked(Blocked::Seeded {
            fraction: 0.25,
            seed: 9,
        })?;
    let listed = Lattice::new(vec![300, 300])?.with_blocked(Blocked::Explicit(
        (0..90_000).filter(|v| v % 7 == 3).collect(),
    ))?;
    for lattice in [open, wrapped, blocked, wrapped_blocked, listed] {
        let source = lattice.vertex_count() / 3;
        let source = if lattice.is_blocked(source) {
            source + 1
        } else {
            source
        };
        let one = on_threads(1, || bfs_levels(&lattice, source, None, &Never))??;
        let two = on_threads(2, || bfs_levels(&lattice, source, None, &Never))??;
        assert_eq!(one.level_sizes(), two.level_sizes());
        plain(on_threads(2, || check_levels(&lattice, source))?)?;
        plain(on_threads(2, || {
            check_path(&lattice, 1, lattice.vertex_count() - 2)
        })?)?;
    }
    Ok(())
}

#[test]
fn blocked_source_reaches_nothing() -> TestResult {
    let lattice = Lattice::new(vec![4, 4])?.with_blocked(Blocked::Explicit(vec![5]))?;
    let levels = bfs_levels(&lattice, 5, None, &Never)?;
    assert_eq!(levels.reached(), 0);
    assert_eq!(levels.eccentricity(), 0);
    assert!(levels.level_sizes().is_empty());
    assert_eq!(fast_shortest_path(&lattice, 5, 0, &Never)?, None);
    Ok(())
}

#[test]
fn stop_at_labels_exactly_the_ball() -> TestResult {
    let lattice = Lattice::uniform(3, 10)?;
    let levels = bfs_levels(&lattice, 0, Some(lattice.index_of(&[1, 1, 0])?), &Never)?;
    assert_eq!(levels.eccentricity(), 2);
    assert_eq!(levels.level_sizes(), &[1, 3, 6]);
    assert_eq!(levels.distance_mod3(lattice.index_of(&[3, 0, 0])?), None);
    Ok(())
}

#[test]
fn open_cube_uses_a_quarter_byte_per_vertex() -> TestResult {
    let lattice = Lattice::uniform(3, 100)?;
    let levels = bfs_levels(&lattice, 0, None, &Never)?;
    assert_eq!(levels.reached(), 1_000_000);
    assert_eq!(levels.eccentricity(), 297);
    assert_eq!(levels.reached_edges(), lattice.edge_count());
    let per_vertex = levels.memory_bytes() as f64 / 1e6;
    assert!(per_vertex < 0.3, "{per_vertex} bytes per vertex");
    Ok(())
}

#[test]
fn seeded_blocking_holds_no_mask() -> TestResult {
    let open = Lattice::uniform(3, 100)?;
    let seeded = open.clone().with_blocked(Blocked::Seeded {
        fraction: 0.2,
        seed: 42,
    })?;
    let listed = open.with_blocked(Blocked::Explicit((0..1_000_000).step_by(5).collect()))?;
    // On one thread a seeded rule is evaluated in place whatever the size.
    let per_vertex = |lattice: &Lattice, threads: usize| -> Result<f64, Cancelled> {
        let source = (0..).find(|&v| !lattice.is_blocked(v)).unwrap_or(0);
        let levels =
            crate::with_engine_threads(threads, || bfs_levels(lattice, source, None, &Never))?;
        Ok(levels.memory_bytes() as f64 / 1e6)
    };
    let seeded_bytes = per_vertex(&seeded, 1)?;
    assert!(seeded_bytes < 0.3, "{seeded_bytes} bytes per vertex");
    // On two, a lattice this small gets its mask, built on both (sweep::mask_seeded).
    let seeded_two = per_vertex(&seeded, 2)?;
    assert!(seeded_two > 0.375, "{seeded_two} bytes per vertex");
    // An explicit list keeps its bit per vertex.
    let listed_bytes = per_vertex(&listed, 1)?;
    assert!(listed_bytes > 0.375, "{listed_bytes} bytes per vertex");
    // The estimate drops the mask too (on 10^9 vertices it outweighs the larger outbox entries).
    let big = Lattice::uniform(3, 1000)?;
    let big_seeded = big.clone().with_blocked(Blocked::Seeded {
        fraction: 0.2,
        seed: 42,
    })?;
    let big_listed = big.with_blocked(Blocked::Explicit(vec![7]))?;
    let mask_bytes = 1_000_000_000 / 64 * 8;
    let saved = fast_estimate(&big_listed).memory_bytes - fast_estimate(&big_seeded).memory_bytes;
    assert!(
        saved > mask_bytes * 9 / 10 && saved <= mask_bytes,
        "{saved}"
    );
    Ok(())
}

#[test]
fn fully_blocked_lattice_reaches_nothing() -> TestResult {
    let lattice = Lattice::new(vec![9, 70])?.with_blocked(Blocked::Seeded {
        fraction: 1.0,
        seed: 1,
    })?;
    for source in [0, 5, 629] {
        let levels = bfs_levels(&lattice, source, Some(0), &Never)?;
        assert_eq!(levels.reached(), 0);
        assert_eq!(fast_shortest_path(&lattice, source, 0, &Never)?, None);
    }
    Ok(())
}

#[test]
fn cancellation_stops_the_search() -> TestResult {
    let lattice = Lattice::uniform(2, 300)?;
    let polls = Cell::new(0u32);
    let cancel = || {
        polls.set(polls.get() + 1);
        polls.get() > 10
    };
    assert_eq!(
        bfs_levels(&lattice, 0, None, &cancel).err(),
        Some(Cancelled)
    );
    assert_eq!(
        fast_shortest_path(&lattice, 0, 89_999, &|| true),
        Err(Cancelled)
    );
    Ok(())
}
