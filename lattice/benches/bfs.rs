//! Criterion benches of the BFS engines on small and medium lattices (the
//! large ones, up to 10^9 vertices, are `catalytic-bench`'s job).
//! Runs in about a minute: `cargo bench -p catalytic-lattice --bench bfs`.
//! Never run in CI.

use std::time::Duration;

use catalytic_lattice::{
    Blocked, Cancel, DataKind, Lattice, Never, Transform, apply, apply_catalytic, aux_bytes_needed,
    bfs_distances, bfs_levels, fast_shortest_path, generate, with_engine_threads,
};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn lattices() -> Vec<(&'static str, Lattice)> {
    let mut out = Vec::new();
    for (name, sizes) in [
        ("2d-1000", vec![1000, 1000]),
        ("3d-100", vec![100, 100, 100]),
    ] {
        let Ok(open) = Lattice::new(sizes) else {
            continue;
        };
        let blocked = open.clone().with_blocked(Blocked::Seeded {
            fraction: 0.2,
            seed: 42,
        });
        out.push((name, open));
        if let Ok(blocked) = blocked {
            out.push((
                if name == "2d-1000" {
                    "2d-1000-blocked20"
                } else {
                    "3d-100-blocked20"
                },
                blocked,
            ));
        }
    }
    out
}

fn bench_bfs(c: &mut Criterion) {
    let mut group = c.benchmark_group("bfs");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, lattice) in lattices() {
        let source = (0..lattice.vertex_count())
            .find(|&v| !lattice.is_blocked(v))
            .unwrap_or(0);
        // Throughput in edges of the open lattice: an upper bound of the TEPS numerator.
        group.throughput(Throughput::Elements(lattice.edge_count()));
        for threads in [1, 2] {
            group.bench_with_input(
                BenchmarkId::new(format!("fast-{threads}t"), name),
                &lattice,
                |b, l| {
                    b.iter(|| with_engine_threads(threads, || bfs_levels(l, source, None, &Never)))
                },
            );
        }
        group.bench_with_input(BenchmarkId::new("reference", name), &lattice, |b, l| {
            b.iter(|| bfs_distances(l, source, &Never))
        });
    }
    group.finish();
}

fn bench_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("shortest_path");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(2));
    if let Ok(lattice) = Lattice::uniform(3, 100) {
        let end = lattice.vertex_count() - 1;
        group.bench_function("fast-corner-to-corner-3d-100", |b| {
            b.iter(|| fast_shortest_path(&lattice, 0, end, &Never))
        });
        group.bench_function("reference-corner-to-corner-3d-100", |b| {
            b.iter(|| catalytic_lattice::shortest_path(&lattice, 0, end, &Never))
        });
    }
    group.finish();
}

/// What a worker's engine reports to (issue 22): the cancel check and the
/// progress counter of `worker/src/compute.rs`'s `Signals`, on atomics.
#[derive(Default)]
struct Reporting {
    cancelled: std::sync::atomic::AtomicBool,
    done: std::sync::atomic::AtomicU64,
}

impl catalytic_lattice::Cancel for Reporting {
    fn should_stop(&self) -> bool {
        self.cancelled.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn advanced(&self, vertices: u64) {
        self.done
            .fetch_add(vertices, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Progress reporting against none, same lattice, same run (issue 22: it
/// must not slow the compute measurably). The worker's engine is
/// `bfs_levels` on 2 threads; the operations' scans and the reference
/// search report every 2^16 expansions.
fn bench_progress(c: &mut Criterion) {
    let mut group = c.benchmark_group("progress");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let Ok(lattice) = Lattice::uniform(3, 200) else {
        return;
    };
    let reporting = Reporting::default();
    group.throughput(Throughput::Elements(lattice.edge_count()));
    group.bench_function("fast-2t-3d-200/none", |b| {
        b.iter(|| with_engine_threads(2, || bfs_levels(&lattice, 0, None, &Never)))
    });
    group.bench_function("fast-2t-3d-200/reporting", |b| {
        b.iter(|| with_engine_threads(2, || bfs_levels(&lattice, 0, None, &reporting)))
    });
    group.bench_function("reference-3d-200/none", |b| {
        b.iter(|| bfs_distances(&lattice, 0, &Never))
    });
    group.bench_function("reference-3d-200/reporting", |b| {
        b.iter(|| bfs_distances(&lattice, 0, &reporting))
    });
    group.finish();
}

/// Transforms reporting their elements against none (issue 22): the same
/// 10^6-element f32 field, plain rotate (out of place), catalytic rotate
/// (through aux) and xor, polled every 2^16 elements either way.
fn bench_transform_progress(c: &mut Criterion) {
    let mut group = c.benchmark_group("progress");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    let Ok(lattice) = Lattice::new(vec![1000, 1000]) else {
        return;
    };
    let data = generate(&lattice, DataKind::F32, 1);
    let rotate = Transform::Rotate {
        axes: [0, 1],
        quarter_turns: 1,
    };
    let xor = Transform::Xor { key: vec![1, 2, 3] };
    let aux = vec![0x5a; aux_bytes_needed(&lattice, DataKind::F32, &rotate) as usize];
    let reporting = Reporting::default();
    let cancels: [(&str, &dyn Cancel); 2] = [("none", &Never), ("reporting", &reporting)];
    group.throughput(Throughput::Elements(lattice.vertex_count()));
    for (name, cancel) in cancels {
        for (label, transform) in [("rotate", &rotate), ("xor", &xor)] {
            group.bench_function(format!("transform-{label}-2d-1000/{name}"), |b| {
                b.iter_batched(
                    || data.clone(),
                    |d| apply(&lattice, d, transform, cancel),
                    BatchSize::LargeInput,
                )
            });
        }
        group.bench_function(format!("transform-catalytic-rotate-2d-1000/{name}"), |b| {
            b.iter_batched_ref(
                || (data.clone(), aux.clone()),
                |(d, a)| apply_catalytic(&lattice, d, a, &rotate, cancel),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_bfs,
    bench_path,
    bench_progress,
    bench_transform_progress
);
criterion_main!(benches);
