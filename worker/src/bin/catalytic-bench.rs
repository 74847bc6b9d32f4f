//! `catalytic-bench`: BFS throughput of the lattice engines on this machine.
//! Its own binary (issue 16): compute only, no settings, no connections, and
//! nothing of it in the worker.
//!
//! Prints one line per (lattice, engine, thread layout): wall time, TEPS
//! (docs/adr/0002-lattices.md: undirected edges whose both ends were reached ÷ BFS seconds),
//! working bytes per vertex as the engine accounts them, and the process's
//! peak RSS during the case (VmHWM, reset before each case through
//! `/proc/self/clear_refs`). The reference engine (`bfs_distances`) runs in
//! the same process where it fits, so ratios come from one run. Peers
//! (igraph, networkx) are measured by `scripts/bench_peers.py`;
//! `scripts/bench.sh` runs both and writes the table of docs/benchmarks.md.
//! With `--check-estimates` it also compares each one-thread row with the
//! time the api's cost estimate expects (`shared/src/job/cost.rs`) and exits
//! with status 1 past 2× either way. This I/O lives here because the lattice
//! crate is pure.

use std::time::Instant;

use catalytic_lattice::{
    Blocked, Lattice, LatticeError, Levels, Never, Work, bfs_distances, bfs_levels,
    with_engine_threads,
};
use catalytic_shared::job::cost;

/// Measure BFS throughput (TEPS), wall time and memory of the lattice engines; prints a table.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
struct BenchArgs {
    /// Only the small lattices (2-D 1000², 3-D 100³, 4-D 60⁴): seconds, not minutes.
    #[arg(long)]
    quick: bool,
    /// Only cases whose name contains this text (e.g. `3d-1000`, `blocked`).
    #[arg(long)]
    only: Option<String>,
    /// Skip the reference engine above this many vertices (it needs ~4.5 bytes each and ~30 ns per vertex).
    #[arg(long, default_value_t = 1_000_000_000)]
    reference_max: u64,
    /// Timed runs per measurement for lattices under 10^8 vertices (the best is reported).
    #[arg(long, default_value_t = 3)]
    repeat: u32,
    /// Exit with status 1 if any one-thread row's time is more than 2× from the
    /// estimate the api prices a job at (`catalytic_shared::job::cost`).
    #[arg(long)]
    check_estimates: bool,
}

/// Seed of the 20 % blocked cases (any fixed value; peers use the same rule).
const BLOCKED_SEED: u64 = 42;

/// One benchmark lattice.
struct Case {
    name: String,
    sizes: Vec<u32>,
    blocked: f64,
}

fn cases(quick: bool) -> Vec<Case> {
    let shapes: &[(&str, &[u32])] = &[
        ("2d-1000", &[1000, 1000]),
        ("3d-100", &[100, 100, 100]),
        ("4d-60", &[60, 60, 60, 60]),
        ("2d-10000", &[10_000, 10_000]),
        ("3d-1000", &[1000, 1000, 1000]),
    ];
    let shapes = if quick { &shapes[..3] } else { shapes };
    shapes
        .iter()
        .flat_map(|&(name, sizes)| {
            [(0.0, "open"), (0.2, "blocked20")].map(|(blocked, tag)| Case {
                name: format!("{name}-{tag}"),
                sizes: sizes.to_vec(),
                blocked,
            })
        })
        .collect()
}

/// One measured row.
struct Row<'a> {
    case: &'a Case,
    vertices: u64,
    engine: &'static str,
    threads: &'static str,
    seconds: f64,
    edges: u64,
    /// BFS levels (the source's eccentricity + 1): with the wall time, the
    /// per-level rate that bounds lattices of high diameter.
    levels: u64,
    bytes_per_vertex: f64,
    peak_rss: u64,
    /// What the job's cost estimate expects, for the one-thread rows.
    estimated: Option<f64>,
}

impl Row<'_> {
    fn teps(&self) -> f64 {
        self.edges as f64 / self.seconds
    }

    /// Measured over estimated time, for the rows that have an estimate.
    fn off_by(&self) -> Option<f64> {
        self.estimated.map(|e| self.seconds / e)
    }
}

/// The widest a measured time may stray from its estimate, either way.
const ESTIMATE_TOLERANCE: f64 = 2.0;

