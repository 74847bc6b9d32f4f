//! One NVIDIA device with the kernels loaded, and searches and transforms on it.
//!
//! Each search gets a stream of its own and allocates its buffers on it, so
//! several searches (a worker's concurrent jobs) share the device without
//! sharing state. cudarc's per-buffer event tracking is switched off: a
//! search's buffers are only ever touched from its own stream, in order.

use crate::GpuError;
use crate::components::{self, ComponentsExec};
use crate::kernels::{THIN_THREADS, compile_ptx};
use crate::levels::{
    self, BATCH, CTL_HEAD, CTL_WORDS, Endpoints, LevelExec, Readback, THIN_LEVELS, THIN_MAX_TILES,
};
use crate::probe::{Library, require};
use catalytic_lattice::{
    Cancel, Components, DeviceLayout, DeviceMask, Lattice, Levels, SeededRule, ShortestPath,
    walk_canonical,
};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaGraph, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
    sys::{CUdevice_attribute, CUgraphInstantiate_flags, CUstreamCaptureMode},
};
use std::sync::Arc;

/// What a worker reports about its device (workers registry, admin API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub ordinal: usize,
    pub name: String,
    pub memory_bytes: u64,
    pub compute_capability: (i32, i32),
    pub multiprocessors: u32,
}

/// Choices of how the device runs a search, for A/B runs
/// (`catalytic-gpu bench`); the defaults are what the worker uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Levels whose frontier has at most this many tiles run thin (one
    /// block, many levels per launch: `kernels/bfs.cuh`); 0: never.
    pub thin_max_tiles: u64,
    /// Compute a seeded blocked mask on the device rather than on the host.
    pub mask_on_device: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            thin_max_tiles: THIN_MAX_TILES,
            mask_on_device: true,
        }
    }
}

/// A device with the compiled kernels.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    info: DeviceInfo,
    tuning: Tuning,
    expand: CudaFunction,
    settle: CudaFunction,
    thin: CudaFunction,
    tile_mask: CudaFunction,
    vertex_mask: CudaFunction,
    xor: CudaFunction,
    scale: CudaFunction,
    label_init: CudaFunction,
    hook: CudaFunction,
    shortcut: CudaFunction,
    tally: CudaFunction,
    roots: CudaFunction,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("info", &self.info).finish()
    }
}

/// Threads per block of every launch.
const BLOCK: u32 = 256;

impl Gpu {
    /// Opens device `ordinal` and compiles the kernels for it. An error (not
    /// a panic) when there is no driver, no NVRTC or no such device.
    pub fn open(ordinal: usize) -> Result<Self, GpuError> {
        Self::open_tuned(ordinal, Tuning::default())
    }

