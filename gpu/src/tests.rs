//! The kernel bodies, compiled as host C, against the CPU engine: the same
//! driver the GPU uses (`levels.rs`), so a wrong move, mask or counter in
//! `kernels/*.cuh` fails here, on machines without a GPU.

use crate::compare::{Case, same_levels, sample_cases};
use crate::host::{self, HostExec};
use crate::levels::{self, Endpoints, LevelExec, Readback};
use crate::{Gpu, GpuError, Library, Tuning, library_present};
use catalytic_lattice::{
    Blocked, DeviceLayout, DeviceMask, Lattice, Levels, Never, bfs_levels, fast_shortest_path,
    walk_canonical,
};
use proptest::prelude::*;

/// Every way the device may run a search: wide batches only, thin launches
/// only, the two alternating (a frontier of 2 tiles is small enough to go
/// thin, and most outgrow it), with the mask from the host or the kernel.
const TUNINGS: [Tuning; 4] = [
    Tuning {
        thin_max_tiles: 0,
        mask_on_device: false,
    },
    Tuning {
        thin_max_tiles: 0,
        mask_on_device: true,
    },
    Tuning {
        thin_max_tiles: 2,
        mask_on_device: true,
    },
    Tuning {
        thin_max_tiles: u64::MAX,
        mask_on_device: false,
    },
];

/// The layout a GPU with `tuning` builds.
fn layout_for(lattice: &Lattice, tuning: Tuning) -> DeviceLayout {
    if tuning.mask_on_device {
        DeviceLayout::deferring_seeded(lattice)
    } else {
        DeviceLayout::new(lattice)
    }
}

/// A search run by the host build of the kernels, on `exec` made by `wrap`.
fn host_search<E: LevelExec>(
    lattice: &Lattice,
    source: u64,
    stop: Option<u64>,
    tuning: Tuning,
    wrap: impl FnOnce(HostExec) -> E,
) -> Result<(Levels, Option<E>), GpuError> {
    let layout = layout_for(lattice, tuning);
    match Endpoints::new(&layout, source, stop) {
        None => {
            let tiles = layout.tiles() as usize;
            Ok((layout.into_levels(vec![[0, 0]; tiles], Vec::new(), 0), None))
        }
        Some(endpoints) => {
            let mut exec = wrap(HostExec::new(&layout, endpoints));
            let levels =
                levels::search(layout, &mut exec, endpoints, tuning.thin_max_tiles, &Never)?;
            Ok((levels, Some(exec)))
        }
    }
}

fn check(case: &Case) -> Result<(), String> {
    check_on(case, 1)
}

/// `case` under every tuning, the bodies on `threads` threads.
fn check_on(case: &Case, threads: u64) -> Result<(), String> {
    TUNINGS.iter().try_for_each(|&tuning| {
        check_tuned(case, tuning, threads).map_err(|e| format!("{tuning:?} on {threads}: {e}"))
    })
}

fn check_tuned(case: &Case, tuning: Tuning, threads: u64) -> Result<(), String> {
    let Case {
        lattice,
        source,
        stop,
    } = case;
    let got = host_search(lattice, *source, *stop, tuning, |e| e.on_threads(threads))
        .map_err(|e| e.to_string())?
        .0;
    let want = bfs_levels(lattice, *source, *stop, &Never).map_err(|e| e.to_string())?;
    same_levels(lattice, &got, &want).map_err(|e| format!("{case:?}: {e}"))?;
    if let Some(stop) = stop {
        let walked = if lattice.is_blocked(*stop) {
            None
        } else {
            walk_canonical(lattice, &got, *stop)
        };
        let fast =
            fast_shortest_path(lattice, *stop, *source, &Never).map_err(|e| e.to_string())?;
        if walked != fast && !lattice.is_blocked(*source) {
            return Err(format!("{case:?}: path {walked:?} against {fast:?}"));
        }
    }
    Ok(())
}

#[test]
fn host_kernels_equal_the_cpu_engine_on_sample_lattices() {
    for case in sample_cases(400, 7) {
        if let Err(e) = check(&case) {
            panic!("{e}");
        }
    }
}

/// The bodies run by several threads at once, as GPU threads run them: the
/// atomics, the counters' resets and the thin loop's barriers race for real
/// (`kernels/host_threads.c`). 2-core machines interleave 5 threads plenty.
#[test]
fn threaded_host_kernels_equal_the_cpu_engine_on_sample_lattices() {
    for case in sample_cases(150, 13) {
        if let Err(e) = check_on(&case, 5) {
            panic!("{e}");
        }
    }
}

