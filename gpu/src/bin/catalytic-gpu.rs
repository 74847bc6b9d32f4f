//! `catalytic-gpu`: the GPU engine's own checks and benchmarks, one small
//! binary to copy to a GPU machine (no Rust toolchain there).
//!
//! - `info`: which CUDA libraries open, and the device.
//! - `compile`: NVRTC-compiles every kernel to PTX (no GPU needed; CI runs it
//!   with NVRTC from the `nvidia-cuda-nvrtc` wheel).
//! - `check`: GPU results against the CPU engine on the sample lattices and
//!   large ones, bit for bit; non-zero exit on any difference.
//! - `layout`: the host's share of a GPU search (no GPU needed): the layout
//!   with the seeded blocked mask built on the host, or left to the device.
//! - `bench`: BFS time and TEPS of either engine on 10⁸ and 10⁹ vertices
//!   (pin the CPU run with `taskset -c 0,1` for the 2-core ratio), the GPU
//!   under each `--thin-max` and `--mask` given, for A/B in one run.

use anyhow_free::Result;
use catalytic_gpu::compare::{same_levels, sample_cases};
use catalytic_gpu::{Gpu, KERNELS, Library, THIN_MAX_TILES, Tuning, compile_ptx, library_present};
use catalytic_lattice::{
    Blocked, DeviceLayout, Lattice, Levels, Never, bfs_levels, components, distances,
    distances_from_levels, fast_shortest_path, with_engine_threads,
};
use clap::{Parser, Subcommand, ValueEnum};
use std::time::Instant;

/// This binary's errors are strings for the terminal; no anyhow dependency.
mod anyhow_free {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
}

#[derive(Parser)]
#[command(version, about = "Checks and benchmarks of the Catalytic GPU engine.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Which CUDA libraries open, and the device's name, memory and multiprocessors.
    Info,
    /// Compile every kernel with NVRTC (no GPU needed); write the PTX to --out.
    Compile {
        /// Virtual architectures to compile for.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "compute_75,compute_80,compute_90"
        )]
        arch: Vec<String>,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// GPU against CPU, bit for bit, on sample and large lattices.
    Check {
        #[arg(long, default_value_t = 2000)]
        cases: usize,
        /// Frontier sizes (tiles) below which levels run thin; every sample
        /// and large lattice is checked under each (0: never thin).
        #[arg(long, value_delimiter = ',', default_value = "0,64,4096")]
        thin_max: Vec<u64>,
    },
    /// BFS from a corner over every vertex, and a corner-to-corner shortest path.
    Bench {
        #[arg(long, value_enum)]
        engine: Engine,
        /// CPU threads (the rayon pool); pin the process with taskset to match.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Only lattices whose name contains this text.
        #[arg(long)]
        only: Option<String>,
        /// Timed runs per case (the best is reported).
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        /// GPU: frontier sizes (tiles) below which levels run thin, one row
        /// per value and lattice (0: never thin).
        #[arg(long, value_delimiter = ',', default_values_t = [THIN_MAX_TILES])]
        thin_max: Vec<u64>,
        /// GPU: where a seeded blocked mask is built, one row per value.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "device")]
        mask: Vec<MaskAt>,
    },
    /// The host's work before a GPU search: the layout, with a seeded mask
    /// built here (as before `kernels/mask.cuh`) or left to the device.
    Layout {
        /// CPU threads (the rayon pool); pin the process with taskset to match.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 3)]
        repeat: u32,
    },
    /// Corner-to-corner shortest paths from 10³ to 10⁷ vertices on the GPU
    /// and on the CPU (one thread, and every thread): where the GPU starts
    /// to pay off, for `worker.gpu_min_vertices`.
    Threshold {
        #[arg(long, default_value_t = 5)]
        repeat: u32,
        /// Frontier size (tiles) below which GPU levels run thin.
        #[arg(long, default_value_t = THIN_MAX_TILES)]
        thin_max: u64,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum MaskAt {
    Host,
    Device,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Engine {
    Cpu,
    Gpu,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Info => info(),
        Command::Compile { arch, out } => compile(&arch, out.as_deref()),
        Command::Check { cases, thin_max } => check(cases, &thin_max),
        Command::Bench {
            engine,
            threads,
            only,
            repeat,
            thin_max,
            mask,
        } => {
            let tunings = thin_max
                .iter()
                .flat_map(|&thin_max_tiles| {
                    mask.iter().map(move |&at| Tuning {
                        thin_max_tiles,
                        mask_on_device: at == MaskAt::Device,
                    })
                })
                .collect::<Vec<_>>();
            bench(engine, threads, only.as_deref(), repeat, &tunings)
        }
        Command::Threshold { repeat, thin_max } => threshold(repeat, thin_max),
        Command::Layout { threads, repeat } => layout(threads, repeat),
    }
}

fn info() -> Result<()> {
    for library in [Library::Driver, Library::Nvrtc] {
        println!("{library:?}: {:?}", library_present(library));
    }
    let gpu = Gpu::open(0)?;
    println!("{:?}", gpu.info());
    Ok(())
}

fn compile(archs: &[String], out: Option<&std::path::Path>) -> Result<()> {
    for arch in archs {
        // NVRTC takes a &'static str; these few leak once per run.
        let arch: &'static str = Box::leak(arch.clone().into_boxed_str());
        let ptx = compile_ptx(Some(arch))?;
        let text = ptx.to_src();
        println!(
            "{arch}: {} entry points ({}), {} bytes of PTX",
            KERNELS.len(),
            KERNELS.join(", "),
            text.len()
        );
        if let Some(dir) = out {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join(format!("catalytic_kernels.{arch}.ptx")), text)?;
        }
    }
    Ok(())
}