    /// As [`Gpu::open`], with searches run as `tuning` says.
    pub fn open_tuned(ordinal: usize, tuning: Tuning) -> Result<Self, GpuError> {
        require(Library::Driver)?;
        require(Library::Nvrtc)?;
        let ctx = CudaContext::new(ordinal)?;
        // SAFETY: see the module docs: each search's buffers are used on its
        // own stream only, so the ordering the events would enforce holds.
        unsafe { ctx.disable_event_tracking() };
        let compute_capability = ctx.compute_capability()?;
        let info = DeviceInfo {
            ordinal,
            name: ctx.name()?,
            memory_bytes: ctx.total_mem()? as u64,
            compute_capability,
            multiprocessors: u32::try_from(
                ctx.attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)?,
            )
            .unwrap_or(1),
        };
        let ptx = compile_ptx(arch_for(compute_capability))?;
        let module = ctx.load_module(ptx)?;
        Ok(Self {
            expand: module.load_function("cat_bfs_expand")?,
            settle: module.load_function("cat_bfs_settle")?,
            thin: module.load_function("cat_bfs_thin")?,
            tile_mask: module.load_function("cat_tile_mask")?,
            vertex_mask: module.load_function("cat_vertex_mask")?,
            xor: module.load_function("cat_xor")?,
            scale: module.load_function("cat_scale")?,
            label_init: module.load_function("cat_label_init")?,
            hook: module.load_function("cat_hook")?,
            shortcut: module.load_function("cat_shortcut")?,
            tally: module.load_function("cat_tally")?,
            roots: module.load_function("cat_roots")?,
            ctx,
            info,
            tuning,
        })
    }

    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }

    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// Runs later searches as `tuning` says (the kernels stay loaded).
    pub fn set_tuning(&mut self, tuning: Tuning) {
        self.tuning = tuning;
    }

    /// A grid that fills the device (8 blocks of 256 per multiprocessor);
    /// the kernels loop over their items, so one shape serves every level.
    fn full_grid(&self) -> LaunchConfig {
        LaunchConfig {
            grid_dim: (self.info.multiprocessors.max(1) * 8, 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    /// BFS from `source` on the device: the fast CPU engine's
    /// [`catalytic_lattice::bfs_levels`], the same distance mod 3 for every
    /// vertex (its tiles numbered row-major, the CPU's in bricks on large lattices).
    pub fn bfs_levels(
        &self,
        lattice: &Lattice,
        source: u64,
        stop_at: Option<u64>,
        cancel: &dyn Cancel,
    ) -> Result<Levels, GpuError> {
        let layout = if self.tuning.mask_on_device {
            DeviceLayout::deferring_seeded(lattice)
        } else {
            DeviceLayout::new(lattice)
        };
        let Some(endpoints) = Endpoints::new(&layout, source, stop_at) else {
            let bytes = layout.state_bytes();
            let tiles = layout.tiles() as usize;
            return Ok(layout.into_levels(vec![[0, 0]; tiles], Vec::new(), bytes));
        };
        let mut exec = CudaExec::new(self, &layout, endpoints)?;
        levels::search(
            layout,
            &mut exec,
            endpoints,
            self.tuning.thin_max_tiles,
            cancel,
        )
    }

    /// The canonical shortest path (docs/adr/0002-lattices.md), searched on the device and
    /// walked on the host: equal to `catalytic_lattice::fast_shortest_path`.
    pub fn shortest_path(
        &self,
        lattice: &Lattice,
        start: u64,
        end: u64,
        cancel: &dyn Cancel,
    ) -> Result<Option<ShortestPath>, GpuError> {
        let n = lattice.vertex_count();
        if start >= n || end >= n || lattice.is_blocked(start) || lattice.is_blocked(end) {
            return Ok(None);
        }
        let levels = self.bfs_levels(lattice, end, Some(start), cancel)?;
        Ok(walk_canonical(lattice, &levels, start))
    }

    /// The connected components of the open vertices on the device: equal
    /// to `catalytic_lattice::components`.
    pub fn components(
        &self,
        lattice: &Lattice,
        cancel: &dyn Cancel,
    ) -> Result<Components, GpuError> {
        let mut exec = CudaComponents::new(self, lattice)?;
        crate::components::run(&mut exec, cancel)
    }

    /// `data[i] ^= key[i mod key.len()]` on the device (the `xor` transform).
    pub fn xor(&self, data: &mut [u8], key: &[u8]) -> Result<(), GpuError> {
        if data.is_empty() || key.is_empty() {
            return Ok(());
        }
        let stream = self.ctx.new_stream()?;
        let mut d_data = stream.clone_htod(data)?;
        let d_key = stream.clone_htod(key)?;
        let (n, key_len) = (data.len() as u64, key.len() as u64);
        let mut launch = stream.launch_builder(&self.xor);
        launch.arg(&mut d_data).arg(&n).arg(&d_key).arg(&key_len);
        // SAFETY: cat_xor(data: u8*, n: u64, key: const u8*, key_len: u64):
        // the arguments match in order and type, and the body indexes only
        // data[0..n) and key[0..key_len).
        unsafe { launch.launch(self.full_grid()) }?;
        stream.memcpy_dtoh(&d_data, data)?;
        stream.synchronize()?;
        Ok(())
    }

    /// `data[i] *= factor` on the device (the `scale` transform).
    pub fn scale(&self, data: &mut [f32], factor: f32) -> Result<(), GpuError> {
        if data.is_empty() {
            return Ok(());
        }
        let stream = self.ctx.new_stream()?;
        let mut d_data = stream.clone_htod(data)?;
        let n = data.len() as u64;
        let mut launch = stream.launch_builder(&self.scale);
        launch.arg(&mut d_data).arg(&n).arg(&factor);
        // SAFETY: cat_scale(data: float*, n: u64, factor: float): arguments
        // match in order and type; the body indexes only data[0..n).
        unsafe { launch.launch(self.full_grid()) }?;
        stream.memcpy_dtoh(&d_data, data)?;
        stream.synchronize()?;
        Ok(())
    }
}

/// Which blocked mask a kernel of `kernels/mask.cuh` computes.
enum MaskOf<'a> {
    /// Per tile of the layout `params`, which has `tiles` tiles.
    Tiles {
        params: &'a CudaSlice<u64>,
        tiles: usize,
    },
    /// One bit per vertex of `n`.
    Vertices { n: &'a u64 },
}

impl Gpu {
    /// The blocked mask `of` under `rule`, computed on `stream`.
    fn seeded_mask(
        &self,
        stream: &Arc<CudaStream>,
        of: MaskOf<'_>,
        rule: SeededRule,
    ) -> Result<CudaSlice<u64>, GpuError> {
        let words = match of {
            MaskOf::Tiles { tiles, .. } => tiles,
            MaskOf::Vertices { n } => n.div_ceil(64) as usize,
        };
        let mut mask = stream.alloc_zeros::<u64>(words)?;
        let all = u64::from(rule.all);
        let mut launch = match of {
            MaskOf::Tiles { params, .. } => {
                let mut launch = stream.launch_builder(&self.tile_mask);
                launch.arg(params);
                launch
            }
            MaskOf::Vertices { n } => {
                let mut launch = stream.launch_builder(&self.vertex_mask);
                launch.arg(n);
                launch
            }
        };
        launch
            .arg(&rule.seed)
            .arg(&rule.below)
            .arg(&all)
            .arg(&mut mask);
        // SAFETY: cat_tile_mask(p, seed, below, all, mask) and
        // cat_vertex_mask(n, seed, below, all, mask): arguments match in
        // order and type; mask has a word per tile of p, or ceil(n / 64)
        // words, all that each writes.
        unsafe { launch.launch(self.full_grid()) }?;
        Ok(mask)
    }
}

/// NVRTC's target for a device: its own virtual architecture, so the driver
/// JIT-compiles the PTX for exactly this chip.
fn arch_for((major, minor): (i32, i32)) -> Option<&'static str> {
    Some(match (major, minor) {
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 9) => "compute_89",
        (9, 0) => "compute_90",
        (10, 0) => "compute_100",
        (12, 0) => "compute_120",
        _ => return None,
    })
}

