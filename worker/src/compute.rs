//! Runs a job's operation on the lattice engine, on the blocking thread pool
//! (so a long BFS never stalls the async runtime that keeps heartbeats and
//! acks flowing), polling a cancellation token and the job's time limit.
//! Results are capped in size: full fields and vertex lists only for small
//! lattices (the engine's caps), paths of a batch only up to
//! `MAX_BATCH_PATH_VERTICES` in total.

use crate::admission::{Admission, AdmitError};
use crate::device::Device;
use crate::progress::Progress;
use catalytic_lattice::{Cancelled, Data, Lattice, LatticeError, TransformError};
use catalytic_shared::job::{AuxSpec, DataSpec, JobSpec, Operation, TransformSpec};
use catalytic_shared::result_parts::{Packed, Packer};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Path vertices a batch result lists at most, over all its pairs; beyond
/// it, the result gives lengths only.
pub const MAX_BATCH_PATH_VERTICES: usize = 100_000;
/// Data elements a transform result lists at most; beyond it, checksums only.
pub const MAX_TRANSFORM_OUTPUT: usize = 100_000;

/// What the engine produced.
#[derive(Debug)]
pub struct Computed {
    pub result: Value,
    pub vertex_visits: u64,
    pub elapsed: Duration,
    /// `cpu` or `gpu`: the engine that computed it (usage events bill GPU time apart).
    pub device: &'static str,
    /// The full answer where it exceeds the result's inline caps, packed to
    /// be stored (`catalytic_shared::result_parts`): the executor stores
    /// them before the outcome and lists them in the result.
    pub parts: Vec<Packed>,
}

