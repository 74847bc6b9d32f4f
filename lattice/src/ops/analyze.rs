//! Whole-graph statistics of a lattice: size, degrees, diameter, density,
//! clustering, bipartiteness and (for small graphs) centrality, with the
//! meanings networkx gives them so results can be checked against it.
//!
//! Without blocking almost everything has a closed form: degrees and
//! triangles factor axis by axis (below), the diameter is the sum of docs/adr/0002-lattices.md,
//! and the graph is one component. With blocking, one scan of every vertex
//! counts degrees and triangles, the component pass (`components.rs`) gives
//! connectivity and bipartiteness, and the diameter is exact by all-pairs
//! BFS over the largest component when it has at most
//! [`EXACT_DIAMETER_CAP`] vertices, else a double-sweep lower bound.
//! Closeness and betweenness need all pairs too and are exact up to
//! [`CENTRALITY_CAP`] open vertices. Above it, up to
//! [`SAMPLED_CENTRALITY_CAP`], betweenness is estimated as networkx's
//! `betweenness_centrality(k=…)` does (Brandes, Bader et al. 2007): Brandes'
//! dependencies from [`CENTRALITY_SOURCES`] source vertices drawn without
//! replacement by a fixed seed ([`CENTRALITY_SEED`], so the same lattice
//! always gets the same answer), scaled by `open / sources`. The sum over
//! sources is then unbiased for every vertex; the summary's mean is close,
//! its min and max are noisier (the extremes of noisy values), and each
//! summary names its method and sources so nobody takes it for exact.
//! Closeness from a sample of sources would describe only those sources, so
//! it stays `None` above the cap.
//!
//! Triangles: two neighbours of a vertex along different axes differ from
//! each other in two coordinates, so they are never adjacent; the two along
//! one axis sit at -1 and +1, which are adjacent only on a wrapped axis of
//! size 3 (where +1 and -1 are themselves neighbours). So a vertex lies in one
//! triangle per wrapped size-3 axis whose two neighbours are both open.

use std::mem::size_of;

use super::compact::{CompactGraph, FAR};
use super::components::{self, Scan};
use super::neighbors::{hash_set_bytes, sparse_order};
use crate::bfs::{Stop, UNREACHED, search, slot};
use crate::cancel::{Cancel, Cancelled, poll};
use crate::estimate::{Estimate, search_bytes};
use crate::spec::{Lattice, MAX_DIMENSIONS, splitmix64};

/// Closeness and betweenness are exact for graphs of at most this many open
/// vertices (they take a BFS from every vertex); above it closeness is
/// `None` and betweenness sampled (module docs).
pub const CENTRALITY_CAP: u64 = 2_000;

/// Betweenness is estimated from [`CENTRALITY_SOURCES`] sources for graphs
/// of at most this many open vertices, and `None` above. One BFS with
/// Brandes' backward pass per source touches every vertex's buffers at
/// random, several times the cost of a plain search's visit: 256 sources
/// took 95 s on 10^6 vertices and 4.5 s on 9·10^4 (a loaded 2-core machine).
/// It also keeps the path counts finite: a 2-D grid of `A` vertices has up
/// to about `4^sqrt(A)` shortest paths between two vertices, below f64's
/// 2^1024 up to `A` = 2^18 (higher dimensions have fewer).
pub const SAMPLED_CENTRALITY_CAP: u64 = 100_000;

/// Sources of the sampled betweenness (networkx's `k`). With `k` of `n`
/// sources the estimate's relative spread at a vertex falls as `1/sqrt(k)`;
/// the tests bound it on a torus, where the exact value is known.
pub const CENTRALITY_SOURCES: u64 = 256;

/// The seed of the sampled sources (splitmix64 of `seed + i`, Floyd's
/// sampling without replacement), fixed so an analysis is reproducible.
pub const CENTRALITY_SEED: u64 = 0x0c47_a171_c5ee_d001;

/// The diameter of a blocked lattice is exact (all-pairs BFS) when its
/// largest component has at most this many vertices (docs/adr/0002-lattices.md), else a
/// double-sweep lower bound.
pub const EXACT_DIAMETER_CAP: u64 = 100_000;