/// A search's buffers on the device.
struct CudaExec<'g> {
    gpu: &'g Gpu,
    stream: Arc<CudaStream>,
    params: CudaSlice<u64>,
    blocked: Option<CudaSlice<u64>>,
    state: CudaSlice<u64>,
    cand: CudaSlice<u64>,
    touched: CudaSlice<u64>,
    front_tiles: [CudaSlice<u64>; 2],
    front_bits: [CudaSlice<u64>; 2],
    ctl: CudaSlice<u64>,
    stop: (u64, u64),
    bytes: u64,
    /// One wide batch of levels per phase (its first level mod 6), recorded
    /// on first use and replayed after: a graph launch costs about as much
    /// as one kernel launch, where the batch holds 2 × BATCH of them. (A
    /// level still costs ~10 µs of dependent kernel execution: long thin
    /// searches, 2-D, stay latency-bound there, hence thin launches; a
    /// one-block-per-SM recording measured no faster.)
    graphs: [Option<CudaGraph>; 6],
}

impl<'g> CudaExec<'g> {
    fn new(gpu: &'g Gpu, layout: &DeviceLayout, endpoints: Endpoints) -> Result<Self, GpuError> {
        let stream = gpu.ctx.new_stream()?;
        let tiles = layout.tiles() as usize;
        let zeros = |n: usize| stream.alloc_zeros::<u64>(n);
        let mut state = zeros(2 * tiles)?;
        let mut front_tiles = [zeros(tiles)?, zeros(tiles)?];
        let mut front_bits = [zeros(tiles)?, zeros(tiles)?];
        let mut ctl = zeros(CTL_WORDS)?;
        let (tile, mask) = endpoints.source;
        let t = tile as usize;
        stream.memcpy_htod(&[mask], &mut state.slice_mut(2 * t..2 * t + 1))?;
        stream.memcpy_htod(&[tile], &mut front_tiles[0].slice_mut(0..1))?;
        stream.memcpy_htod(&[mask], &mut front_bits[0].slice_mut(0..1))?;
        stream.memcpy_htod(&[1u64], &mut ctl.slice_mut(0..1))?;
        let params = stream.clone_htod(layout.params())?;
        let blocked = match layout.mask() {
            DeviceMask::Open => None,
            DeviceMask::Words(words) => Some(stream.clone_htod(words)?),
            DeviceMask::Seeded(rule) => {
                let of = MaskOf::Tiles {
                    params: &params,
                    tiles,
                };
                Some(gpu.seeded_mask(&stream, of, rule)?)
            }
        };
        stream.synchronize()?;
        let bytes = (tiles as u64) * 8 * (2 + 1 + 1 + 4 + u64::from(blocked.is_some()));
        Ok(Self {
            gpu,
            params,
            blocked,
            state,
            cand: zeros(tiles)?,
            touched: zeros(tiles)?,
            front_tiles,
            front_bits,
            ctl,
            stop: endpoints.stop,
            bytes,
            graphs: Default::default(),
            stream,
        })
    }
}