/// Each thin bound, with the mask on the device, then the mask on the host.
fn check_tunings(thin_max: &[u64]) -> Vec<Tuning> {
    let mut tunings: Vec<Tuning> = thin_max
        .iter()
        .map(|&thin_max_tiles| Tuning {
            thin_max_tiles,
            mask_on_device: true,
        })
        .collect();
    tunings.push(Tuning {
        mask_on_device: false,
        ..Tuning::default()
    });
    tunings
}

fn check(count: usize, thin_max: &[u64]) -> Result<()> {
    let mut gpu = Gpu::open(0)?;
    println!("device: {:?}", gpu.info());
    let tunings = check_tunings(thin_max);
    let mut checked = 0usize;
    for case in sample_cases(count, 0x5eed) {
        let want = bfs_levels(&case.lattice, case.source, case.stop, &Never)?;
        let cpu_path = match case.stop {
            Some(stop) => fast_shortest_path(&case.lattice, stop, case.source, &Never)?,
            None => None,
        };
        for &tuning in &tunings {
            gpu.set_tuning(tuning);
            let got = gpu.bfs_levels(&case.lattice, case.source, case.stop, &Never)?;
            same_levels(&case.lattice, &got, &want)
                .map_err(|e| format!("{case:?} {tuning:?}: {e}"))?;
            if let Some(stop) = case.stop {
                let gpu_path = gpu.shortest_path(&case.lattice, stop, case.source, &Never)?;
                if gpu_path != cpu_path {
                    return Err(format!("{case:?} {tuning:?}: paths differ").into());
                }
            }
        }
        checked += 1;
    }
    println!("sample lattices: {checked} equal to the CPU engine under each of {tunings:?}");
    gpu.set_tuning(Tuning::default());
    for case in sample_cases(count / 4, 0xc0de) {
        let got = gpu.components(&case.lattice, &Never)?;
        if got != components(&case.lattice, &Never)? {
            return Err(format!("{case:?}: components differ").into());
        }
    }
    println!(
        "sample lattices: {} component counts equal to the CPU engine",
        count / 4
    );
    for (name, lattice) in large_lattices()? {
        if lattice.vertex_count() > 200_000_000 {
            continue;
        }
        let last = lattice.vertex_count() - 1;
        let want = bfs_levels(&lattice, 0, None, &Never)?;
        // The worker's tuning last, so its search is the one kept below.
        let others = tunings.iter().filter(|&&t| t != Tuning::default());
        let mut got = None;
        for &tuning in others.chain([&Tuning::default()]) {
            gpu.set_tuning(tuning);
            let levels = gpu.bfs_levels(&lattice, 0, None, &Never)?;
            same_levels(&lattice, &levels, &want).map_err(|e| format!("{name} {tuning:?}: {e}"))?;
            got = Some(levels);
        }
        let got = got.ok_or("no search ran")?;
        let gpu_path = gpu.shortest_path(&lattice, 0, last, &Never)?;
        let cpu_path = fast_shortest_path(&lattice, 0, last, &Never)?;
        if gpu_path != cpu_path {
            return Err(format!("{name}: paths differ").into());
        }
        let summary = distances_from_levels(&lattice, 0, &got);
        if summary != distances(&lattice, 0, &Never)? {
            return Err(format!("{name}: distances differ").into());
        }
        if lattice.has_blocking() {
            let start = Instant::now();
            let on_gpu = gpu.components(&lattice, &Never)?;
            let gpu_ms = start.elapsed().as_secs_f64() * 1e3;
            let start = Instant::now();
            let on_cpu = components(&lattice, &Never)?;
            let cpu_ms = start.elapsed().as_secs_f64() * 1e3;
            if on_gpu != on_cpu {
                return Err(format!("{name}: components differ").into());
            }
            println!(
                "{name}: components equal ({} components, largest {}): GPU {gpu_ms:.0} ms, CPU (1 thread) {cpu_ms:.0} ms",
                on_gpu.count, on_gpu.largest
            );
        }
        println!(
            "{name}: equal, paths and distances too ({} vertices reached)",
            got.reached()
        );
    }
    let mut data: Vec<u8> = (0..10_000_019u32).map(|i| (i % 251) as u8).collect();
    let key = [7u8, 1, 200];
    let want: Vec<u8> = data
        .iter()
        .enumerate()
        .map(|(i, &d)| d ^ key[i % 3])
        .collect();
    gpu.xor(&mut data, &key)?;
    if data != want {
        return Err("xor differs".into());
    }
    let mut floats: Vec<f32> = (0..10_000_019u32).map(|i| i as f32 * 0.37 - 5e5).collect();
    let want: Vec<u32> = floats.iter().map(|&f| (f * 1.7f32).to_bits()).collect();
    gpu.scale(&mut floats, 1.7)?;
    if floats.iter().map(|f| f.to_bits()).collect::<Vec<_>>() != want {
        return Err("scale differs".into());
    }
    println!("transforms: xor and scale equal on 10^7 elements");
    println!("check passed");
    Ok(())
}