/// Statistics of the graph of open vertices.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Analysis {
    /// Open (unblocked) vertices.
    pub vertices: u64,
    /// Undirected edges between open vertices.
    pub edges: u64,
    /// Degrees of the open vertices.
    pub degree: DegreeStats,
    /// Longest shortest path, of the largest component when disconnected.
    pub diameter: Diameter,
    /// `2 edges / (vertices (vertices - 1))`, 0 for fewer than two vertices.
    pub density: f64,
    /// networkx `average_clustering`: the mean over all open vertices of the
    /// local clustering coefficient, 0 for degree below 2 (and for no vertices).
    pub clustering_coefficient: f64,
    /// The graph can be 2-coloured (no odd cycle).
    pub bipartite: bool,
    /// The chromatic number, exact: 1 when edgeless, 2 when bipartite with
    /// an edge, else 3. A lattice is the Cartesian product of its axes,
    /// paths and (wrapped) cycles; by Sabidussi's theorem the product needs
    /// as many colours as its most demanding factor (an odd cycle: 3), and
    /// the open vertices' induced subgraph needs no more, while an odd cycle
    /// needs 3. (It was `null` for every non-bipartite lattice, issue 18.)
    pub colors: u32,
    /// networkx `closeness_centrality` (Wasserman–Faust scaling for
    /// disconnected graphs); `None` above [`CENTRALITY_CAP`] open vertices or with none.
    pub closeness: Option<CentralitySummary>,
    /// networkx `betweenness_centrality` with `normalized=True`: exact up to
    /// [`CENTRALITY_CAP`] open vertices, sampled (module docs) up to
    /// [`SAMPLED_CENTRALITY_CAP`], `None` above or with none.
    pub betweenness: Option<CentralitySummary>,
}

/// Degree statistics over the open vertices (all zero when there are none).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DegreeStats {
    pub min: u32,
    pub max: u32,
    /// `2 edges / vertices`.
    pub mean: f64,
    /// `histogram[k]` = open vertices of degree `k`; `max + 1` entries.
    pub histogram: Vec<u64>,
}

/// The diameter and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Diameter {
    /// Edges on the longest shortest path (0 when nothing is open).
    pub value: u64,
    pub method: DiameterMethod,
    /// The open vertices form exactly one component.
    pub connected: bool,
}

/// How a [`Diameter`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiameterMethod {
    /// `sum(size - 1)` over open axes plus `sum(floor(size / 2))` over wrapped ones: no blocking.
    ClosedForm,
    /// All-pairs BFS over the largest component.
    Exact,
    /// The eccentricity of the farthest vertex from the largest component's
    /// smallest vertex: a lower bound.
    DoubleSweepLowerBound,
}

/// Minimum, maximum and mean of a per-vertex centrality, and how it was found.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CentralitySummary {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub method: CentralityMethod,
    /// The BFS sources the values sum over: every open vertex when exact,
    /// [`CENTRALITY_SOURCES`] when sampled.
    pub sources: u64,
}

/// How a [`CentralitySummary`] was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CentralityMethod {
    /// From every open vertex: networkx's value.
    Exact,
    /// From a seeded sample of sources, scaled up: an estimate (module docs).
    Sampled,
}

/// Statistics of `lattice`'s open vertices (module docs for how each is found).
pub fn analyze(lattice: &Lattice, cancel: &dyn Cancel) -> Result<Analysis, Cancelled> {
    let local = if lattice.has_blocking() {
        local_scan(lattice, cancel)?
    } else {
        local_closed_form(lattice)
    };
    let scan = components::scan(lattice, cancel)?;
    let diameter = diameter(lattice, &scan, cancel)?;
    let (closeness, betweenness) = match &local.open_list {
        Some(list) if list.len() as u64 > CENTRALITY_CAP => {
            let graph = CompactGraph::build(lattice, list);
            let sources = sample_sources(graph.len(), CENTRALITY_SOURCES, CENTRALITY_SEED);
            (None, sampled_betweenness(&graph, &sources, cancel)?)
        }
        Some(list) if !list.is_empty() => {
            let (c, b) = centrality(&CompactGraph::build(lattice, list), cancel)?;
            (Some(c), Some(b))
        }
        _ => (None, None),
    };
    let v = local.vertices;
    let edges = local.degree_sum / 2;
    let ratio = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
    let max = local.histogram.len().saturating_sub(1) as u32;
    let min = local.histogram.iter().position(|&c| c > 0).unwrap_or(0) as u32;
    Ok(Analysis {
        vertices: v,
        edges,
        degree: DegreeStats {
            min,
            max,
            mean: ratio(local.degree_sum as f64, v as f64),
            histogram: local.histogram,
        },
        diameter,
        density: if v > 1 {
            edges as f64 / (v as f64 * (v - 1) as f64) * 2.0
        } else {
            0.0
        },
        clustering_coefficient: ratio(local.clustering_sum, v as f64),
        bipartite: scan.bipartite,
        colors: match (scan.bipartite, edges) {
            (false, _) => 3,
            (true, 0) => 1,
            (true, _) => 2,
        },
        closeness,
        betweenness,
    })
}

