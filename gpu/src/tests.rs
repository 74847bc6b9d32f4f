//! The kernel bodies, compiled as host C, against the CPU engine: the same
//! driver the GPU uses (`levels.rs`), so a wrong move, mask or counter in
//! `kernels/*.cuh` fails here, on machines without a GPU.

use crate::compare::{Case, same_levels, sample_cases};
use crate::host::{self, HostExec};
use crate::levels::{self, Endpoints};
use crate::{Gpu, GpuError, Library, library_present};
use catalytic_lattice::{
    Blocked, DeviceLayout, Lattice, Levels, Never, bfs_levels, fast_shortest_path, walk_canonical,
};
use proptest::prelude::*;

/// A search run by the host build of the kernels.
fn host_levels(lattice: &Lattice, source: u64, stop: Option<u64>) -> Result<Levels, GpuError> {
    let layout = DeviceLayout::new(lattice);
    match Endpoints::new(&layout, source, stop) {
        None => {
            let tiles = layout.tiles() as usize;
            Ok(layout.into_levels(vec![[0, 0]; tiles], Vec::new(), 0))
        }
        Some(endpoints) => {
            let mut exec = HostExec::new(&layout, endpoints);
            levels::search(layout, &mut exec, endpoints, &Never)
        }
    }
}

fn check(case: &Case) -> Result<(), String> {
    let Case {
        lattice,
        source,
        stop,
    } = case;
    let got = host_levels(lattice, *source, *stop).map_err(|e| e.to_string())?;
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

#[test]
fn long_searches_cross_several_batches() -> Result<(), Box<dyn std::error::Error>> {
    // A 1-D ring of 1200 has 600 levels: three batches of 256.
    let ring = Lattice::new(vec![1200])?.with_wrap(vec![true])?;
    check(&Case {
        lattice: ring,
        source: 3,
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
