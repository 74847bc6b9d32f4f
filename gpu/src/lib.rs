//! The lattice engine on NVIDIA GPUs (docs/adr/0002-lattices.md, issue 9).
//!
//! The GPU runs the fast CPU engine's own level step (same tiles, same 2-bit
//! states: `catalytic_lattice::DeviceLayout`, its tiles numbered row-major
//! where the CPU numbers a large lattice's in bricks), so a GPU search labels every
//! vertex as the CPU does and the canonical path is walked by the same code.
//!
//! - `probe.rs`: is there a CUDA driver / NVRTC library at all? Asked with
//!   libloading before any cudarc call, because cudarc's loaders panic.
//! - `kernels.rs`: the CUDA sources (`kernels/*.cuh`, `kernels/kernels.cu`)
//!   and their NVRTC compilation; `kernels/mask.cuh` computes a seeded
//!   blocked mask on the device instead of on the host.
//! - `levels.rs`: the level-synchronous driver, written once over
//!   [`levels::LevelExec`], which the GPU (`cuda.rs`) and, in tests, the
//!   kernel bodies compiled as host C (`host.rs`) implement.
//! - `components.rs`: connected components by label hooking
//!   (`kernels/components.cuh`), the same driver for GPU and host.
//! - `compare.rs`: sample lattices and the GPU-against-CPU comparison that
//!   the tests (host build) and `catalytic-gpu check` (a real GPU) run.
//! - `cuda.rs`: [`Gpu`], a device with its compiled module; searches and
//!   transforms on it. The only module with `unsafe` besides `host.rs`.

pub mod compare;
mod components;
#[allow(unsafe_code)]
mod cuda;
#[cfg(test)]
#[allow(unsafe_code)]
mod host;
mod kernels;
mod levels;
#[allow(unsafe_code)]
mod probe;

pub use cuda::{DeviceInfo, Gpu, Tuning};
pub use kernels::{KERNELS, SOURCE, compile_ptx};
pub use levels::THIN_MAX_TILES;
pub use probe::{Library, library_present};

use catalytic_lattice::Cancelled;

/// Why the GPU could not do something.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No CUDA driver (libcuda) or no NVRTC library could be opened.
    #[error("{0}")]
    Missing(String),
    /// The driver answered with an error (no device, out of memory, …).
    #[error("CUDA driver: {0}")]
    Driver(#[from] cudarc::driver::DriverError),
    /// NVRTC rejected the kernels (a bug in kernels/, caught by CI's compile check).
    #[error("NVRTC could not compile the kernels: {0}")]
    Compile(String),
    /// Recording a batch of levels as a CUDA graph gave nothing to replay.
    #[error("CUDA graph: {0}")]
    Graph(&'static str),
    #[error("computation cancelled")]
    Cancelled,
}

impl From<Cancelled> for GpuError {
    fn from(_: Cancelled) -> Self {
        GpuError::Cancelled
    }
}

#[cfg(test)]
mod tests;
