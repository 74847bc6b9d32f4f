//! The kernel bodies compiled as host C (`kernels/host.c`, built by
//! build.rs), run through the same driver as the GPU: the tests check the
//! kernels' logic against the CPU engine on machines without a GPU.

use crate::GpuError;
use crate::components::{self, ComponentsExec};
use crate::levels::{BATCH, CTL_HEAD, CTL_WORDS, Endpoints, LevelExec, Readback, THIN_LEVELS};
use catalytic_lattice::{DeviceLayout, DeviceMask, Lattice, SeededRule};

unsafe extern "C" {
    fn cat_host_bfs_threads(
        threads: u64,
        wide: u64,
        level0: u64,
        levels: u64,
        thin_max: u64,
        p: *const u64,
        tiles0: *mut u64,
        bits0: *mut u64,
        tiles1: *mut u64,
        bits1: *mut u64,
        cand: *mut u64,
        touched: *mut u64,
        state: *mut u64,
        blocked: *const u64,
        ctl: *mut u64,
        stop_tile: u64,
        stop_mask: u64,
    ) -> i32;
    fn cat_host_tile_mask(p: *const u64, seed: u64, below: u64, all: u64, mask: *mut u64);
    fn cat_host_vertex_mask(n: u64, seed: u64, below: u64, all: u64, mask: *mut u64);
    fn cat_host_xor(data: *mut u8, n: u64, key: *const u8, key_len: u64);
    fn cat_host_label_init(n: u64, blocked: *const u64, label: *mut u64);
    fn cat_host_hook(
        n: u64,
        q: *const u64,
        blocked: *const u64,
        label: *mut u64,
        changed: *mut u64,
    );
    fn cat_host_shortcut(n: u64, label: *mut u64, changed: *mut u64);
    fn cat_host_tally(n: u64, size0: u64, label: *const u64, size: *mut u64, span: *mut u64);
    fn cat_host_roots(
        n: u64,
        label: *const u64,
        size: *const u64,
        span: *const u64,
        root_size: *mut u64,
        root_span: *mut u64,
        roots: *mut u64,
    );
    fn cat_host_scale(data: *mut f32, n: u64, factor: f32);
}

/// A search's buffers in host memory, sized as on the GPU.
pub(crate) struct HostExec {
    /// Threads that run each batch's bodies at once (`host_threads.c`); with
    /// 1, every item in order, as the single-threaded tests want.
    threads: u64,
    params: Vec<u64>,
    blocked: Option<Vec<u64>>,
    state: Vec<u64>,
    cand: Vec<u64>,
    touched: Vec<u64>,
    front_tiles: [Vec<u64>; 2],
    front_bits: [Vec<u64>; 2],
    ctl: Vec<u64>,
    stop: (u64, u64),
}

impl HostExec {
    pub(crate) fn new(layout: &DeviceLayout, endpoints: Endpoints) -> Self {
        let tiles = layout.tiles() as usize;
        let (tile, mask) = endpoints.source;
        let mut exec = Self {
            threads: 1,
            params: layout.params().to_vec(),
            blocked: match layout.mask() {
                DeviceMask::Open => None,
                DeviceMask::Words(words) => Some(words.to_vec()),
                DeviceMask::Seeded(rule) => Some(tile_mask(layout, rule)),
            },
            state: vec![0; 2 * tiles],
            cand: vec![0; tiles],
            touched: vec![0; tiles],
            front_tiles: [vec![0; tiles], vec![0; tiles]],
            front_bits: [vec![0; tiles], vec![0; tiles]],
            ctl: vec![0; CTL_WORDS],
            stop: endpoints.stop,
        };
        exec.state[2 * tile as usize] = mask;
        exec.front_tiles[0][0] = tile;
        exec.front_bits[0][0] = mask;
        exec.ctl[0] = 1;
        exec
    }
}

impl HostExec {
    /// Runs every batch on `threads` threads at once (at most 64).
    pub(crate) fn on_threads(mut self, threads: u64) -> Self {
        self.threads = threads;
        self
    }

    /// One batch on `self.threads` threads (`host_threads.c`).
    fn threaded(&mut self, wide: bool, level0: u64, levels: usize, thin_max: u64) {
        let blocked = self
            .blocked
            .as_ref()
            .map_or(std::ptr::null(), |b| b.as_ptr());
        let [tiles0, tiles1] = &mut self.front_tiles;
        let [bits0, bits1] = &mut self.front_bits;
        // SAFETY: every buffer is sized as the bodies index it (a slot per
        // tile, CTL_WORDS counters for at most THIN_LEVELS levels) and
        // outlives the call, which joins its threads before returning; the
        // threads share them only as the GPU's threads do.
        let rc = unsafe {
            cat_host_bfs_threads(
                self.threads,
                u64::from(wide),
                level0,
                levels as u64,
                thin_max,
                self.params.as_ptr(),
                tiles0.as_mut_ptr(),
                bits0.as_mut_ptr(),
                tiles1.as_mut_ptr(),
                bits1.as_mut_ptr(),
                self.cand.as_mut_ptr(),
                self.touched.as_mut_ptr(),
                self.state.as_mut_ptr(),
                blocked,
                self.ctl.as_mut_ptr(),
                self.stop.0,
                self.stop.1,
            )
        };
        assert_eq!(rc, 0, "could not run {} host threads", self.threads);
    }
}