#[test]
fn threaded_long_searches_cross_several_batches() -> Result<(), Box<dyn std::error::Error>> {
    let blocked = Lattice::new(vec![90, 90])?.with_blocked(Blocked::Seeded {
        fraction: 0.25,
        seed: 3,
    })?;
    let line = Lattice::new(vec![1100])?;
    for (lattice, stop) in [(blocked, Some(8099)), (line, None)] {
        check_on(
            &Case {
                lattice,
                source: 0,
                stop,
            },
            3,
        )?;
    }
    Ok(())
}

#[test]
fn long_searches_cross_several_batches() -> Result<(), Box<dyn std::error::Error>> {
    // A 1-D ring of 1200 has 600 levels: 13 wide batches of 48.
    let ring = Lattice::new(vec![1200])?.with_wrap(vec![true])?;
    check(&Case {
        lattice: ring,
        source: 3,
        stop: None,
    })?;
    // A line of 2500 has 2500 levels: three thin launches of up to 1024.
    let line = Lattice::new(vec![2500])?;
    check(&Case {
        lattice: line,
        source: 0,
        stop: None,
    })?;
    let blocked = Lattice::new(vec![70, 70])?.with_blocked(Blocked::Seeded {
        fraction: 0.3,
        seed: 11,
    })?;
    check(&Case {
        lattice: blocked,
        source: 0,
        stop: Some(4899),
    })?;
    Ok(())
}

/// A cancel that never stops and adds up the progress it is told.
#[derive(Default)]
struct Tally(std::sync::atomic::AtomicU64);

