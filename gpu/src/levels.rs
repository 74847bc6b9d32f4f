//! The level-synchronous driver of a search, written once for every
//! executor of the kernels (the GPU, and the host build of the same bodies).
//!
//! Levels are issued in batches without waiting: each level is two passes
//! (`bfs.cuh`: expand, settle) whose counters live on the device, so the host
//! reads back only once per batch (the labelled count of each level, and
//! whether the stop vertex was reached), and polls cancellation there.

use crate::GpuError;
use catalytic_lattice::{Cancel, DeviceLayout, Levels};

/// Levels issued per batch (96 launches between two host reads). A multiple
/// of 6, so every batch starts at a level ≡ 0 (mod 6): the parity (mod 2) and
/// the next code (mod 3) of its k-th level are the same in every batch, and
/// the GPU replays one recorded batch (a CUDA graph) instead of launching.
pub(crate) const BATCH: usize = 48;

/// `ctl` words before the per-level counts (see `bfs.cuh`).
pub(crate) const CTL_HEAD: usize = 5;

/// One executor of the two passes, holding a search's buffers.
pub(crate) trait LevelExec {
    /// Issues the [`BATCH`] levels from `level0` (a multiple of `BATCH`):
    /// for each, expand then settle, counting level `level0 + k` into slot k.
    fn batch(&mut self, level0: u64) -> Result<(), GpuError>;
    /// Waits for the issued levels; returns the per-level counts of the batch
    /// (then zeroes them) and whether the stop vertex has been labelled.
    fn finish_batch(&mut self) -> Result<(Vec<u64>, bool), GpuError>;
    /// The 2-bit states, two words per tile.
    fn state(&mut self) -> Result<Vec<u64>, GpuError>;
    /// Bytes the executor holds for this search.
    fn bytes(&self) -> u64;
}

/// Where a search starts and stops, in tile coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoints {
    pub(crate) source: (u64, u64),
    /// (tile, bit mask) of the stop vertex; (u64::MAX, 0) when none.
    pub(crate) stop: (u64, u64),
}

impl Endpoints {
    /// None when the source is blocked or not a vertex (the search reaches nothing).
    pub(crate) fn new(layout: &DeviceLayout, source: u64, stop_at: Option<u64>) -> Option<Self> {
        if !layout.is_open(source) {
            return None;
        }
        Some(Self {
            source: layout.locate(source)?,
            stop: stop_at
                .and_then(|v| layout.locate(v))
                .unwrap_or((u64::MAX, 0)),
        })
    }
}

/// Runs the search to its end (frontier empty, or the stop vertex's level
/// complete) and returns the labelled count of each level, from 0.
pub(crate) fn run(
    exec: &mut dyn LevelExec,
    endpoints: Endpoints,
    cancel: &dyn Cancel,
) -> Result<Vec<u64>, GpuError> {
    let mut level_sizes = vec![1u64];
    // The CPU engine checks the stop before expanding a level: a search that
    // starts on its stop vertex has one level.
    if endpoints.source == endpoints.stop {
        return Ok(level_sizes);
    }
    let mut level = 0u64;
    loop {
        if cancel.should_stop() {
            return Err(GpuError::Cancelled);
        }
        exec.batch(level)?;
        level += BATCH as u64;
        let (counts, done) = exec.finish_batch()?;
        // A level that labels nothing ends the search; after the stop level
        // the passes do nothing, so their counts are zero too.
        let labelled: Vec<u64> = counts.into_iter().take_while(|&c| c > 0).collect();
        let ended = labelled.len() < BATCH || done;
        level_sizes.extend(labelled);
        if ended {
            return Ok(level_sizes);
        }
    }
}

/// A search on `exec` turned into the engine's [`Levels`].
pub(crate) fn search(
    layout: DeviceLayout,
    exec: &mut dyn LevelExec,
    endpoints: Endpoints,
    cancel: &dyn Cancel,
) -> Result<Levels, GpuError> {
    let level_sizes = run(exec, endpoints, cancel)?;
    let words = exec.state()?;
    let state = words.chunks_exact(2).map(|w| [w[0], w[1]]).collect();
    let bytes = exec.bytes();
    Ok(layout.into_levels(state, level_sizes, bytes))
}
