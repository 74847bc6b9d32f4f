//! The checks that a search run elsewhere equals the CPU engine's, and the
//! sample lattices they run on (the property-test shapes: 1–4 axes of sizes
//! 2–9, some 60–140 wide, wrapped or not, some seeded-blocked), generated
//! deterministically so `catalytic-gpu check` needs no test framework.

use catalytic_lattice::{Blocked, Lattice, Levels, splitmix64};

/// One case: a lattice, a source and a stop vertex.
#[derive(Debug, Clone)]
pub struct Case {
    pub lattice: Lattice,
    pub source: u64,
    pub stop: Option<u64>,
}

/// `count` cases drawn from `seed`.
pub fn sample_cases(count: usize, seed: u64) -> Vec<Case> {
    let mut state = seed;
    let mut next = move || {
        state = splitmix64(state);
        state
    };
    let mut cases = Vec::with_capacity(count);
    while cases.len() < count {
        let dims = 1 + (next() % 4) as usize;
        let mut sizes: Vec<u32> = (0..dims).map(|_| 2 + (next() % 8) as u32).collect();
        if next() % 5 == 0 {
            sizes[0] = 60 + (next() % 81) as u32;
            sizes.truncate(2);
        }
        let wrap_bits = next();
        let wrap = sizes
            .iter()
            .enumerate()
            .map(|(a, &s)| s >= 3 && wrap_bits & (1 << a) != 0)
            .collect();
        let Ok(lattice) = Lattice::new(sizes).and_then(|l| l.with_wrap(wrap)) else {
            continue;
        };
        let lattice = if next() % 2 == 0 {
            let fraction = (next() % 45) as f64 / 100.0;
            match lattice.with_blocked(Blocked::Seeded {
                fraction,
                seed: next(),
            }) {
                Ok(l) => l,
                Err(_) => continue,
            }
        } else {
            lattice
        };
        let n = lattice.vertex_count();
        let source = next() % n;
        let stop = (next() % 2 == 0).then(|| next() % n);
        cases.push(Case {
            lattice,
            source,
            stop,
        });
    }
    cases
}

/// Ok if `got` holds the same search as `want`: level sizes, and the
/// distance mod 3 (or unreached) of every vertex.
pub fn same_levels(lattice: &Lattice, got: &Levels, want: &Levels) -> Result<(), String> {
    if got.level_sizes() != want.level_sizes() {
        return Err(format!(
            "level sizes differ: {:?} against {:?}",
            got.level_sizes(),
            want.level_sizes()
        ));
    }
    match (0..lattice.vertex_count()).find(|&v| got.distance_mod3(v) != want.distance_mod3(v)) {
        Some(v) => Err(format!(
            "vertex {v}: {:?} against {:?}",
            got.distance_mod3(v),
            want.distance_mod3(v)
        )),
        None => Ok(()),
    }
}
