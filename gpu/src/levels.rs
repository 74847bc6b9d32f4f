//! The level-synchronous driver of a search, written once for every
//! executor of the kernels (the GPU, and the host build of the same bodies).
//!
//! Levels are issued in batches without waiting, and the host reads back
//! only once per batch (the labelled count of each level, whether the stop
//! vertex was reached, the next frontier's size), polling cancellation there.
//! A batch is one of two kinds (`bfs.cuh`):
//!
//! - wide: [`BATCH`] levels, each two grid-wide passes (expand, settle);
//! - thin: up to [`THIN_LEVELS`] levels in one launch of one block, used
//!   while the frontier holds at most `thin_max` tiles, where a level's work
//!   is too small to fill the device and two dependent launches per level
//!   would be all its cost.

use crate::GpuError;
use catalytic_lattice::{Cancel, DeviceLayout, Levels};

/// Levels per wide batch (96 launches between two host reads). The GPU
/// records a batch once per phase (its first level mod 6: the parity, mod 2,
/// and the next code, mod 3, of its k-th level depend only on that) as a CUDA
/// graph, and replays it.
pub(crate) const BATCH: usize = 48;

/// Most levels one thin launch runs before the host looks (and polls cancel).
pub(crate) const THIN_LEVELS: usize = 1024;

/// `ctl` words before the per-level counts (see `bfs.cuh`).
pub(crate) const CTL_HEAD: usize = 6;

/// `ctl` word set once the stop vertex is labelled.
const CTL_DONE: usize = 4;

/// `ctl` word holding how many levels a thin launch ran.
const CTL_RAN: usize = 5;

/// `ctl` words in all: the head, then a count per level of the longer batch.
pub(crate) const CTL_WORDS: usize = CTL_HEAD + THIN_LEVELS;

/// When a frontier has at most this many tiles, levels run thin. Off (0)
/// until measured on a GPU: `catalytic-gpu bench --thin-max` compares.
pub const THIN_MAX_TILES: u64 = 0;

/// What the host reads back after a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Readback {
    /// The whole `ctl` array (`bfs.cuh`), counts zeroed on the device after.
    pub(crate) ctl: Vec<u64>,
}

impl Readback {
    fn done(&self) -> bool {
        self.ctl[CTL_DONE] != 0
    }

    fn thin_ran(&self) -> usize {
        self.ctl[CTL_RAN] as usize
    }

    /// Tiles in the frontier that `level` expands.
    fn frontier(&self, level: u64) -> u64 {
        self.ctl[(level % 2) as usize]
    }

    fn counts(&self, levels: usize) -> &[u64] {
        &self.ctl[CTL_HEAD..CTL_HEAD + levels]
    }
}

/// One executor of the passes, holding a search's buffers.
pub(crate) trait LevelExec {
    /// Issues the [`BATCH`] levels from `level0`: for each, expand then
    /// settle, counting level `level0 + k` into slot k.
    fn wide(&mut self, level0: u64) -> Result<(), GpuError>;
    /// Issues one thin launch from `level0` (see `bfs.cuh`, thin).
    fn thin(&mut self, level0: u64, thin_max: u64) -> Result<(), GpuError>;
    /// Waits for the issued levels; returns `ctl` and zeroes its counts.
    fn finish_batch(&mut self) -> Result<Readback, GpuError>;
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
    thin_max: u64,
    cancel: &dyn Cancel,
) -> Result<Vec<u64>, GpuError> {
    let mut level_sizes = vec![1u64];
    // The CPU engine checks the stop before expanding a level: a search that
    // starts on its stop vertex has one level.
    if endpoints.source == endpoints.stop {
        return Ok(level_sizes);
    }
    let (mut level, mut frontier) = (0u64, 1u64);
    loop {
        if cancel.should_stop() {
            return Err(GpuError::Cancelled);
        }
        let thin = frontier <= thin_max;
        if thin {
            exec.thin(level, thin_max)?;
        } else {
            exec.wide(level)?;
        }
        let back = exec.finish_batch()?;
        let ran = if thin { back.thin_ran() } else { BATCH };
        // A level that labels nothing ends the search; after the stop level
        // the passes do nothing, so their counts are zero too.
        let labelled: Vec<u64> = back
            .counts(ran)
            .iter()
            .copied()
            .take_while(|&c| c > 0)
            .collect();
        let ended = labelled.len() < ran || back.done();
        // Progress as the CPU engine reports it: the vertices each batch labelled.
        cancel.advanced(labelled.iter().sum());
        level_sizes.extend(labelled);
        level += ran as u64;
        frontier = back.frontier(level);
        // A thin launch always runs its first level (`bfs.cuh`), so one
        // that ran none had nothing left to do.
        if ended || frontier == 0 || ran == 0 {
            return Ok(level_sizes);
        }
    }
}

/// A search on `exec` turned into the engine's [`Levels`].
pub(crate) fn search(
    layout: DeviceLayout,
    exec: &mut dyn LevelExec,
    endpoints: Endpoints,
    thin_max: u64,
    cancel: &dyn Cancel,
) -> Result<Levels, GpuError> {
    let level_sizes = run(exec, endpoints, thin_max, cancel)?;
    let words = exec.state()?;
    let state = words.chunks_exact(2).map(|w| [w[0], w[1]]).collect();
    let bytes = exec.bytes();
    Ok(layout.into_levels(state, level_sizes, bytes))
}
