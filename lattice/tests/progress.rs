//! Issue 22: the engines report their progress to the caller's `Cancel`
//! (`advanced`), at the points where they poll it: the fast engine once a
//! level, with the vertices it labelled; the reference search and the
//! operations every 2^16 expansions. The sum never exceeds the vertices
//! actually visited, and comes within one interval of it.

use catalytic_lattice::{Blocked, Cancel, Lattice, bfs_distances, bfs_levels, components};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
struct Counting(AtomicU64);

impl Cancel for Counting {
    fn should_stop(&self) -> bool {
        false
    }
    fn advanced(&self, vertices: u64) {
        self.0.fetch_add(vertices, Ordering::Relaxed);
    }
}

const INTERVAL: u64 = 1 << 16;

#[test]
fn every_engine_reports_about_the_vertices_it_visited() -> Result<(), Box<dyn std::error::Error>> {
    let lattice = Lattice::new(vec![600, 600])?;
    let n = lattice.vertex_count();

    let fast = Counting::default();
    bfs_levels(&lattice, 0, None, &fast)?;
    // Every vertex but the source is labelled at some level.
    assert_eq!(fast.0.load(Ordering::Relaxed), n - 1);

    let reference = Counting::default();
    bfs_distances(&lattice, 0, &reference)?;
    // Open: the search expands every vertex once.
    let told = reference.0.load(Ordering::Relaxed);
    assert!(told <= n && n - told < INTERVAL, "{told} of {n}");

    // Components of an open lattice are written down without a scan; a
    // blocked one is scanned.
    let blocked = lattice.with_blocked(Blocked::Seeded {
        fraction: 0.2,
        seed: 7,
    })?;
    let scan = Counting::default();
    components(&blocked, &scan)?;
    let told = scan.0.load(Ordering::Relaxed);
    assert!(told > 0 && told <= 2 * n, "{told} for {n} vertices");
    Ok(())
}
