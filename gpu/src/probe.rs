//! Whether the CUDA libraries exist, asked without panicking.
//!
//! cudarc opens libcuda / libnvrtc lazily on its first call and panics when
//! they are missing. Opening them here first, with the same candidate names
//! cudarc tries, turns "no GPU on this machine" into an ordinary error.

/// A CUDA library cudarc would load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// The driver API (`libcuda`), installed with the NVIDIA driver.
    Driver,
    /// The run-time compiler (`libnvrtc`), from the CUDA toolkit or the
    /// `nvidia-cuda-nvrtc` wheel (on `LD_LIBRARY_PATH`).
    Nvrtc,
}

impl Library {
    fn stem(self) -> &'static str {
        match self {
            Library::Driver => "cuda",
            Library::Nvrtc => "nvrtc",
        }
    }
}

/// The first of cudarc's candidate file names for `library` that opens, if any.
pub fn library_present(library: Library) -> Option<String> {
    cudarc::get_lib_name_candidates(library.stem())
        .into_iter()
        .find(|name| {
            // SAFETY: opening a shared library runs its initialisers. These
            // are NVIDIA's own CUDA libraries, the very ones cudarc opens next
            // in this process; dropping the handle only lowers the refcount.
            unsafe { libloading::Library::new(name) }.is_ok()
        })
}

/// Ok if `library` opens; otherwise an error naming what to install.
pub(crate) fn require(library: Library) -> Result<(), crate::GpuError> {
    match library_present(library) {
        Some(_) => Ok(()),
        None => Err(crate::GpuError::Missing(match library {
            Library::Driver => {
                "no CUDA driver: libcuda.so could not be opened (no NVIDIA driver on this machine)"
                    .to_owned()
            }
            Library::Nvrtc => "no NVRTC: libnvrtc.so could not be opened (install the CUDA \
                               toolkit or the nvidia-cuda-nvrtc wheel and put its lib/ on \
                               LD_LIBRARY_PATH)"
                .to_owned(),
        })),
    }
}
