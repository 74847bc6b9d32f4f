//! The CUDA sources and their compilation by NVRTC at run time.
//!
//! The bodies live in `kernels/*.cuh`, written so that they also compile as
//! host C (`kernels/host.c`, the tests); `kernels/kernels.cu` wraps each in a
//! `__global__` grid-stride entry point. NVRTC gets them concatenated, so no
//! include path is needed at run time.

use crate::GpuError;
use crate::probe::{Library, require};
use cudarc::nvrtc::{CompileOptions, Ptx};

/// Everything NVRTC compiles, as one translation unit.
pub const SOURCE: &str = concat!(
    include_str!("../kernels/common.cuh"),
    include_str!("../kernels/bfs.cuh"),
    include_str!("../kernels/mask.cuh"),
    include_str!("../kernels/transform.cuh"),
    include_str!("../kernels/components.cuh"),
    include_str!("../kernels/kernels.cu"),
);

/// The entry points in [`SOURCE`].
pub const KERNELS: [&str; 12] = [
    "cat_bfs_expand",
    "cat_bfs_settle",
    "cat_bfs_thin",
    "cat_tile_mask",
    "cat_vertex_mask",
    "cat_xor",
    "cat_scale",
    "cat_label_init",
    "cat_hook",
    "cat_shortcut",
    "cat_tally",
    "cat_roots",
];

/// Threads of the one block a thin launch runs (`CAT_THIN_THREADS` in
/// `kernels/kernels.cu`, its `__launch_bounds__`; a test keeps them equal).
pub(crate) const THIN_THREADS: u32 = 1024;

/// Compiles [`SOURCE`] to PTX for `arch` (e.g. `compute_90`; NVRTC's default
/// when None). Checks that every entry point is in the output.
pub fn compile_ptx(arch: Option<&'static str>) -> Result<Ptx, GpuError> {
    require(Library::Nvrtc)?;
    let options = CompileOptions {
        arch,
        // IEEE single precision, as the CPU computes `scale`.
        ftz: Some(false),
        fmad: Some(false),
        name: Some("catalytic_kernels.cu".to_owned()),
        ..Default::default()
    };
    let ptx = cudarc::nvrtc::compile_ptx_with_opts(SOURCE, options)
        .map_err(|e| GpuError::Compile(e.to_string()))?;
    let text = ptx.to_src();
    if let Some(missing) = KERNELS
        .iter()
        .find(|k| !text.contains(&format!(".entry {k}(")))
    {
        return Err(GpuError::Compile(format!(
            "entry point {missing} is missing from the PTX"
        )));
    }
    Ok(ptx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thin_launch_matches_the_kernels_bounds() {
        for define in [
            format!("#define CAT_THIN_THREADS {THIN_THREADS}\n"),
            format!("#define CAT_THIN_LEVELS {}\n", crate::levels::THIN_LEVELS),
            format!("#define CAT_CTL_LEVELS {}\n", crate::levels::CTL_HEAD),
        ] {
            assert!(SOURCE.contains(&define), "the kernels lack {define:?}");
        }
    }

    #[test]
    fn every_entry_point_is_defined() {
        for kernel in KERNELS {
            assert!(SOURCE.contains(&format!("{kernel}(")), "{kernel}");
        }
    }
}
