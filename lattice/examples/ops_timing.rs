//! `ops_timing`: one timed run of a BFS-based operation as the worker calls
//! it (issue 24), for A/B runs of two builds alternated from a shell loop:
//!
//! ```text
//! cargo run --release -p catalytic-lattice --example ops_timing -- distances blocked20 field 2
//! ```
//!
//! Arguments: the operation (`distances`, `ball`, `batch`), the lattice
//! (`open` or `blocked20`: 3-D 464³, the second 20 % blocked with seed 42,
//! as `catalytic-bench`), the operation's parameter (`field`/`nofield`, the
//! radius, the number of distinct ends) and the rayon threads. Prints the
//! wall seconds and the process's peak RSS per vertex (VmHWM). This I/O
//! lives in an example because the lattice crate is pure.

use std::error::Error;
use std::time::Instant;

use catalytic_lattice::{
    Blocked, Lattice, Never, fast_distances, fast_distances_with_field, neighbors_listed,
    shortest_paths, with_engine_threads,
};

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "inline") {
        return inline();
    }
    let [op, which, param, threads] = args.as_slice() else {
        return Err("usage: ops_timing OP open|blocked20 PARAM THREADS".into());
    };
    let open = Lattice::uniform(3, 464)?;
    let lattice = match which.as_str() {
        "open" => open,
        _ => open.with_blocked(Blocked::Seeded {
            fraction: 0.2,
            seed: 42,
        })?,
    };
    let threads: usize = threads.parse()?;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let summary = with_engine_threads(threads, || run(&lattice, op, param))?;
    let seconds = started.elapsed().as_secs_f64();
    let per_vertex = peak_rss() as f64 / lattice.vertex_count() as f64;
    let cpu = cpu_seconds() - cpu_before;
    println!(
        "{op} {which} {param} threads={threads} wall_s={seconds:.3} cpu_s={cpu:.2} peak_B/vertex={per_vertex:.2} {summary}"
    );
    Ok(())
}

/// The reference and the fast engine side by side on lattices within the
/// inline field cap (one thread, best of 5 each): where the worker's switch belongs.
fn inline() -> Res<()> {
    use catalytic_lattice::distances;
    let shapes: [(&str, Vec<u32>, f64); 6] = [
        ("1d-100000", vec![100_000], 0.0),
        ("2d-316", vec![316, 316], 0.0),
        ("2d-316-b20", vec![316, 316], 0.2),
        ("3d-46", vec![46, 46, 46], 0.0),
        ("3d-46-b20", vec![46, 46, 46], 0.2),
        ("5d-10", vec![10; 5], 0.0),
    ];
    for (name, sizes, fraction) in shapes {
        let mut lattice = Lattice::new(sizes)?;
        if fraction > 0.0 {
            lattice = lattice.with_blocked(Blocked::Seeded { fraction, seed: 42 })?;
        }
        let source = (0..lattice.vertex_count())
            .find(|&v| !lattice.is_blocked(v))
            .unwrap_or(0);
        let best = |f: &dyn Fn() -> Res<()>| -> Res<f64> {
            let mut best = f64::MAX;
            for _ in 0..5 {
                let started = Instant::now();
                f()?;
                best = best.min(started.elapsed().as_secs_f64());
            }
            Ok(best)
        };
        let reference = best(&|| Ok(distances(&lattice, source, &Never).map(drop)?))?;
        let fast = with_engine_threads(1, || {
            best(&|| Ok(fast_distances(&lattice, source, &Never).map(drop)?))
        })?;
        println!(
            "{name} reference_ms={:.2} fast_ms={:.2} ratio={:.2}",
            reference * 1e3,
            fast * 1e3,
            reference / fast
        );
    }
    Ok(())
}

/// Runs the operation; a short summary of its answer, to compare builds.
fn run(lattice: &Lattice, op: &str, param: &str) -> Res<String> {
    let first_open = (0..lattice.vertex_count())
        .find(|&v| !lattice.is_blocked(v))
        .unwrap_or(0);
    match op {
        "distances" if param == "field" => {
            let (d, field) = fast_distances_with_field(lattice, first_open, &Never)?;
            let sum: u64 = field
                .iter()
                .filter(|&&x| x != u32::MAX)
                .map(|&x| u64::from(x))
                .sum();
            Ok(format!(
                "reachable={} ecc={} field_sum={sum}",
                d.reachable, d.eccentricity
            ))
        }
        "distances" => {
            let d = fast_distances(lattice, first_open, &Never)?;
            Ok(format!("reachable={} ecc={}", d.reachable, d.eccentricity))
        }
        "ball" => {
            let centre = lattice.index_of(&[232, 232, 232])?;
            let (ball, beyond) = neighbors_listed(lattice, centre, param.parse()?, &Never)?;
            let listed = beyond.map_or(0, |b| b.len());
            Ok(format!("count={} listed={listed}", ball.count))
        }
        "batch" => {
            let ends: u64 = param.parse()?;
            let n = lattice.vertex_count();
            let pick = |k: u64| {
                (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n..).find(|&v| !lattice.is_blocked(v))
            };
            let mut pairs = Vec::new();
            for e in 0..ends {
                let end = pick(2 * e + 1).ok_or("no open end")?;
                for s in 0..2 {
                    pairs.push((pick(100 + 2 * e + s).ok_or("no open start")?, end));
                }
            }
            let paths = shortest_paths(lattice, &pairs, &Never)?;
            let lengths: Vec<u64> = paths.iter().flatten().map(|p| p.length).collect();
            Ok(format!("lengths={lengths:?}"))
        }
        _ => Err(format!("unknown operation {op}").into()),
    }
}

/// User and system CPU seconds of this process, all threads (on a loaded
/// machine a steadier measure than the wall time); 0 where unknown.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// Peak resident bytes of this process (VmHWM), 0 where unknown.
fn peak_rss() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
