//! Where this worker computes (docs/adr/0002-lattices.md): `--device auto|cpu|cuda`.
//!
//! `auto` opens the first CUDA device and falls back to the CPU when there is
//! no driver, no NVRTC or no device (logged once); `cuda` refuses to start
//! without one; `cpu` never touches CUDA. The GPU library is probed before
//! any cudarc call (`catalytic_gpu::probe`), so a machine without NVIDIA's
//! libraries gets an error, never a loader panic.

use catalytic_gpu::{Gpu, Tuning};
use catalytic_lattice::Lattice;
use catalytic_shared::config::DeviceMode;
use catalytic_shared::db::workers::DeviceRecord;
use std::sync::Arc;

/// The device jobs run on, shared by the worker's concurrent jobs.
#[derive(Debug, Clone)]
pub enum Device {
    Cpu,
    /// A GPU, used for lattices of at least `min_vertices` vertices that
    /// also pass the level-cost rule of [`Device::gpu_for`].
    Cuda {
        gpu: Arc<Gpu>,
        min_vertices: u64,
    },
}

/// One BFS level on the GPU costs about as much as this many vertices on
/// one CPU thread: ~11 µs of launches and synchronisation per level against
/// ~12 ns per vertex (H100 against its host, docs/benchmarks.md "GPU
/// engine"). Long, thin searches (2-D) pay for many levels, so they need
/// more vertices before the GPU wins.
pub const LEVEL_COST_VERTICES: u64 = 1_000;

#[derive(Debug, thiserror::Error)]
#[error("--device cuda: no usable GPU: {0}")]
pub struct NoGpu(catalytic_gpu::GpuError);

impl Device {
    /// Resolves `mode` on this machine; a GPU runs searches as `tuning` says.
    pub fn open(mode: DeviceMode, min_vertices: u64, tuning: Tuning) -> Result<Self, NoGpu> {
        if mode == DeviceMode::Cpu {
            return Ok(Device::Cpu);
        }
        match Gpu::open_tuned(0, tuning) {
            Ok(gpu) => {
                let info = gpu.info();
                tracing::info!(device = %info.name, memory_bytes = info.memory_bytes,
                    multiprocessors = info.multiprocessors, min_vertices,
                    thin_max_tiles = tuning.thin_max_tiles, "computing on the GPU");
                Ok(Device::Cuda {
                    gpu: Arc::new(gpu),
                    min_vertices,
                })
            }
            Err(e) if mode == DeviceMode::Auto => {
                tracing::info!(reason = %e, "no GPU: computing on the CPU");
                Ok(Device::Cpu)
            }
            Err(e) => Err(NoGpu(e)),
        }
    }

    /// The GPU to search `lattice` on, if this worker has one and the
    /// lattice pays for it: at least `min_vertices` vertices, and more than
    /// [`LEVEL_COST_VERTICES`] per level of its longest open distance.
    pub fn gpu_for(&self, lattice: &Lattice) -> Option<&Gpu> {
        match self {
            Device::Cuda { gpu, min_vertices } if gpu_pays_off(lattice, *min_vertices) => Some(gpu),
            _ => None,
        }
    }

    /// The GPU to scan all of `lattice` on (components), if this worker has
    /// one and the lattice has at least `min_vertices` vertices.
    pub fn gpu_for_scan(&self, lattice: &Lattice) -> Option<&Gpu> {
        match self {
            Device::Cuda { gpu, min_vertices } if lattice.vertex_count() >= *min_vertices => {
                Some(gpu)
            }
            _ => None,
        }
    }

    pub fn is_gpu(&self) -> bool {
        matches!(self, Device::Cuda { .. })
    }

    /// This worker's row in the fleet registry.
    pub fn record(&self) -> DeviceRecord {
        match self {
            Device::Cpu => DeviceRecord {
                kind: "cpu",
                name: None,
                memory_bytes: None,
            },
            Device::Cuda { gpu, .. } => DeviceRecord {
                kind: "cuda",
                name: Some(gpu.info().name.clone()),
                memory_bytes: i64::try_from(gpu.info().memory_bytes).ok(),
            },
        }
    }
}

/// Whether a search of `lattice` is faster on the GPU (see [`LEVEL_COST_VERTICES`]).
pub fn gpu_pays_off(lattice: &Lattice, min_vertices: u64) -> bool {
    let vertices = lattice.vertex_count();
    let levels = lattice.max_distance().saturating_add(1);
    vertices >= min_vertices && vertices >= levels.saturating_mul(LEVEL_COST_VERTICES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalytic_gpu::{Library, library_present};

    #[test]
    fn cpu_mode_never_opens_a_gpu() -> Result<(), NoGpu> {
        let device = Device::open(DeviceMode::Cpu, 1, Tuning::default())?;
        assert!(!device.is_gpu());
        assert_eq!(device.record().kind, "cpu");
        if let Ok(big) = Lattice::uniform(3, 1000) {
            assert!(device.gpu_for(&big).is_none());
        }
        Ok(())
    }

    /// The measured crossovers (docs/benchmarks.md "GPU engine"): the GPU
    /// lost on 2-D 1000² and 3-D 46³ and won on 2-D 3162² and 3-D 100³.
    #[test]
    fn the_gpu_takes_lattices_where_it_was_measured_faster()
    -> Result<(), catalytic_lattice::LatticeError> {
        let min = 100_000;
        assert!(!gpu_pays_off(&Lattice::uniform(2, 1000)?, min));
        assert!(!gpu_pays_off(&Lattice::uniform(3, 46)?, min));
        assert!(gpu_pays_off(&Lattice::uniform(2, 3162)?, min));
        assert!(gpu_pays_off(&Lattice::uniform(3, 100)?, min));
        assert!(!gpu_pays_off(&Lattice::uniform(3, 100)?, 2_000_000));
        Ok(())
    }

    /// On machines without NVIDIA's driver (CI): auto falls back, cuda refuses.
    #[test]
    fn without_a_driver_auto_falls_back_and_cuda_refuses() -> Result<(), NoGpu> {
        if library_present(Library::Driver).is_some() {
            return Ok(()); // A GPU machine: covered by `catalytic-gpu check`.
        }
        assert!(!Device::open(DeviceMode::Auto, 1, Tuning::default())?.is_gpu());
        let refused = Device::open(DeviceMode::Cuda, 1, Tuning::default());
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("--device cuda") && message.contains("libcuda"),
            "{message}"
        );
        Ok(())
    }
}