/// The per-vertex part: counts, degrees, clustering, and the open vertices
/// themselves when few enough for centrality.
struct Local {
    vertices: u64,
    /// Sum of degrees, twice the edges (saturating on the largest lattices).
    degree_sum: u64,
    /// Open vertices per degree, trimmed after the largest degree present.
    histogram: Vec<u64>,
    /// Sum over open vertices of the local clustering coefficient.
    clustering_sum: f64,
    /// Open vertices ascending, when at most [`SAMPLED_CENTRALITY_CAP`].
    open_list: Option<Vec<u64>>,
}

/// Largest degree, and most triangles at one vertex.
const MAX_DEGREE: usize = 2 * MAX_DIMENSIONS;

/// Local clustering of a vertex of degree `k` in `t` triangles, networkx style.
fn local_clustering(k: usize, t: usize) -> f64 {
    if k < 2 {
        0.0
    } else {
        2.0 * t as f64 / (k * (k - 1)) as f64
    }
}

/// Without blocking a vertex's degree and triangles add up over axes, and
/// each axis contributes by position: an open axis gives degree 1 at its two
/// ends and 2 inside; a wrapped one gives 2 everywhere, plus a triangle when
/// its size is 3. Convolving the per-axis counts gives how many vertices have
/// each (degree, triangles) pair.
fn local_closed_form(lattice: &Lattice) -> Local {
    let mut table = [[0u64; MAX_DIMENSIONS + 1]; MAX_DEGREE + 1];
    table[0][0] = 1;
    for (&size, &wrap) in lattice.sizes().iter().zip(lattice.wraps()) {
        let s = u64::from(size);
        let classes: Vec<(usize, usize, u64)> = if wrap {
            vec![(2, usize::from(size == 3), s)]
        } else {
            vec![(1, 0, 2), (2, 0, s - 2)]
        };
        let mut next = [[0u64; MAX_DIMENSIONS + 1]; MAX_DEGREE + 1];
        for (k, row) in table.iter().enumerate() {
            for (t, &count) in row.iter().enumerate().filter(|&(_, &c)| c > 0) {
                for &(dk, dt, times) in &classes {
                    // Partial products count vertices of a sub-lattice: below n, no overflow.
                    next[k + dk][t + dt] += count * times;
                }
            }
        }
        table = next;
    }
    let mut histogram: Vec<u64> = table.iter().map(|row| row.iter().sum()).collect();
    while histogram.last() == Some(&0) {
        histogram.pop();
    }
    let mut clustering_sum = 0.0;
    for (k, row) in table.iter().enumerate() {
        for (t, &count) in row.iter().enumerate() {
            clustering_sum += count as f64 * local_clustering(k, t);
        }
    }
    let n = lattice.vertex_count();
    Local {
        vertices: n,
        degree_sum: lattice.edge_count().saturating_mul(2),
        histogram,
        clustering_sum,
        open_list: (n <= SAMPLED_CENTRALITY_CAP).then(|| (0..n).collect()),
    }
}

