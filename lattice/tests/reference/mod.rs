//! The naive reference the operations are checked against: coordinates by
//! odometer, indices by Horner's rule from the highest axis, seeded blocking
//! by its own splitmix64 and an exact rational comparison, an explicit
//! adjacency list, and textbook algorithms over it. Shares nothing with the
//! crate but the public constructors.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use catalytic_lattice::{Blocked, Lattice};

/// How a generated case blocks vertices.
#[derive(Debug, Clone)]
pub enum Block {
    None,
    Explicit(Vec<u64>),
    Seeded(f64, u64),
}

#[derive(Debug, Clone)]
pub struct Case {
    pub sizes: Vec<u32>,
    pub wrap: Vec<bool>,
    pub block: Block,
}

impl Case {
    pub fn lattice(&self) -> Lattice {
        let blocked = match &self.block {
            Block::None => Blocked::None,
            Block::Explicit(list) => Blocked::Explicit(list.clone()),
            Block::Seeded(fraction, seed) => Blocked::Seeded {
                fraction: *fraction,
                seed: *seed,
            },
        };
        Lattice::new(self.sizes.clone())
            .unwrap()
            .with_wrap(self.wrap.clone())
            .unwrap()
            .with_blocked(blocked)
            .unwrap()
    }
}

pub fn reference_splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `h < fraction * 2^64`, exactly: write the fraction as `m * 2^e`.
pub fn below_fraction(h: u64, fraction: f64) -> bool {
    if fraction == 0.0 {
        return false;
    }
    let bits = fraction.to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i64;
    let frac_bits = bits & ((1u64 << 52) - 1);
    let (m, e) = if exp_bits == 0 {
        (frac_bits, -1074)
    } else {
        (frac_bits | 1 << 52, exp_bits - 1075)
    };
    let shift = e + 64;
    if shift >= 0 {
        u128::from(h) < u128::from(m) << shift
    } else {
        let k = -shift;
        if h == 0 {
            m > 0
        } else if k >= 64 {
            false
        } else {
            u128::from(h) << k < u128::from(m)
        }
    }
}

/// The explicit graph of open vertices, by coordinates.
pub struct Graph {
    pub n: u64,
    pub size0: u32,
    pub coords: Vec<Vec<u32>>,
    pub open: Vec<bool>,
    pub adj: Vec<Vec<u64>>,
}