impl CudaExec<'_> {
    /// Records the launches of one wide batch from a level ≡ `phase` (mod 6)
    /// on `grid` into a graph (nothing runs yet).
    fn record(&mut self, phase: u64, grid: LaunchConfig) -> Result<CudaGraph, GpuError> {
        self.stream
            .begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)?;
        // A level's arguments depend on it only mod 6 (levels.rs, BATCH), so
        // the launches recorded for levels phase.. serve every such batch.
        let issued = (0..BATCH).try_for_each(|slot| self.level(phase + slot as u64, slot, grid));
        let graph = self.stream.end_capture(CUgraphInstantiate_flags(0));
        issued?;
        graph?.ok_or(GpuError::Graph("the recorded batch was empty"))
    }

    fn level(&mut self, level: u64, slot: usize, grid: LaunchConfig) -> Result<(), GpuError> {
        let par = (level % 2) as usize;
        let par_arg = par as u64;
        let mut expand = self.stream.launch_builder(&self.gpu.expand);
        expand
            .arg(&self.params)
            .arg(&par_arg)
            .arg(&self.front_tiles[par])
            .arg(&self.front_bits[par])
            .arg(&mut self.cand)
            .arg(&mut self.touched)
            .arg(&mut self.ctl);
        // SAFETY: cat_bfs_expand(p, par, front_tiles, front_bits, cand,
        // touched, ctl): arguments match in order and type; the lists and
        // cand have one slot per tile, which bounds every index the body
        // writes (a tile is touched at most once per level).
        unsafe { expand.launch(grid) }?;

        let (next_code, slot_arg) = ((level + 1) % 3, slot as u64);
        let (stop_tile, stop_mask) = self.stop;
        let null = 0u64;
        let [tiles_a, tiles_b] = &mut self.front_tiles;
        let [bits_a, bits_b] = &mut self.front_bits;
        let (next_tiles, next_bits) = if par == 0 {
            (tiles_b, bits_b)
        } else {
            (tiles_a, bits_a)
        };
        let mut settle = self.stream.launch_builder(&self.gpu.settle);
        settle
            .arg(&par_arg)
            .arg(&next_code)
            .arg(&slot_arg)
            .arg(&self.touched)
            .arg(&mut self.cand)
            .arg(&mut self.state);
        match &self.blocked {
            Some(blocked) => settle.arg(blocked),
            // A null pointer: nothing is blocked.
            None => settle.arg(&null),
        };
        settle
            .arg(next_tiles)
            .arg(next_bits)
            .arg(&mut self.ctl)
            .arg(&stop_tile)
            .arg(&stop_mask);
        // SAFETY: cat_bfs_settle(par, next_code, slot, touched, cand, state,
        // blocked, front_tiles, front_bits, ctl, stop_tile, stop_mask):
        // arguments match in order and type (the null blocked pointer is a
        // u64 0, which the body tests); slot < BATCH, the ctl length.
        unsafe { settle.launch(grid) }?;
        Ok(())
    }
}