/// One pass over every vertex, counting the open neighbours and triangles of each open one.
fn local_scan(lattice: &Lattice, cancel: &dyn Cancel) -> Result<Local, Cancelled> {
    let mut histogram = vec![0u64; MAX_DEGREE + 1];
    let (mut vertices, mut degree_sum, mut clustering_sum) = (0u64, 0u64, 0.0);
    let mut open_list = Some(Vec::new());
    for v in 0..lattice.vertex_count() {
        if poll(cancel, v) {
            return Err(Cancelled);
        }
        if lattice.is_blocked(v) {
            continue;
        }
        let (mut k, mut t) = (0usize, 0usize);
        lattice.for_each_axis(v, |axis, below, above| {
            k += usize::from(below.is_some()) + usize::from(above.is_some());
            if below.is_some()
                && above.is_some()
                && lattice.wraps()[axis]
                && lattice.sizes()[axis] == 3
            {
                t += 1;
            }
        });
        vertices += 1;
        degree_sum += k as u64;
        histogram[k] += 1;
        clustering_sum += local_clustering(k, t);
        if let Some(list) = &mut open_list {
            if list.len() as u64 >= SAMPLED_CENTRALITY_CAP {
                open_list = None;
            } else {
                list.push(v);
            }
        }
    }
    while histogram.last() == Some(&0) {
        histogram.pop();
    }
    Ok(Local {
        vertices,
        degree_sum,
        histogram,
        clustering_sum,
        open_list,
    })
}

/// The diameter (module docs): the closed form without blocking, else exact
/// by all pairs up to [`EXACT_DIAMETER_CAP`] vertices in the largest
/// component, else the double-sweep lower bound.
fn diameter(lattice: &Lattice, scan: &Scan, cancel: &dyn Cancel) -> Result<Diameter, Cancelled> {
    if !lattice.has_blocking() {
        return Ok(Diameter {
            value: lattice.open_diameter(),
            method: DiameterMethod::ClosedForm,
            connected: true,
        });
    }
    let connected = scan.components.count == 1;
    let Some(root) = scan.largest_root else {
        return Ok(Diameter {
            value: 0,
            method: DiameterMethod::Exact,
            connected,
        });
    };
    let size = scan.components.largest;
    let (value, method) = if size <= EXACT_DIAMETER_CAP {
        (
            all_pairs_diameter(lattice, root, size, cancel)?,
            DiameterMethod::Exact,
        )
    } else {
        (
            double_sweep(lattice, root, cancel)?,
            DiameterMethod::DoubleSweepLowerBound,
        )
    };
    Ok(Diameter {
        value,
        method,
        connected,
    })
}

/// The exact diameter of the component of `root` (`size` vertices): a BFS
/// from every member over the compact graph.
fn all_pairs_diameter(
    lattice: &Lattice,
    root: u64,
    size: u64,
    cancel: &dyn Cancel,
) -> Result<u64, Cancelled> {
    let (mut members, _) = sparse_order(lattice, root, u32::MAX, size, cancel)?;
    members.sort_unstable();
    let graph = CompactGraph::build(lattice, &members);
    let mut dist = vec![FAR; graph.len()];
    let mut order = Vec::with_capacity(graph.len());
    let (mut value, mut expansions) = (0u64, 0u64);
    for source in 0..graph.len() {
        graph.bfs(source, &mut dist, &mut order, &mut expansions, cancel)?;
        if let Some(&last) = order.last() {
            value = value.max(u64::from(dist[slot(u64::from(last))]));
        }
    }
    Ok(value)
}

/// A lower bound of the diameter of the component of `root`: the
/// eccentricity of the farthest vertex from `root` (two full searches).
fn double_sweep(lattice: &Lattice, root: u64, cancel: &dyn Cancel) -> Result<u64, Cancelled> {
    let first = search(lattice, root, Stop::Exhausted, cancel)?;
    let far = farthest(&first.dist);
    drop(first);
    let second = search(lattice, far, Stop::Exhausted, cancel)?;
    Ok(u64::from(second.dist[slot(farthest(&second.dist))]))
}

/// The smallest index at the largest finite distance.
fn farthest(dist: &[u32]) -> u64 {
    let mut best = (0u32, 0u64);
    for (v, &d) in (0u64..).zip(dist) {
        if d != UNREACHED && d > best.0 {
            best = (d, v);
        }
    }
    best.1
}

/// Closeness and betweenness of every vertex of `graph`, summarised, with
/// networkx's formulas and normalisation (module docs of each field).
fn centrality(
    graph: &CompactGraph,
    cancel: &dyn Cancel,
) -> Result<(CentralitySummary, CentralitySummary), Cancelled> {
    let m = graph.len();
    let mut brandes = Brandes::new(graph);
    let mut closeness = vec![0f64; m];
    for (s, value) in closeness.iter_mut().enumerate() {
        *value = brandes.source(s, cancel)?;
    }
    let exact = |values: &[f64]| summary(values, CentralityMethod::Exact, m as u64);
    Ok((exact(&closeness), exact(&brandes.betweenness(1.0))))
}