/// The benchmark lattices of docs/benchmarks.md, 10⁸ and 10⁹ vertices.
fn large_lattices() -> Result<Vec<(&'static str, Lattice)>> {
    Ok(vec![
        ("2d-10000", Lattice::uniform(2, 10_000)?),
        ("3d-464", Lattice::uniform(3, 464)?),
        ("4d-100", Lattice::uniform(4, 100)?),
        (
            "3d-464-blocked20",
            Lattice::uniform(3, 464)?.with_blocked(Blocked::Seeded {
                fraction: 0.2,
                seed: 42,
            })?,
        ),
        ("2d-31623", Lattice::uniform(2, 31_623)?),
        ("3d-1000", Lattice::uniform(3, 1000)?),
        ("4d-178", Lattice::uniform(4, 178)?),
    ])
}

fn bench(
    engine: Engine,
    threads: usize,
    only: Option<&str>,
    repeat: u32,
    tunings: &[Tuning],
) -> Result<()> {
    let mut gpu = match engine {
        Engine::Gpu => Some(Gpu::open(0)?),
        Engine::Cpu => None,
    };
    let device = gpu
        .as_ref()
        .map_or(format!("cpu, {threads} threads"), |g| g.info().name.clone());
    println!("engine: {device}");
    println!("| lattice | vertices | thin max | mask | BFS s | TEPS | path s | path length |");
    println!("|---|---:|---:|---|---:|---:|---:|---:|");
    // The CPU has one way to run; the GPU one per tuning.
    let tunings = match engine {
        Engine::Cpu => &tunings[..tunings.len().min(1)],
        Engine::Gpu => tunings,
    };
    for (name, lattice) in large_lattices()? {
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        for &tuning in tunings {
            if let Some(g) = gpu.as_mut() {
                g.set_tuning(tuning);
            }
            bench_one(name, &lattice, gpu.as_ref(), threads, repeat)?;
        }
    }
    Ok(())
}