impl Graph {
    pub fn build(case: &Case) -> Self {
        let sizes = &case.sizes;
        let index = |c: &[u32]| -> u64 {
            c.iter()
                .zip(sizes)
                .rev()
                .fold(0u64, |acc, (&x, &s)| acc * u64::from(s) + u64::from(x))
        };
        let mut coords = Vec::new();
        let mut c = vec![0u32; sizes.len()];
        'odometer: loop {
            coords.push(c.clone());
            for (x, &s) in c.iter_mut().zip(sizes) {
                *x += 1;
                if *x < s {
                    continue 'odometer;
                }
                *x = 0;
            }
            break;
        }
        let n = coords.len() as u64;
        let blocked: HashSet<u64> = match &case.block {
            Block::None => HashSet::new(),
            Block::Explicit(list) => list.iter().copied().collect(),
            Block::Seeded(f, seed) => (0..n)
                .filter(|&i| below_fraction(reference_splitmix64(seed ^ i), *f))
                .collect(),
        };
        let open: Vec<bool> = (0..n).map(|i| !blocked.contains(&i)).collect();
        let mut adj = vec![Vec::new(); n as usize];
        for c in &coords {
            let v = index(c);
            if !open[v as usize] {
                continue;
            }
            let mut list = Vec::new();
            for (axis, &s) in sizes.iter().enumerate() {
                for up in [false, true] {
                    let mut u = c.clone();
                    let (moved, wraps) = match (up, u[axis]) {
                        (false, 0) => (s - 1, true),
                        (false, x) => (x - 1, false),
                        (true, x) if x + 1 == s => (0, true),
                        (true, x) => (x + 1, false),
                    };
                    if wraps && !case.wrap[axis] {
                        continue;
                    }
                    u[axis] = moved;
                    let ui = index(&u);
                    if open[ui as usize] && !list.contains(&ui) {
                        list.push(ui);
                    }
                }
            }
            list.sort_unstable();
            adj[v as usize] = list;
        }
        let mut by_index = vec![Vec::new(); n as usize];
        for c in coords {
            let i = index(&c) as usize;
            by_index[i] = c;
        }
        Graph {
            n,
            size0: sizes[0],
            coords: by_index,
            open,
            adj,
        }
    }

    pub fn bfs(&self, s: u64) -> Vec<Option<u32>> {
        let mut dist = vec![None; self.n as usize];
        if !self.open[s as usize] {
            return dist;
        }
        dist[s as usize] = Some(0);
        let mut queue = VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            let d = dist[v as usize].unwrap();
            for &u in &self.adj[v as usize] {
                if dist[u as usize].is_none() {
                    dist[u as usize] = Some(d + 1);
                    queue.push_back(u);
                }
            }
        }
        dist
    }

    pub fn edges(&self) -> u64 {
        self.adj.iter().map(|l| l.len() as u64).sum::<u64>() / 2
    }

    /// Components by union-find, as sorted vertex lists, ordered by smallest member.
    pub fn components(&self) -> Vec<Vec<u64>> {
        let mut parent: Vec<u64> = (0..self.n).collect();
        fn find(parent: &mut [u64], x: u64) -> u64 {
            let mut r = x;
            while parent[r as usize] != r {
                r = parent[r as usize];
            }
            let mut y = x;
            while parent[y as usize] != r {
                let next = parent[y as usize];
                parent[y as usize] = r;
                y = next;
            }
            r
        }
        for v in 0..self.n {
            for &u in &self.adj[v as usize] {
                let (a, b) = (find(&mut parent, v), find(&mut parent, u));
                if a != b {
                    parent[a.max(b) as usize] = a.min(b);
                }
            }
        }
        let mut groups: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for v in (0..self.n).filter(|&v| self.open[v as usize]) {
            let r = find(&mut parent, v);
            groups.entry(r).or_default().push(v);
        }
        let mut list: Vec<Vec<u64>> = groups.into_values().collect();
        list.sort_by_key(|c| c[0]);
        list
    }

    pub fn open_vertices(&self) -> Vec<u64> {
        (0..self.n).filter(|&v| self.open[v as usize]).collect()
    }
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Brandes with predecessor lists, networkx normalisation (normalized=True).
pub fn reference_betweenness(g: &Graph) -> Vec<f64> {
    let nodes = g.open_vertices();
    let mut bc: HashMap<u64, f64> = nodes.iter().map(|&v| (v, 0.0)).collect();
    for &s in &nodes {
        let mut stack = Vec::new();
        let mut pred: HashMap<u64, Vec<u64>> = HashMap::new();
        let mut sigma: HashMap<u64, f64> = nodes.iter().map(|&v| (v, 0.0)).collect();
        let mut dist: HashMap<u64, i64> = HashMap::new();
        sigma.insert(s, 1.0);
        dist.insert(s, 0);
        let mut queue = VecDeque::from([s]);
        while let Some(v) = queue.pop_front() {
            stack.push(v);
            for &w in &g.adj[v as usize] {
                if !dist.contains_key(&w) {
                    dist.insert(w, dist[&v] + 1);
                    queue.push_back(w);
                }
                if dist[&w] == dist[&v] + 1 {
                    *sigma.get_mut(&w).unwrap() += sigma[&v];
                    pred.entry(w).or_default().push(v);
                }
            }
        }
        let mut delta: HashMap<u64, f64> = nodes.iter().map(|&v| (v, 0.0)).collect();
        while let Some(w) = stack.pop() {
            for &v in pred.get(&w).map(Vec::as_slice).unwrap_or(&[]) {
                let add = sigma[&v] / sigma[&w] * (1.0 + delta[&w]);
                *delta.get_mut(&v).unwrap() += add;
            }
            if w != s {
                *bc.get_mut(&w).unwrap() += delta[&w];
            }
        }
    }
    let m = nodes.len() as f64;
    nodes
        .iter()
        .map(|v| {
            if m > 2.0 {
                bc[v] / ((m - 1.0) * (m - 2.0))
            } else {
                bc[v]
            }
        })
        .collect()
}

pub fn summary(values: &[f64]) -> (f64, f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max, values.iter().sum::<f64>() / values.len() as f64)
}