#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    #[error("the stored spec is invalid for the engine: {0}")]
    Invalid(#[from] LatticeError),
    #[error("the transform is invalid: {0}")]
    Transform(#[from] TransformError),
    #[error("the stored spec is not a job spec: {0}")]
    Unreadable(#[from] serde_json::Error),
    #[error("computation cancelled")]
    Cancelled,
    /// The limit, and the engine the job ran on (`cpu` or `gpu`), which bills the time.
    #[error("the job ran past its time limit of {} s", .0.as_secs_f64())]
    TimeLimit(Duration, &'static str),
    #[error(transparent)]
    TooLarge(AdmitError),
    #[error("the engine thread failed: {0}")]
    Panicked(String),
    #[error("packing the result's full answer failed: {0}")]
    Packing(#[from] std::io::Error),
    /// An input read when the job runs (a parent's output) is not usable.
    #[error("{0}")]
    Input(String),
}

impl From<Cancelled> for ComputeError {
    fn from(_: Cancelled) -> Self {
        ComputeError::Cancelled
    }
}

/// The engine names recorded in results and usage events.
pub const CPU: &str = "cpu";
pub const GPU: &str = "gpu";

/// Computes `spec` on a blocking thread once `admission` has its memory,
/// stopping at `cancel` or when `time_limit` (counted from the start of the
/// compute) has passed.
pub async fn run(
    spec: Value,
    cancel: CancellationToken,
    time_limit: Duration,
    admission: &Admission,
    device: &Device,
    progress: Arc<Progress>,
) -> Result<Computed, ComputeError> {
    let spec: JobSpec = serde_json::from_value(spec)?;
    run_spec(spec, cancel, time_limit, admission, device, progress).await
}

/// [`run`] of a spec already read (a run-through's copy, `run_through.rs`).
pub async fn run_spec(
    spec: JobSpec,
    cancel: CancellationToken,
    time_limit: Duration,
    admission: &Admission,
    device: &Device,
    progress: Arc<Progress>,
) -> Result<Computed, ComputeError> {
    let lattice = spec.lattice()?;
    let estimate = catalytic_shared::job::cost::estimate(&spec, &lattice);
    progress.plan(&spec.operation, &lattice, &estimate);
    // The engine that will compute it, which bills the time if it runs out.
    let planned = match device.gpu_for(&lattice) {
        Some(_) => GPU,
        None => CPU,
    };
    let _memory = admission
        .admit(estimate.memory_bytes, &cancel)
        .await
        .map_err(|e| match e {
            AdmitError::Cancelled => ComputeError::Cancelled,
            too_large @ AdmitError::TooLarge { .. } => ComputeError::TooLarge(too_large),
        })?;
    let expired = Arc::new(AtomicBool::new(false));
    let timer = {
        let expired = expired.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(time_limit).await;
            expired.store(true, Ordering::Relaxed);
            cancel.cancel();
        })
    };
    let device = device.clone();
    let signals = Signals { cancel, progress };
    let outcome = tokio::task::spawn_blocking(move || compute(&spec, &device, &signals))
        .await
        .map_err(|e| ComputeError::Panicked(e.to_string()));
    timer.abort();
    match outcome? {
        Err(ComputeError::Cancelled) if expired.load(Ordering::Relaxed) => {
            Err(ComputeError::TimeLimit(time_limit, planned))
        }
        other => other,
    }
}

/// What the engine polls while it computes: the job's cancel (a tenant's
/// cancel, a lost lease or the time limit) and where its progress goes.
struct Signals {
    cancel: CancellationToken,
    progress: Arc<Progress>,
}

impl catalytic_lattice::Cancel for Signals {
    fn should_stop(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn advanced(&self, vertices: u64) {
        self.progress.add(vertices);
    }
}

fn compute(
    spec: &JobSpec,
    device: &Device,
    cancel: &(dyn catalytic_lattice::Cancel + Sync),
) -> Result<Computed, ComputeError> {
    let started = Instant::now();
    let lattice = spec.lattice()?;
    let gpu = device.gpu_for(&lattice);
    let mut engine = CPU;
    let mut parts = Vec::new();
    let (mut result, vertex_visits) = match &spec.operation {
        Operation::ShortestPath { start, end } => {
            let (s, e) = (index(&lattice, start)?, index(&lattice, end)?);
            let (path, used) = path_on(&lattice, s, e, gpu, cancel)?;
            engine = used;
            let visits = path
                .as_ref()
                .map_or(lattice.vertex_count(), |p| p.vertices_visited);
            (path_json(path.as_ref(), true), visits)
        }
        Operation::Distances { source } => {
            let s = index(&lattice, source)?;
            let (d, field) = distances_on(&lattice, s, cancel)?;
            engine = CPU;
            if let Some(field) = field {
                parts.push(field_part(&lattice, &field)?);
            }
            let visits = d.reachable;
            (serde_json::to_value(d)?, visits)
        }
        Operation::Neighbors { center, radius } => {
            let center = index(&lattice, center)?;
            // Large balls run on the fast engine: its threads rule applies.
            let (ball, beyond) = on_engine_threads(&lattice, || {
                catalytic_lattice::neighbors_listed(&lattice, center, *radius, cancel)
            })?;
            if let Some(indices) = beyond {
                parts.push(vertices_part(&lattice, &indices)?);
            }
            let visits = ball.count;
            (serde_json::to_value(ball)?, visits)
        }
        Operation::Components {} => {
            // Open lattices are one component, written down: no scan to move.
            let gpu = device
                .gpu_for_scan(&lattice)
                .filter(|_| lattice.has_blocking());
            let (c, used) = prefer_gpu(
                gpu,
                |g| g.components(&lattice, cancel),
                || Ok(catalytic_lattice::components(&lattice, cancel)?),
            )?;
            engine = used;
            (serde_json::to_value(c)?, lattice.vertex_count())
        }
        Operation::Analyze {} => {
            let a = catalytic_lattice::analyze(&lattice, cancel)?;
            // Analysis does not count its visits; bill one full scan, a
            // lower bound (the estimate is an upper bound, up to 10^10).
            (serde_json::to_value(a)?, lattice.vertex_count())
        }
        Operation::Batch { pairs } => {
            let indices = pairs
                .iter()
                .map(|p| Ok((index(&lattice, &p.start)?, index(&lattice, &p.end)?)))
                .collect::<Result<Vec<_>, ComputeError>>()?;
            let paths = match gpu {
                // One search per pair on the GPU; the CPU engine shares a
                // search between pairs with the same end.
                Some(_) => {
                    let mut paths = Vec::with_capacity(indices.len());
                    for &(s, e) in &indices {
                        let (path, used) = path_on(&lattice, s, e, gpu, cancel)?;
                        engine = used;
                        paths.push(path);
                    }
                    paths
                }
                None => on_engine_threads(&lattice, || {
                    catalytic_lattice::shortest_paths(&lattice, &indices, cancel)
                })?,
            };
            let total: usize = paths.iter().flatten().map(|p| p.path.len()).sum();
            let with_paths = total <= MAX_BATCH_PATH_VERTICES;
            if !with_paths {
                parts.extend(batch_path_parts(&lattice, &paths)?);
            }
            let visits = paths.iter().flatten().map(|p| p.vertices_visited).sum();
            let results: Vec<Value> = paths
                .iter()
                .map(|p| path_json(p.as_ref(), with_paths))
                .collect();
            (
                json!({"count": results.len(), "paths_listed": with_paths, "results": results}),
                visits,
            )
        }
        Operation::Transform(t) => {
            let (result, visits, data) = transform(&lattice, t, cancel)?;
            parts.extend(data);
            (result, visits)
        }
    };
    let elapsed = started.elapsed();
    if let Some(object) = result.as_object_mut() {
        object.insert("engine".into(), json!(engine));
        object.insert("compute_ms".into(), json!(elapsed.as_secs_f64() * 1e3));
    }
    Ok(Computed {
        result,
        vertex_visits,
        elapsed,
        device: engine,
        parts,
    })
}

/// Lattices at least this large get every core for one BFS; smaller ones
/// run on one thread, so the worker's concurrent jobs (one per core) are
/// the parallelism. Measured: docs/benchmarks.md ("one BFS on two threads,
/// or two BFS on one thread each").
pub const ALL_CORES_FROM_VERTICES: u64 = 10_000_000;

fn on_engine_threads<T: Send>(lattice: &Lattice, f: impl FnOnce() -> T + Send) -> T {
    match lattice.vertex_count() >= ALL_CORES_FROM_VERTICES {
        true => f(),
        false => catalytic_lattice::with_engine_threads(1, f),
    }
}

/// Runs `on_gpu` when a GPU is given, else `on_cpu`; a GPU failure other
/// than a cancel falls back to `on_cpu` (the GPU is a preference, design
/// §2). Returns the result and the engine that computed it.
fn prefer_gpu<T>(
    gpu: Option<&catalytic_gpu::Gpu>,
    on_gpu: impl FnOnce(&catalytic_gpu::Gpu) -> Result<T, catalytic_gpu::GpuError>,
    on_cpu: impl FnOnce() -> Result<T, ComputeError>,
) -> Result<(T, &'static str), ComputeError> {
    if let Some(gpu) = gpu {
        match on_gpu(gpu) {
            Ok(done) => return Ok((done, GPU)),
            Err(catalytic_gpu::GpuError::Cancelled) => return Err(ComputeError::Cancelled),
            Err(e) => tracing::warn!(error = %e, "GPU computation failed; computing on the CPU"),
        }
    }
    Ok((on_cpu()?, CPU))
}

/// Distances from `source`, always on the CPU, even on a GPU worker: the
/// answer includes the exact distance of every vertex (inline up to the
/// field cap, beyond it stored as the result's `field` part, issue 22), and
/// the GPU search keeps distances mod 3 only. The fast engine where it pays
/// (`fast_engine_pays`: enough vertices a level), else the reference.
fn distances_on(
    lattice: &Lattice,
    source: u64,
    cancel: &(dyn catalytic_lattice::Cancel + Sync),
) -> Result<(catalytic_lattice::Distances, Option<Vec<u32>>), ComputeError> {
    let above_cap = lattice.vertex_count() > catalytic_lattice::FULL_FIELD_CAP;
    Ok(on_engine_threads(lattice, || {
        catalytic_lattice::distances_where_fastest(lattice, source, above_cap, cancel)
    })?)
}

/// A ball's vertices beyond the inline list as a `.npy` part: one row of
/// 32-bit coordinates (axis 0 first) per vertex, in ascending vertex index.
fn vertices_part(lattice: &Lattice, indices: &[u64]) -> Result<Packed, ComputeError> {
    let d = lattice.dimensions() as u64;
    let mut packer = Packer::npy("vertices", "<u4", &[indices.len() as u64, d], false);
    let mut row = Vec::with_capacity(4 * d as usize * 4096);
    for chunk in indices.chunks(4096) {
        row.clear();
        for &v in chunk {
            for x in lattice.coord_of(v) {
                row.extend_from_slice(&x.to_le_bytes());
            }
        }
        packer.write(&row)?;
    }
    Ok(packer.finish()?)
}

/// A batch's paths beyond the inline cap as two `.npy` parts: `paths`,
/// every path's coordinates one after another (a row per vertex, axis 0
/// first), and `path_offsets`, where pair `i`'s path starts and ends in it
/// (rows `offsets[i]..offsets[i + 1]`; an unreachable pair's is empty).
fn batch_path_parts(
    lattice: &Lattice,
    paths: &[Option<catalytic_lattice::ShortestPath>],
) -> Result<[Packed; 2], ComputeError> {
    let d = lattice.dimensions() as u64;
    let total: u64 = paths.iter().flatten().map(|p| p.path.len() as u64).sum();
    let mut rows = Packer::npy("paths", "<u4", &[total, d], false);
    let mut offsets = vec![0i64];
    let mut bytes = Vec::new();
    for path in paths {
        bytes.clear();
        for coord in path.iter().flat_map(|p| p.path.iter()) {
            for x in coord {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        rows.write(&bytes)?;
        let last = offsets.last().copied().unwrap_or(0);
        offsets.push(last + path.as_ref().map_or(0, |p| p.path.len() as i64));
    }
    let mut starts = Packer::npy("path_offsets", "<i8", &[offsets.len() as u64], false);
    let offset_bytes: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    starts.write(&offset_bytes)?;
    Ok([rows.finish()?, starts.finish()?])
}

/// The whole distance field as a `.npy` part: 32-bit integers, `-1` for
/// unreachable or blocked, shaped like the lattice with axis 0 first
/// (Fortran order, the engine's vertex order).
fn field_part(lattice: &Lattice, field: &[u32]) -> Result<Packed, ComputeError> {
    let shape: Vec<u64> = lattice.sizes().iter().map(|&s| u64::from(s)).collect();
    let mut packer = Packer::npy("field", "<i4", &shape, true);
    packer.write_i32s(field.iter().map(|&d| i32::try_from(d).unwrap_or(-1)))?;
    Ok(packer.finish()?)
}

/// One canonical path, on `gpu` when given, else on the CPU: the fast engine
/// where it pays (enough vertices a level), the reference on long thin
/// lattices, whose many small levels the fast engine pays for one by one.
fn path_on(
    lattice: &Lattice,
    start: u64,
    end: u64,
    gpu: Option<&catalytic_gpu::Gpu>,
    cancel: &(dyn catalytic_lattice::Cancel + Sync),
) -> Result<(Option<catalytic_lattice::ShortestPath>, &'static str), ComputeError> {
    prefer_gpu(
        gpu,
        |g| g.shortest_path(lattice, start, end, cancel),
        || {
            Ok(match catalytic_lattice::fast_engine_pays(lattice) {
                true => on_engine_threads(lattice, || {
                    catalytic_lattice::fast_shortest_path(lattice, start, end, cancel)
                })?,
                false => catalytic_lattice::shortest_path(lattice, start, end, cancel)?,
            })
        },
    )
}

fn index(lattice: &Lattice, coord: &[u32]) -> Result<u64, ComputeError> {
    let coord: Vec<u64> = coord.iter().map(|&c| u64::from(c)).collect();
    Ok(lattice.index_of(&coord)?)
}

fn path_json(path: Option<&catalytic_lattice::ShortestPath>, with_path: bool) -> Value {
    match path {
        None => json!({"reachable": false}),
        Some(p) if with_path => json!({
            "reachable": true, "length": p.length, "path": p.path, "vertices_visited": p.vertices_visited,
        }),
        Some(p) => {
            json!({"reachable": true, "length": p.length, "vertices_visited": p.vertices_visited})
        }
    }
}

/// A transform's result; its output data inline up to
/// `MAX_TRANSFORM_OUTPUT` elements, beyond it as the `data` part (a `.npy`
/// shaped like the lattice, axis 0 first, as the field). The transform polls
/// `cancel` and reports its elements to it as progress (`progress.rs`).
fn transform(
    lattice: &Lattice,
    t: &TransformSpec,
    cancel: &dyn catalytic_lattice::Cancel,
) -> Result<(Value, u64, Option<Packed>), ComputeError> {
    let n = lattice.vertex_count();
    let data = match &t.data {
        DataSpec::U8 { values } => Data::U8(values.clone()),
        DataSpec::F32 { values } => Data::F32(values.clone()),
        DataSpec::SeededU8 { seed } => {
            catalytic_lattice::generate(lattice, catalytic_lattice::DataKind::U8, *seed)
        }
        DataSpec::SeededF32 { seed } => {
            catalytic_lattice::generate(lattice, catalytic_lattice::DataKind::F32, *seed)
        }
        // `inputs::resolve` replaces these before the compute.
        DataSpec::ParentU8 | DataSpec::ParentF32 => {
            return Err(ComputeError::Input(
                "the parent's output was not read".to_owned(),
            ));
        }
    };
    let engine = t.transform.engine();
    let checksum_before = catalytic_lattice::checksum(&bytes(&data));
    let (data, catalytic) = if t.catalytic {
        let needed = catalytic_lattice::aux_bytes_needed(lattice, t.data.kind(), &engine);
        let mut aux = match &t.aux {
            Some(AuxSpec::Bytes { values }) => values.clone(),
            Some(AuxSpec::Seeded { seed }) => seeded_bytes(*seed, needed),
            None => seeded_bytes(0, needed),
        };
        let mut data = data;
        let report =
            catalytic_lattice::apply_catalytic(lattice, &mut data, &mut aux, &engine, cancel)??;
        (data, Some(serde_json::to_value(report)?))
    } else {
        (
            catalytic_lattice::apply(lattice, data, &engine, cancel)??,
            None,
        )
    };
    let out_bytes = bytes(&data);
    let mut result = json!({
        "elements": n,
        "checksum_before": checksum_before,
        "checksum_after": catalytic_lattice::checksum(&out_bytes),
        "catalytic": catalytic,
    });
    if (n as usize) <= MAX_TRANSFORM_OUTPUT {
        if let Some(object) = result.as_object_mut() {
            object.insert("data".into(), data_json(&data));
        }
        return Ok((result, n, None));
    }
    let dtype = match data {
        Data::U8(_) => "|u1",
        Data::F32(_) => "<f4",
    };
    let shape: Vec<u64> = lattice.sizes().iter().map(|&s| u64::from(s)).collect();
    let mut packer = Packer::npy("data", dtype, &shape, true);
    packer.write(&out_bytes)?;
    Ok((result, n, Some(packer.finish()?)))
}

/// The data as a request gives it (`{"type": "u8", "values": […]}`), so a
/// result can be fed to the next transform as it is (issue 18: it was
/// serde's `{"U8": […]}`).
fn data_json(data: &Data) -> serde_json::Value {
    match data {
        Data::U8(v) => json!({"type": "u8", "values": v}),
        Data::F32(v) => json!({"type": "f32", "values": v}),
    }
}

/// The data's bytes (f32 little-endian), for checksums.
fn bytes(data: &Data) -> Vec<u8> {
    match data {
        Data::U8(v) => v.clone(),
        Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// `len` bytes from a splitmix64 stream: the aux buffer a request asked to
/// be generated (standing in for "someone else's data").
fn seeded_bytes(seed: u64, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    let mut state = seed;
    while (out.len() as u64) < len {
        state = state.wrapping_add(1);
        out.extend_from_slice(&catalytic_lattice::splitmix64(state).to_le_bytes());
    }
    out.truncate(usize::try_from(len).unwrap_or(0));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_LIMIT: Duration = Duration::from_secs(600);

    fn plenty() -> Admission {
        Admission::new(8 << 30)
    }

    #[tokio::test]
    async fn a_job_larger_than_the_memory_budget_is_refused() {
        let spec = json!({"lattice": {"sizes": [1000, 1000]}, "operation": "distances", "params": {"source": [0, 0]}});
        let out = run(
            spec,
            CancellationToken::new(),
            NO_LIMIT,
            &Admission::new(1 << 20),
            &Device::Cpu,
            Arc::default(),
        )
        .await;
        assert!(
            matches!(
                out,
                Err(ComputeError::TooLarge(AdmitError::TooLarge { .. }))
            ),
            "{out:?}"
        );
    }

    /// On a GPU machine (`catalytic-gpu check` and this test, run there)
    /// large searches run on the GPU; elsewhere `auto` computes them on the
    /// CPU. Same answers either way.
    #[tokio::test]
    async fn large_searches_use_the_gpu_when_there_is_one() -> Result<(), Box<dyn std::error::Error>>
    {
        let device = Device::open(
            catalytic_shared::config::DeviceMode::Auto,
            1,
            catalytic_gpu::Tuning::default(),
        )?;
        let expected = if device.is_gpu() { GPU } else { CPU };
        let lattice = json!({"sizes": [100, 100, 100]});
        let path = json!({"lattice": lattice, "operation": "shortest_path",
                          "params": {"start": [0, 0, 0], "end": [99, 99, 99]}});
        let out = run(
            path,
            CancellationToken::new(),
            NO_LIMIT,
            &plenty(),
            &device,
            Arc::default(),
        )
        .await?;
        assert_eq!(
            (out.result["length"].clone(), out.device),
            (json!(297), expected)
        );
        assert_eq!(
            out.result["path"][1],
            json!([1, 0, 0]),
            "the canonical first step"
        );
        let dist =
            json!({"lattice": lattice, "operation": "distances", "params": {"source": [0, 0, 0]}});
        let out = run(
            dist,
            CancellationToken::new(),
            NO_LIMIT,
            &plenty(),
            &device,
            Arc::default(),
        )
        .await?;
        assert_eq!(out.result["eccentricity"], 297);
        assert_eq!(out.result["reachable"], 1_000_000);
        assert_eq!(out.result["histogram"][1], 3);
        assert_eq!(out.result["engine"], expected);
        let blocked = json!({"lattice": {"sizes": [100, 100, 100],
                                          "blocked": {"kind": "seeded", "fraction": 0.2, "seed": 42}},
                             "operation": "components", "params": {}});
        let reference = catalytic_lattice::components(
            &catalytic_lattice::Lattice::uniform(3, 100)?.with_blocked(
                catalytic_lattice::Blocked::Seeded {
                    fraction: 0.2,
                    seed: 42,
                },
            )?,
            &catalytic_lattice::Never,
        )?;
        let out = run(
            blocked,
            CancellationToken::new(),
            NO_LIMIT,
            &plenty(),
            &device,
            Arc::default(),
        )
        .await?;
        assert_eq!(out.result["count"], reference.count);
        assert_eq!(out.result["largest"], reference.largest);
        assert_eq!(out.result["engine"], expected);
        Ok(())
    }

    #[tokio::test]
    async fn computes_a_path_from_a_stored_spec() -> Result<(), ComputeError> {
        let spec = json!({"lattice": {"sizes": [5, 5]}, "operation": "shortest_path",
                          "params": {"start": [0, 0], "end": [4, 3]}});
        let out = run(
            spec,
            CancellationToken::new(),
            NO_LIMIT,
            &plenty(),
            &Device::Cpu,
            Arc::default(),
        )
        .await?;
        assert_eq!(out.result["length"], 7);
        assert_eq!(out.result["path"][0], json!([0, 0]));
        assert_eq!(out.result["path"][7], json!([4, 3]));
        Ok(())
    }

    #[tokio::test]
    async fn a_cancelled_token_stops_the_engine() {
        let spec = json!({"lattice": {"sizes": [300, 300, 300]}, "operation": "shortest_path",
                          "params": {"start": [0, 0, 0], "end": [299, 299, 299]}});
        let token = CancellationToken::new();
        token.cancel();
        assert!(matches!(
            run(
                spec,
                token,
                NO_LIMIT,
                &plenty(),
                &Device::Cpu,
                Arc::default()
            )
            .await,
            Err(ComputeError::Cancelled)
        ));
    }

    #[tokio::test]
    async fn the_time_limit_stops_the_engine() {
        // Blocked, so the engine must scan (an open lattice has a closed form).
        let spec = json!({"lattice": {"sizes": [200, 200, 200], "blocked": {"kind": "seeded", "fraction": 0.1, "seed": 1}},
                          "operation": "components", "params": {}});
        let out = run(
            spec,
            CancellationToken::new(),
            Duration::from_millis(20),
            &plenty(),
            &Device::Cpu,
            Arc::default(),
        )
        .await;
        assert!(matches!(out, Err(ComputeError::TimeLimit(..))), "{out:?}");
    }

    #[tokio::test]
    async fn garbage_specs_are_unreadable_not_panics() {
        let out = run(
            json!({"lattice": 3}),
            CancellationToken::new(),
            NO_LIMIT,
            &plenty(),
            &Device::Cpu,
            Arc::default(),
        )
        .await;
        assert!(matches!(out, Err(ComputeError::Unreadable(_))));
    }

    #[tokio::test]
    async fn a_catalytic_rotation_restores_its_aux_buffer() -> Result<(), ComputeError> {
        let spec = json!({"lattice": {"sizes": [4, 4]}, "operation": "transform",
            "params": {"transform": {"kind": "rotate", "axes": [0, 1], "quarter_turns": 1},
                       "data": {"source": "seeded_u8", "seed": 5}, "catalytic": true,
                       "aux": {"source": "seeded", "seed": 9}}});
        let out = run(
            spec,
            CancellationToken::new(),
            NO_LIMIT,
            &plenty(),
            &Device::Cpu,
            Arc::default(),
        )
        .await?;
        let report = &out.result["catalytic"];
        assert_eq!(report["restored"], true, "{}", out.result);
        assert_eq!(report["aux_checksum_before"], report["aux_checksum_after"]);
        assert_eq!(out.result["data"]["type"], "u8");
        assert_eq!(
            out.result["data"]["values"].as_array().map(Vec::len),
            Some(16)
        );
        Ok(())
    }

    #[test]
    fn seeded_bytes_are_deterministic_and_sized() {
        assert_eq!(seeded_bytes(1, 13).len(), 13);
        assert_eq!(seeded_bytes(1, 13), seeded_bytes(1, 13));
        assert_ne!(seeded_bytes(1, 13), seeded_bytes(2, 13));
    }
}