/// One row of `bench`: `lattice` on `gpu` (as tuned) or on the CPU engine.
fn bench_one(
    name: &str,
    lattice: &Lattice,
    gpu: Option<&Gpu>,
    threads: usize,
    repeat: u32,
) -> Result<()> {
    let run = |f: &dyn Fn() -> Result<Levels>| -> Result<(f64, Levels)> {
        let mut best: Option<(f64, Levels)> = None;
        for _ in 0..repeat.max(1) {
            let start = Instant::now();
            let levels = f()?;
            let secs = start.elapsed().as_secs_f64();
            if best.as_ref().is_none_or(|(b, _)| secs < *b) {
                best = Some((secs, levels));
            }
        }
        best.ok_or_else(|| "no run".into())
    };
    let bfs = || -> Result<Levels> {
        Ok(match gpu {
            Some(g) => g.bfs_levels(lattice, 0, None, &Never)?,
            None => with_engine_threads(threads, || bfs_levels(lattice, 0, None, &Never))?,
        })
    };
    let (secs, levels) = run(&bfs)?;
    let edges = levels.reached_edges();
    let last = lattice.vertex_count() - 1;
    let start = Instant::now();
    let path = match gpu {
        Some(g) => g.shortest_path(lattice, 0, last, &Never)?,
        None => with_engine_threads(threads, || fast_shortest_path(lattice, 0, last, &Never))?,
    };
    let path_secs = start.elapsed().as_secs_f64();
    let (thin, mask) = match gpu.map(Gpu::tuning) {
        Some(t) => (
            t.thin_max_tiles.to_string(),
            if t.mask_on_device { "device" } else { "host" },
        ),
        None => ("-".to_owned(), "host"),
    };
    println!(
        "| {name} | {} | {thin} | {mask} | {secs:.3} | {:.3e} | {path_secs:.3} | {} |",
        lattice.vertex_count(),
        edges as f64 / secs,
        path.map_or(0, |p| p.length)
    );
    Ok(())
}

fn layout(threads: usize, repeat: u32) -> Result<()> {
    println!("host: {threads} threads");
    println!("| lattice | vertices | layout + mask on host ms | layout, mask on device ms |");
    println!("|---|---:|---:|---:|");
    for (name, lattice) in large_lattices()? {
        if !lattice.has_blocking() {
            continue;
        }
        let best = |deferred: bool| {
            (0..repeat.max(1))
                .map(|_| {
                    let start = Instant::now();
                    let layout = with_engine_threads(threads, || {
                        if deferred {
                            DeviceLayout::deferring_seeded(&lattice)
                        } else {
                            DeviceLayout::new(&lattice)
                        }
                    });
                    let ms = start.elapsed().as_secs_f64() * 1e3;
                    drop(layout);
                    ms
                })
                .fold(f64::MAX, f64::min)
        };
        println!(
            "| {name} | {} | {:.1} | {:.1} |",
            lattice.vertex_count(),
            best(false),
            best(true)
        );
    }
    Ok(())
}

fn threshold(repeat: u32, thin_max_tiles: u64) -> Result<()> {
    let gpu = Gpu::open_tuned(
        0,
        Tuning {
            thin_max_tiles,
            ..Tuning::default()
        },
    )?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "device: {}; CPU: 1 thread and {cores} threads",
        gpu.info().name
    );
    println!("| lattice | vertices | GPU ms | CPU 1 thread ms | CPU {cores} threads ms |");
    println!("|---|---:|---:|---:|---:|");
    let best = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
        let mut best = f64::MAX;
        for _ in 0..repeat.max(1) {
            let start = Instant::now();
            f()?;
            best = best.min(start.elapsed().as_secs_f64() * 1e3);
        }
        Ok(best)
    };
    for (dims, side) in [
        (2, 32u32),
        (2, 100),
        (2, 316),
        (2, 1000),
        (2, 3162),
        (3, 10),
        (3, 22),
        (3, 46),
        (3, 100),
        (3, 215),
    ] {
        let lattice = Lattice::uniform(dims, side)?;
        let last = lattice.vertex_count() - 1;
        let on_gpu = best(&|| {
            gpu.shortest_path(&lattice, 0, last, &Never)?;
            Ok(())
        })?;
        let on_cpu = |threads: usize| {
            best(&|| {
                with_engine_threads(threads, || fast_shortest_path(&lattice, 0, last, &Never))?;
                Ok(())
            })
        };
        println!(
            "| {dims}d-{side} | {} | {on_gpu:.2} | {:.2} | {:.2} |",
            lattice.vertex_count(),
            on_cpu(1)?,
            on_cpu(cores)?
        );
    }
    Ok(())
}