impl LevelExec for HostExec {
    fn wide(&mut self, level0: u64) -> Result<(), GpuError> {
        self.threaded(true, level0, BATCH, 0);
        Ok(())
    }

    fn thin(&mut self, level0: u64, thin_max: u64) -> Result<(), GpuError> {
        self.threaded(false, level0, THIN_LEVELS, thin_max);
        Ok(())
    }

    fn finish_batch(&mut self) -> Result<Readback, GpuError> {
        let ctl = self.ctl.clone();
        self.ctl[CTL_HEAD..].fill(0);
        Ok(Readback { ctl })
    }

    fn state(&mut self) -> Result<Vec<u64>, GpuError> {
        Ok(self.state.clone())
    }

    fn bytes(&self) -> u64 {
        (self.state.len() * 8 + self.cand.len() * 40) as u64
    }
}

/// `cat_tile_mask` run on the host: the blocked bits per tile of `layout`.
pub(crate) fn tile_mask(layout: &DeviceLayout, rule: SeededRule) -> Vec<u64> {
    let mut mask = vec![0u64; layout.tiles() as usize];
    // SAFETY: params is the layout's (its tile count is mask's length); the
    // body writes mask[0..tiles).
    unsafe {
        cat_host_tile_mask(
            layout.params().as_ptr(),
            rule.seed,
            rule.below,
            u64::from(rule.all),
            mask.as_mut_ptr(),
        )
    };
    mask
}

/// `cat_vertex_mask` run on the host: one bit per vertex of `n`.
pub(crate) fn vertex_mask(n: u64, rule: SeededRule) -> Vec<u64> {
    let mut mask = vec![0u64; n.div_ceil(64) as usize];
    // SAFETY: the body writes mask[0..ceil(n / 64)), its length.
    unsafe {
        cat_host_vertex_mask(
            n,
            rule.seed,
            rule.below,
            u64::from(rule.all),
            mask.as_mut_ptr(),
        )
    };
    mask
}

/// `cat_xor` run on the host.
pub(crate) fn xor(data: &mut [u8], key: &[u8]) {
    // SAFETY: the body reads key[0..key_len) and writes data[0..n); both are
    // valid slices of those lengths for the call.
    unsafe {
        cat_host_xor(
            data.as_mut_ptr(),
            data.len() as u64,
            key.as_ptr(),
            key.len() as u64,
        )
    }
}

/// `cat_scale` run on the host.
pub(crate) fn scale(data: &mut [f32], factor: f32) {
    // SAFETY: the body writes data[0..n), a valid slice of that length.
    unsafe { cat_host_scale(data.as_mut_ptr(), data.len() as u64, factor) }
}

/// The component kernels' buffers in host memory.
pub(crate) struct HostComponents {
    n: u64,
    size0: u64,
    q: Vec<u64>,
    blocked: Option<Vec<u64>>,
    label: Vec<u64>,
}

impl HostComponents {
    pub(crate) fn new(lattice: &Lattice) -> Self {
        let n = lattice.vertex_count();
        let mut exec = Self {
            n,
            size0: u64::from(lattice.sizes()[0]),
            q: components::query(lattice),
            blocked: components::blocked_bits(lattice),
            label: vec![0; n as usize],
        };
        let blocked = exec.blocked_ptr();
        // SAFETY: label has n slots, blocked (when given) n bits.
        unsafe { cat_host_label_init(n, blocked, exec.label.as_mut_ptr()) };
        exec
    }

    fn blocked_ptr(&self) -> *const u64 {
        self.blocked
            .as_ref()
            .map_or(std::ptr::null(), |b| b.as_ptr())
    }
}

impl ComponentsExec for HostComponents {
    fn hook(&mut self) -> Result<bool, GpuError> {
        let mut changed = 0u64;
        // SAFETY: q describes this lattice (its vertices are 0..n), label
        // has n slots, blocked n bits; every index the body forms is a vertex.
        unsafe {
            cat_host_hook(
                self.n,
                self.q.as_ptr(),
                self.blocked_ptr(),
                self.label.as_mut_ptr(),
                &mut changed,
            )
        };
        Ok(changed != 0)
    }

    fn shortcut(&mut self) -> Result<bool, GpuError> {
        let mut changed = 0u64;
        // SAFETY: labels are vertex indices below n (or the skipped NONE).
        unsafe { cat_host_shortcut(self.n, self.label.as_mut_ptr(), &mut changed) };
        Ok(changed != 0)
    }

    fn roots(&mut self) -> Result<Vec<(u64, u64)>, GpuError> {
        let n = self.n as usize;
        let (mut size, mut span) = (vec![0u64; n], vec![0u64; n]);
        let (mut root_size, mut root_span, mut roots) = (vec![0u64; n], vec![0u64; n], 0u64);
        // SAFETY: every array has n slots; labels index below n.
        unsafe {
            cat_host_tally(
                self.n,
                self.size0,
                self.label.as_ptr(),
                size.as_mut_ptr(),
                span.as_mut_ptr(),
            );
            cat_host_roots(
                self.n,
                self.label.as_ptr(),
                size.as_ptr(),
                span.as_ptr(),
                root_size.as_mut_ptr(),
                root_span.as_mut_ptr(),
                &mut roots,
            );
        }
        let roots = roots as usize;
        Ok(root_size[..roots]
            .iter()
            .copied()
            .zip(root_span[..roots].iter().copied())
            .collect())
    }
}