impl LevelExec for CudaExec<'_> {
    fn wide(&mut self, level0: u64) -> Result<(), GpuError> {
        let phase = level0 % 6;
        let slot = phase as usize;
        if self.graphs[slot].is_none() {
            self.graphs[slot] = Some(self.record(phase, self.gpu.full_grid())?);
        }
        if let Some(graph) = &self.graphs[slot] {
            graph.launch()?;
        }
        Ok(())
    }

    fn thin(&mut self, level0: u64, thin_max: u64) -> Result<(), GpuError> {
        let one_block = LaunchConfig {
            grid_dim: (1, 1, 1),
            block_dim: (THIN_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let max_levels = THIN_LEVELS as u64;
        let (stop_tile, stop_mask) = self.stop;
        let null = 0u64;
        let [tiles0, tiles1] = &mut self.front_tiles;
        let [bits0, bits1] = &mut self.front_bits;
        let mut launch = self.stream.launch_builder(&self.gpu.thin);
        launch
            .arg(&self.params)
            .arg(&level0)
            .arg(&max_levels)
            .arg(&thin_max)
            .arg(tiles0)
            .arg(bits0)
            .arg(tiles1)
            .arg(bits1)
            .arg(&mut self.cand)
            .arg(&mut self.touched)
            .arg(&mut self.state);
        match &self.blocked {
            Some(blocked) => launch.arg(blocked),
            None => launch.arg(&null),
        };
        launch.arg(&mut self.ctl).arg(&stop_tile).arg(&stop_mask);
        // SAFETY: cat_bfs_thin(p, level0, max_levels, thin_max, tiles0,
        // bits0, tiles1, bits1, cand, touched, state, blocked, ctl,
        // stop_tile, stop_mask): arguments match in order and type (a null
        // blocked is a u64 0); lists have a slot per tile, ctl CTL_HEAD +
        // THIN_LEVELS words for max_levels = THIN_LEVELS; one block of
        // THIN_THREADS, the kernel's __launch_bounds__.
        unsafe { launch.launch(one_block) }?;
        Ok(())
    }

    fn finish_batch(&mut self) -> Result<Readback, GpuError> {
        let ctl = self.stream.clone_dtoh(&self.ctl)?;
        // The copy is asynchronous: wait for it before reading.
        self.stream.synchronize()?;
        self.stream
            .memset_zeros(&mut self.ctl.slice_mut(CTL_HEAD..))?;
        Ok(Readback { ctl })
    }

    fn state(&mut self) -> Result<Vec<u64>, GpuError> {
        let state = self.stream.clone_dtoh(&self.state)?;
        self.stream.synchronize()?;
        Ok(state)
    }

    fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// The component kernels' buffers on the device.
struct CudaComponents<'g> {
    gpu: &'g Gpu,
    stream: Arc<CudaStream>,
    n: u64,
    size0: u64,
    q: CudaSlice<u64>,
    blocked: Option<CudaSlice<u64>>,
    label: CudaSlice<u64>,
    flag: CudaSlice<u64>,
}

impl<'g> CudaComponents<'g> {
    fn new(gpu: &'g Gpu, lattice: &Lattice) -> Result<Self, GpuError> {
        let stream = gpu.ctx.new_stream()?;
        let n = lattice.vertex_count();
        let blocked = match lattice.seeded_rule() {
            Some(rule) if gpu.tuning.mask_on_device => {
                Some(gpu.seeded_mask(&stream, MaskOf::Vertices { n: &n }, rule)?)
            }
            _ => components::blocked_bits(lattice)
                .map(|b| stream.clone_htod(&b))
                .transpose()?,
        };
        let mut exec = Self {
            gpu,
            q: stream.clone_htod(&components::query(lattice))?,
            blocked,
            label: stream.alloc_zeros::<u64>(n as usize)?,
            flag: stream.alloc_zeros::<u64>(1)?,
            size0: u64::from(lattice.sizes()[0]),
            n,
            stream,
        };
        let null = 0u64;
        let mut launch = exec.stream.launch_builder(&gpu.label_init);
        launch.arg(&exec.n);
        match &exec.blocked {
            Some(b) => launch.arg(b),
            None => launch.arg(&null),
        };
        launch.arg(&mut exec.label);
        // SAFETY: cat_label_init(n, blocked, label): arguments in order and
        // type (null blocked is a u64 0); label has n slots, blocked n bits.
        unsafe { launch.launch(gpu.full_grid()) }?;
        Ok(exec)
    }

    /// Zeroes the change flag, runs `pass`, and reads the flag back.
    fn flagged(&mut self, hook: bool) -> Result<bool, GpuError> {
        self.stream.memset_zeros(&mut self.flag)?;
        let null = 0u64;
        let grid = self.gpu.full_grid();
        if hook {
            let mut launch = self.stream.launch_builder(&self.gpu.hook);
            launch.arg(&self.n).arg(&self.q);
            match &self.blocked {
                Some(b) => launch.arg(b),
                None => launch.arg(&null),
            };
            launch.arg(&mut self.label).arg(&mut self.flag);
            // SAFETY: cat_hook(n, q, blocked, label, changed): arguments in
            // order and type; q describes this lattice, so every neighbour
            // index formed is a vertex below n.
            unsafe { launch.launch(grid) }?;
        } else {
            let mut launch = self.stream.launch_builder(&self.gpu.shortcut);
            launch.arg(&self.n).arg(&mut self.label).arg(&mut self.flag);
            // SAFETY: cat_shortcut(n, label, changed): labels are vertex
            // indices below n or the skipped NONE.
            unsafe { launch.launch(grid) }?;
        }
        let flag = self.stream.clone_dtoh(&self.flag)?;
        self.stream.synchronize()?;
        Ok(flag.first().is_some_and(|&f| f != 0))
    }
}

impl ComponentsExec for CudaComponents<'_> {
    fn hook(&mut self) -> Result<bool, GpuError> {
        self.flagged(true)
    }

    fn shortcut(&mut self) -> Result<bool, GpuError> {
        self.flagged(false)
    }

    fn roots(&mut self) -> Result<Vec<(u64, u64)>, GpuError> {
        let n = self.n as usize;
        let grid = self.gpu.full_grid();
        let mut size = self.stream.alloc_zeros::<u64>(n)?;
        let mut span = self.stream.alloc_zeros::<u64>(n)?;
        let mut launch = self.stream.launch_builder(&self.gpu.tally);
        launch
            .arg(&self.n)
            .arg(&self.size0)
            .arg(&self.label)
            .arg(&mut size)
            .arg(&mut span);
        // SAFETY: cat_tally(n, size0, label, size, span): arguments in order
        // and type; labels index below n, size and span have n slots.
        unsafe { launch.launch(grid) }?;
        let mut root_size = self.stream.alloc_zeros::<u64>(n)?;
        let mut root_span = self.stream.alloc_zeros::<u64>(n)?;
        let mut count = self.stream.alloc_zeros::<u64>(1)?;
        let mut launch = self.stream.launch_builder(&self.gpu.roots);
        launch
            .arg(&self.n)
            .arg(&self.label)
            .arg(&size)
            .arg(&span)
            .arg(&mut root_size)
            .arg(&mut root_span)
            .arg(&mut count);
        // SAFETY: cat_roots(n, label, size, span, root_size, root_span,
        // roots): arguments in order and type; at most n roots are listed.
        unsafe { launch.launch(grid) }?;
        let count = self.stream.clone_dtoh(&count)?;
        self.stream.synchronize()?;
        let roots = count.first().copied().unwrap_or(0) as usize;
        let sizes = self.stream.clone_dtoh(&root_size.slice(0..roots))?;
        let spans = self.stream.clone_dtoh(&root_span.slice(0..roots))?;
        self.stream.synchronize()?;
        Ok(sizes.into_iter().zip(spans).collect())
    }
}