impl catalytic_lattice::Cancel for Tally {
    fn should_stop(&self) -> bool {
        false
    }
    fn advanced(&self, vertices: u64) {
        self.0
            .fetch_add(vertices, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn a_search_reports_every_vertex_it_labels_as_progress() -> Result<(), Box<dyn std::error::Error>> {
    // Thin launches (a line) and wide batches only (a blocked square), as the CPU engine counts:
    // every labelled vertex but the source.
    let line = Lattice::new(vec![2500])?;
    let square = Lattice::new(vec![70, 70])?.with_blocked(Blocked::Seeded {
        fraction: 0.3,
        seed: 11,
    })?;
    let wide = Tuning {
        thin_max_tiles: 0,
        ..Tuning::default()
    };
    for (lattice, tuning) in [(line, Tuning::default()), (square, wide)] {
        let layout = layout_for(&lattice, tuning);
        let Some(endpoints) = Endpoints::new(&layout, 0, None) else {
            return Err("the source is open".into());
        };
        let mut exec = HostExec::new(&layout, endpoints);
        let tally = Tally::default();
        let levels = levels::search(layout, &mut exec, endpoints, tuning.thin_max_tiles, &tally)?;
        let reported = tally.0.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(reported + 1, levels.reached(), "{:?}", lattice.sizes());
        assert!(reported > 0);
    }
    Ok(())
}

/// A host executor that counts the batches of each kind it was given.
struct Counting {
    exec: HostExec,
    wide: usize,
    thin: usize,
}

impl LevelExec for Counting {
    fn wide(&mut self, level0: u64) -> Result<(), GpuError> {
        self.wide += 1;
        self.exec.wide(level0)
    }
    fn thin(&mut self, level0: u64, thin_max: u64) -> Result<(), GpuError> {
        self.thin += 1;
        self.exec.thin(level0, thin_max)
    }
    fn finish_batch(&mut self) -> Result<Readback, GpuError> {
        self.exec.finish_batch()
    }
    fn state(&mut self) -> Result<Vec<u64>, GpuError> {
        self.exec.state()
    }
    fn bytes(&self) -> u64 {
        self.exec.bytes()
    }
}

#[test]
fn searches_go_thin_while_the_frontier_is_small_and_wide_after()
-> Result<(), Box<dyn std::error::Error>> {
    // Two 60×64 rooms joined by a corridor along y = 0, 80 vertices long:
    // the front fills the first room (more than 3 tiles of 8×8 wide), runs
    // down the corridor one vertex wide for longer than a wide batch, then
    // spreads again. So the search starts thin, goes wide, thin in the
    // corridor (a batch boundary falls there), wide once out of it.
    let walls = (60..140u64).flat_map(|x| (1..64u64).map(move |y| x + 200 * y));
    let rooms = Lattice::new(vec![200, 64])?.with_blocked(Blocked::Explicit(walls.collect()))?;
    let source = 63 * 200;
    let tuning = Tuning {
        thin_max_tiles: 3,
        mask_on_device: true,
    };
    let counting = |exec| Counting {
        exec,
        wide: 0,
        thin: 0,
    };
    let (got, exec) = host_search(&rooms, source, None, tuning, counting)?;
    let exec = exec.ok_or("the source is open")?;
    assert!(
        exec.thin >= 2 && exec.wide >= 2,
        "{} thin, {} wide",
        exec.thin,
        exec.wide
    );
    let want = bfs_levels(&rooms, source, None, &Never)?;
    same_levels(&rooms, &got, &want)?;
    // Never thin at 0, always thin without a bound.
    for (thin_max_tiles, thin) in [(0, false), (u64::MAX, true)] {
        let tuning = Tuning {
            thin_max_tiles,
            mask_on_device: true,
        };
        let (_, exec) = host_search(&rooms, source, None, tuning, counting)?;
        let exec = exec.ok_or("the source is open")?;
        assert_eq!((exec.thin > 0, exec.wide > 0), (thin, !thin));
    }
    Ok(())
}

#[test]
fn mask_kernels_equal_the_host_masks() {
    let mut cases = sample_cases(300, 31);
    for fraction in [1.0, 2f64.powi(-70), 0.5] {
        for sizes in [vec![2, 3], vec![61, 5, 3], vec![9, 9, 9, 9]] {
            if let Ok(lattice) = Lattice::new(sizes)
                .and_then(|l| l.with_blocked(Blocked::Seeded { fraction, seed: 77 }))
            {
                cases.push(Case {
                    lattice,
                    source: 0,
                    stop: None,
                });
            }
        }
    }
    let mut seeded = 0;
    for case in &cases {
        let Some(rule) = case.lattice.seeded_rule() else {
            continue;
        };
        seeded += 1;
        let deferred = DeviceLayout::deferring_seeded(&case.lattice);
        let built = DeviceLayout::new(&case.lattice);
        assert_eq!(deferred.mask(), DeviceMask::Seeded(rule), "{case:?}");
        let DeviceMask::Words(want) = built.mask() else {
            panic!("{case:?}: the host built no mask");
        };
        assert_eq!(host::tile_mask(&deferred, rule), want, "{case:?}");
        let n = case.lattice.vertex_count();
        assert_eq!(
            Some(host::vertex_mask(n, rule)),
            crate::components::blocked_bits(&case.lattice),
            "{case:?}"
        );
    }
    assert!(seeded > 100, "only {seeded} seeded cases");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn host_kernels_equal_the_cpu_engine(seed in any::<u64>()) {
        for case in sample_cases(2, seed) {
            prop_assert!(check(&case).is_ok(), "{:?}", check(&case));
        }
    }

    #[test]
    fn host_transforms_equal_the_definitions(
        data in prop::collection::vec(any::<u8>(), 0..300),
        key in prop::collection::vec(any::<u8>(), 1..9),
        floats in prop::collection::vec(-1e6f32..1e6, 0..300),
        factor in -100f32..100.0,
    ) {
        let mut xored = data.clone();
        host::xor(&mut xored, &key);
        for (i, (&x, &d)) in xored.iter().zip(&data).enumerate() {
            prop_assert_eq!(x, d ^ key[i % key.len()]);
        }
        let mut scaled = floats.clone();
        host::scale(&mut scaled, factor);
        for (&s, &f) in scaled.iter().zip(&floats) {
            prop_assert_eq!(s.to_bits(), (f * factor).to_bits());
        }
    }
}

#[test]
fn host_component_kernels_equal_the_cpu_engine() {
    for case in sample_cases(300, 23) {
        let mut exec = crate::host::HostComponents::new(&case.lattice);
        let got = crate::components::run(&mut exec, &Never).map_err(|e| e.to_string());
        let want = catalytic_lattice::components(&case.lattice, &Never).map_err(|e| e.to_string());
        assert_eq!(got, want, "{case:?}");
    }
}

/// Without a driver (CI, these machines), opening a GPU is an error that
/// says so, never a panic from cudarc's loader.
#[test]
fn opening_without_a_driver_is_a_clear_error() {
    if library_present(Library::Driver).is_some() {
        return; // A GPU machine: `catalytic-gpu check` covers it.
    }
    match Gpu::open(0) {
        Err(GpuError::Missing(message)) => assert!(message.contains("libcuda"), "{message}"),
        other => panic!("expected a missing-driver error, got {other:?}"),
    }
}