/// Betweenness from `sources` only (ascending ids of `graph`), scaled by
/// `m / sources` (module docs). With every vertex as a source it is
/// [`centrality`]'s, bit for bit: same order, and a scale of exactly 1.
/// `None` if a path count left f64's range (only a contrived blocking can
/// under [`SAMPLED_CENTRALITY_CAP`]): its values would be NaN.
fn sampled_betweenness(
    graph: &CompactGraph,
    sources: &[usize],
    cancel: &dyn Cancel,
) -> Result<Option<CentralitySummary>, Cancelled> {
    let mut brandes = Brandes::new(graph);
    for &s in sources {
        brandes.source(s, cancel)?;
    }
    let k = sources.len() as u64;
    let values = brandes.betweenness(graph.len() as f64 / k as f64);
    let finite = values.iter().all(|b| b.is_finite());
    Ok(finite.then(|| summary(&values, CentralityMethod::Sampled, k)))
}

/// `k` distinct ids of `0..m`, ascending, drawn uniformly by Floyd's
/// algorithm from splitmix64 of `seed + i`; all of `0..m` when `k >= m`.
/// Only `k` ids are held, never `m`.
fn sample_sources(m: usize, k: u64, seed: u64) -> Vec<usize> {
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    if k >= m {
        return (0..m).collect();
    }
    let mut chosen = std::collections::BTreeSet::new();
    for (i, j) in (0u64..).zip(m - k..m) {
        // Below j + 1 <= m, which fits a usize; the modulo bias is below m / 2^64.
        let t = (splitmix64(seed.wrapping_add(i)) % (j as u64 + 1)) as usize;
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

/// Brandes' algorithm over a [`CompactGraph`], one source at a time: the
/// search's buffers, reused, and the dependencies summed so far.
struct Brandes<'g> {
    graph: &'g CompactGraph,
    dist: Vec<u32>,
    order: Vec<u32>,
    sigma: Vec<f64>,
    delta: Vec<f64>,
    betweenness: Vec<f64>,
    expansions: u64,
}

impl<'g> Brandes<'g> {
    fn new(graph: &'g CompactGraph) -> Self {
        let m = graph.len();
        Self {
            graph,
            dist: vec![FAR; m],
            order: Vec::with_capacity(m),
            sigma: vec![0f64; m],
            delta: vec![0f64; m],
            betweenness: vec![0f64; m],
            expansions: 0,
        }
    }

    /// Searches from `s`, adds its dependencies to every other vertex's
    /// betweenness, and returns the closeness of `s`.
    fn source(&mut self, s: usize, cancel: &dyn Cancel) -> Result<f64, Cancelled> {
        let (graph, m) = (self.graph, self.graph.len());
        let (dist, order) = (&mut self.dist, &mut self.order);
        graph.bfs(s, dist, order, &mut self.expansions, cancel)?;
        let (sigma, delta) = (&mut self.sigma, &mut self.delta);
        let at = |v: u32| slot(u64::from(v));
        let total: u64 = order.iter().map(|&v| u64::from(dist[at(v)])).sum();
        let mut closeness = 0.0;
        if total > 0 && m > 1 {
            let reached = (order.len() - 1) as f64;
            closeness = reached / total as f64 * (reached / (m - 1) as f64);
        }
        // Brandes: path counts forward in BFS order, dependencies backward.
        for &v in order.iter() {
            sigma[at(v)] = 0.0;
            delta[at(v)] = 0.0;
        }
        sigma[s] = 1.0;
        for &v in order.iter() {
            for &w in graph.neighbors(at(v)) {
                if dist[at(w)] == dist[at(v)] + 1 {
                    sigma[at(w)] += sigma[at(v)];
                }
            }
        }
        for &w in order.iter().rev() {
            let coeff = (1.0 + delta[at(w)]) / sigma[at(w)];
            for &v in graph.neighbors(at(w)) {
                if dist[at(v)].wrapping_add(1) == dist[at(w)] {
                    delta[at(v)] += sigma[at(v)] * coeff;
                }
            }
            if at(w) != s {
                self.betweenness[at(w)] += delta[at(w)];
            }
        }
        Ok(closeness)
    }

    /// The sums so far, normalised as networkx does (`1 / ((m-1)(m-2))`
    /// above two vertices) and multiplied by `extra` (the sample's `m / k`).
    fn betweenness(mut self, extra: f64) -> Vec<f64> {
        let m = self.graph.len();
        if m > 2 {
            let scale = 1.0 / ((m - 1) as f64 * (m - 2) as f64) * extra;
            for b in &mut self.betweenness {
                *b *= scale;
            }
        }
        self.betweenness
    }
}

fn summary(values: &[f64], method: CentralityMethod, sources: u64) -> CentralitySummary {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    CentralitySummary {
        min,
        max,
        mean: values.iter().sum::<f64>() / values.len() as f64,
        method,
        sources,
    }
}

/// Memory and visits of the centrality phase for at most `open` open
/// vertices. With seeded blocking the open count is unknown, so any size up
/// to the bound may run, exact or sampled: the worse of both.
fn centrality_estimate(lattice: &Lattice, open: u64, d: usize) -> (u64, u64) {
    let c = if open <= SAMPLED_CENTRALITY_CAP || lattice.has_blocking() {
        open.min(SAMPLED_CENTRALITY_CAP)
    } else {
        0
    };
    // Without blocking `c` is the open count itself: one of the two runs.
    let exact = if c <= CENTRALITY_CAP || lattice.has_blocking() {
        c.min(CENTRALITY_CAP)
    } else {
        0
    };
    let sampled = if c > CENTRALITY_CAP { c } else { 0 };
    // The open list, the rows, and per vertex: dist, order, sigma, delta,
    // two results; the sampled sources (a B-tree set, then a list).
    let bytes = (c + 1) * size_of::<u64>() as u64
        + CompactGraph::bytes(c, d)
        + c * (4 + 4 + 8 * 4)
        + if sampled > 0 {
            CENTRALITY_SOURCES * 64
        } else {
            0
        };
    let visits = (exact * exact).max(CENTRALITY_SOURCES * sampled);
    (bytes, visits)
}

/// Estimate for [`analyze`], summing every phase's buffers as if they
/// coexisted (an upper bound). Visits: the vertex scan and the component
/// pass (`n` each, with blocking), the diameter (the exact path runs one BFS
/// per vertex of the largest component, `m^2` visits for `m` up to
/// [`EXACT_DIAMETER_CAP`]; the double sweep two full searches), and
/// centrality (a BFS and its backward pass per source: every open vertex up
/// to [`CENTRALITY_CAP`], [`CENTRALITY_SOURCES`] up to
/// [`SAMPLED_CENTRALITY_CAP`]).
pub(crate) fn estimate(lattice: &Lattice) -> Estimate {
    let n = lattice.vertex_count();
    let d = lattice.dimensions();
    let open = lattice.open_vertex_bound();
    let (centrality_bytes, centrality_visits) = centrality_estimate(lattice, open, d);
    let local_bytes = (MAX_DEGREE as u64 + 1) * size_of::<u64>() as u64;
    if !lattice.has_blocking() {
        return Estimate {
            memory_bytes: local_bytes + centrality_bytes,
            vertex_visits: centrality_visits,
        };
    }
    let components = components::estimate(lattice);
    let m = open.min(EXACT_DIAMETER_CAP);
    // Members: a hash set and BFS order, sorted in place; the rows; dist and order per BFS.
    let exact = hash_set_bytes(m)
        .saturating_add(m * size_of::<u64>() as u64)
        .saturating_add(CompactGraph::bytes(m, d))
        .saturating_add(m * 8);
    let (dist, queue) = search_bytes(lattice);
    let sweep = if open > EXACT_DIAMETER_CAP {
        dist.saturating_add(queue)
    } else {
        0
    };
    Estimate {
        memory_bytes: local_bytes
            .saturating_add(components.memory_bytes)
            .saturating_add(exact.max(sweep))
            .saturating_add(centrality_bytes),
        vertex_visits: n
            .saturating_mul(2)
            .saturating_add((m * m).max(if open > EXACT_DIAMETER_CAP {
                n.saturating_mul(2)
            } else {
                0
            }))
            .saturating_add(centrality_visits),
    }
}

#[cfg(test)]
mod tests;