/// Runs the benchmark and prints the rows; errors only on an invalid lattice.
fn main() -> Result<std::process::ExitCode, LatticeError> {
    let args = <BenchArgs as clap::Parser>::parse();
    let strays = run(&args)?;
    if args.check_estimates && strays > 0 {
        eprintln!("{strays} rows more than {ESTIMATE_TOLERANCE}x from their estimate");
        return Ok(std::process::ExitCode::FAILURE);
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Prints every row; returns how many strayed more than [`ESTIMATE_TOLERANCE`] from their estimate.
fn run(args: &BenchArgs) -> Result<u32, LatticeError> {
    let mut strays = 0;
    println!(
        "# catalytic-bench: {} CPUs available to rayon, source = first open vertex",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<22} {:>13} {:>8} {:<9} {:<8} {:>9} {:>11} {:>8} {:>10} {:>9} {:>9} {:>8} {:>10}",
        "name",
        "vertices",
        "blocked%",
        "engine",
        "threads",
        "wall_s",
        "TEPS",
        "B/vertex",
        "peak_MiB",
        "vs_ref",
        "est_s",
        "meas/est",
        "levels/s"
    );
    for case in cases(args.quick) {
        if args
            .only
            .as_ref()
            .is_some_and(|only| !case.name.contains(only.as_str()))
        {
            continue;
        }
        let lattice = lattice_of(&case)?;
        let source = (0..lattice.vertex_count())
            .find(|&v| !lattice.is_blocked(v))
            .unwrap_or(0);
        let repeat = if lattice.vertex_count() < 100_000_000 {
            args.repeat.max(1)
        } else {
            1
        };
        let mut rows = Vec::new();

        reset_peak();
        let (seconds, levels) = best_of(repeat, || {
            with_engine_threads(1, || bfs_levels(&lattice, source, None, &Never))
        });
        let Some(levels) = levels else { continue };
        let edges = levels.reached_edges();
        let level_count = levels.level_sizes().len() as u64;
        let mut one = row(&case, &lattice, "fast", "1", seconds, edges, &levels);
        let visits = catalytic_lattice::fast_estimate(&lattice).vertex_visits as f64;
        one.estimated = Some(cost::fast_seconds(&lattice, visits));
        rows.push(one);
        drop(levels);

        reset_peak();
        let (seconds, levels) = best_of(repeat, || {
            with_engine_threads(2, || bfs_levels(&lattice, source, None, &Never))
        });
        if let Some(levels) = levels {
            rows.push(row(&case, &lattice, "fast", "2", seconds, edges, &levels));
        }

        // Throughput layout: two independent searches, one thread each, side by side.
        reset_peak();
        let (seconds, levels) = best_of(repeat, || {
            std::thread::scope(|scope| {
                let other = scope.spawn(|| {
                    with_engine_threads(1, || bfs_levels(&lattice, source, None, &Never))
                });
                let mine = with_engine_threads(1, || bfs_levels(&lattice, source, None, &Never));
                let _ = other.join();
                mine
            })
        });
        if let Some(levels) = levels {
            let mut r = row(&case, &lattice, "fast", "2x1", seconds, 2 * edges, &levels);
            r.bytes_per_vertex *= 2.0;
            rows.push(r);
        }

        if lattice.vertex_count() <= args.reference_max {
            reset_peak();
            let (seconds, reached) = best_of(repeat, || {
                bfs_distances(&lattice, source, &Never).map(|d| d.len())
            });
            if reached.is_some() {
                rows.push(Row {
                    case: &case,
                    vertices: lattice.vertex_count(),
                    engine: "reference",
                    threads: "1",
                    seconds,
                    edges,
                    levels: level_count,
                    bytes_per_vertex: reference_bytes_per_vertex(&lattice),
                    peak_rss: peak_rss(),
                    estimated: Some(cost::reference_seconds(
                        &lattice,
                        catalytic_lattice::estimate(&lattice, Work::Distances).vertex_visits as f64,
                    )),
                });
            }
        }
        let reference = rows.iter().find(|r| r.engine == "reference").map(Row::teps);
        for r in &rows {
            let ratio = reference.map_or("-".to_string(), |t| format!("{:.1}x", r.teps() / t));
            let off = r.off_by();
            if off.is_some_and(|o| !(1.0 / ESTIMATE_TOLERANCE..=ESTIMATE_TOLERANCE).contains(&o)) {
                strays += 1;
            }
            println!(
                "{:<22} {:>13} {:>8.0} {:<9} {:<8} {:>9.3} {:>11.3e} {:>8.3} {:>10.1} {:>9} {:>9} {:>8} {:>10.0}",
                r.case.name,
                r.vertices,
                r.case.blocked * 100.0,
                r.engine,
                r.threads,
                r.seconds,
                r.teps(),
                r.bytes_per_vertex,
                r.peak_rss as f64 / (1024.0 * 1024.0),
                ratio,
                r.estimated.map_or("-".to_string(), |e| format!("{e:.3}")),
                off.map_or("-".to_string(), |o| format!("{o:.2}")),
                r.levels as f64 / r.seconds
            );
        }
    }
    Ok(strays)
}

fn lattice_of(case: &Case) -> Result<Lattice, LatticeError> {
    let lattice = Lattice::new(case.sizes.clone())?;
    if case.blocked > 0.0 {
        lattice.with_blocked(Blocked::Seeded {
            fraction: case.blocked,
            seed: BLOCKED_SEED,
        })
    } else {
        Ok(lattice)
    }
}

fn row<'a>(
    case: &'a Case,
    lattice: &Lattice,
    engine: &'static str,
    threads: &'static str,
    seconds: f64,
    edges: u64,
    levels: &Levels,
) -> Row<'a> {
    Row {
        case,
        vertices: lattice.vertex_count(),
        engine,
        threads,
        seconds,
        edges,
        levels: levels.level_sizes().len() as u64,
        bytes_per_vertex: levels.memory_bytes() as f64 / lattice.vertex_count() as f64,
        peak_rss: peak_rss(),
        estimated: None,
    }
}

/// The reference engine's working bytes per vertex: a u32 distance each plus its FIFO.
fn reference_bytes_per_vertex(lattice: &Lattice) -> f64 {
    catalytic_lattice::estimate_shortest_path(lattice).memory_bytes as f64
        / lattice.vertex_count() as f64
}

/// Runs `f` `repeat` times; the best wall time and the last result (None if cancelled, which `Never` never does).
fn best_of<T, E>(repeat: u32, mut f: impl FnMut() -> Result<T, E>) -> (f64, Option<T>) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..repeat {
        let start = Instant::now();
        let result = f();
        best = best.min(start.elapsed().as_secs_f64());
        last = result.ok();
    }
    (best, last)
}

/// Resets the kernel's peak-RSS mark for this process (Linux ≥ 4.0); best effort.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident set size in bytes since the last reset (VmHWM), 0 if unknown.
fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        })
        .map_or(0, |kib| kib * 1024)
}
