//! Every operation against a naive reference (`reference/mod.rs`) on random
//! small lattices: 1..=3 axes of size 2..=6, random wrap where allowed, and
//! no blocking, random explicit sets or seeded fractions (0 and 1 included).
//! The reference answers with plain BFS, union-find, brute-force triangle
//! counting and Brandes with predecessor lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod reference;

use std::collections::{BTreeMap, HashMap, VecDeque};

use catalytic_lattice::{
    DiameterMethod, Never, analyze, components, distances, neighbors, shortest_path, shortest_paths,
};
use proptest::prelude::*;
use reference::{Block, Case, Graph, close, reference_betweenness, summary};

/// A random small case.
fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec((2u32..=6, any::<bool>()), 1..=3).prop_flat_map(|axes| {
        let sizes: Vec<u32> = axes.iter().map(|&(s, _)| s).collect();
        let wrap: Vec<bool> = axes.iter().map(|&(s, w)| w && s >= 3).collect();
        let n: u64 = sizes.iter().map(|&s| u64::from(s)).product();
        let block = prop_oneof![
            1 => Just(Block::None),
            2 => prop::collection::vec(0..n, 0..=(n as usize / 2)).prop_map(Block::Explicit),
            2 => (prop_oneof![Just(0.0), Just(1.0), 0.0f64..0.6], any::<u64>())
                .prop_map(|(f, s)| Block::Seeded(f, s)),
        ];
        (Just(sizes), Just(wrap), block).prop_map(|(sizes, wrap, block)| Case {
            sizes,
            wrap,
            block,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn blocking_and_neighbours_match(case in case()) {
        let lattice = case.lattice();
        let g = Graph::build(&case);
        let mut out = Vec::new();
        for v in 0..g.n {
            prop_assert_eq!(lattice.is_blocked(v), !g.open[v as usize], "vertex {}", v);
            lattice.neighbors_into(v, &mut out);
            prop_assert_eq!(&out, &g.adj[v as usize], "vertex {}", v);
        }
        prop_assert_eq!(lattice.open_vertex_count(), g.open_vertices().len() as u64);
    }

    #[test]
    fn distances_match(case in case(), pick in any::<prop::sample::Index>()) {
        let lattice = case.lattice();
        let g = Graph::build(&case);
        let source = pick.index(g.n as usize) as u64;
        let found = distances(&lattice, source, &Never)?;
        let want = g.bfs(source);
        let reached: Vec<u32> = want.iter().flatten().copied().collect();
        let ecc = reached.iter().copied().max();
        let mut histogram = vec![0u64; ecc.map_or(0, |e| e as usize + 1)];
        for &d in &reached {
            histogram[d as usize] += 1;
        }
        prop_assert_eq!(&found.source, &g.coords[source as usize]);
        prop_assert_eq!(found.reachable, reached.len() as u64);
        prop_assert_eq!(found.eccentricity, u64::from(ecc.unwrap_or(0)));
        prop_assert_eq!(&found.histogram, &histogram);
        let field: Vec<i64> = want.iter().map(|d| d.map_or(-1, i64::from)).collect();
        prop_assert_eq!(found.field, Some(field));
        let plain = catalytic_lattice::bfs_distances(&lattice, source, &Never)?;
        let plain_want: Vec<u32> = want.iter().map(|d| d.unwrap_or(u32::MAX)).collect();
        prop_assert_eq!(plain, plain_want);
    }

    #[test]
    fn paths_single_and_batched_match(
        case in case(),
        picks in prop::collection::vec(any::<(prop::sample::Index, prop::sample::Index)>(), 1..6),
    ) {
        let lattice = case.lattice();
        let g = Graph::build(&case);
        let pairs: Vec<(u64, u64)> = picks
            .iter()
            .map(|(a, b)| (a.index(g.n as usize) as u64, b.index(g.n as usize) as u64))
            .collect();
        let batch = shortest_paths(&lattice, &pairs, &Never)?;
        for (&(start, end), batched) in pairs.iter().zip(&batch) {
            let single = shortest_path(&lattice, start, end, &Never)?;
            prop_assert_eq!(&single, batched);
            let dist = g.bfs(end);
            match dist[start as usize] {
                None => prop_assert!(single.is_none()),
                Some(length) => {
                    let found = single.ok_or_else(|| TestCaseError::fail("no path"))?;
                    prop_assert_eq!(found.length, u64::from(length));
                    let mut walk = vec![start];
                    let mut current = start;
                    while current != end {
                        let want = dist[current as usize].unwrap() - 1;
                        current = *g.adj[current as usize]
                            .iter()
                            .filter(|&&u| dist[u as usize] == Some(want))
                            .min()
                            .unwrap();
                        walk.push(current);
                    }
                    let coords: Vec<Vec<u32>> = walk.iter().map(|&v| g.coords[v as usize].clone()).collect();
                    prop_assert_eq!(found.path, coords);
                    let within = dist.iter().flatten().filter(|&&d| d <= length).count() as u64;
                    prop_assert_eq!(found.vertices_visited, within);
                }
            }
        }
    }

    #[test]
    fn balls_match(case in case(), pick in any::<prop::sample::Index>(), radius in 0u32..8) {
        let lattice = case.lattice();
        let g = Graph::build(&case);
        let center = pick.index(g.n as usize) as u64;
        let ball = neighbors(&lattice, center, radius, &Never)?;
        let dist = g.bfs(center);
        let inside: Vec<u64> = (0..g.n).filter(|&v| dist[v as usize].is_some_and(|d| d <= radius)).collect();
        let mut by_distance = Vec::new();
        for v in &inside {
            let d = dist[*v as usize].unwrap() as usize;
            if by_distance.len() <= d {
                by_distance.resize(d + 1, 0u64);
            }
            by_distance[d] += 1;
        }
        prop_assert_eq!(ball.count, inside.len() as u64);
        prop_assert_eq!(ball.by_distance, by_distance);
        let coords: Vec<Vec<u32>> = inside.iter().map(|&v| g.coords[v as usize].clone()).collect();
        prop_assert_eq!(ball.vertices, Some(coords));
        prop_assert_eq!(ball.radius, radius);
    }

    #[test]
    fn components_match(case in case()) {
        let lattice = case.lattice();
        let g = Graph::build(&case);
        let found = components(&lattice, &Never)?;
        let comps = g.components();
        prop_assert_eq!(found.count, comps.len() as u64);
        prop_assert_eq!(found.largest, comps.iter().map(Vec::len).max().unwrap_or(0) as u64);
        let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
        for c in &comps {
            *sizes.entry(c.len() as u64).or_default() += 1;
        }
        let histogram: Vec<(u64, u64)> = found.size_histogram.iter().map(|e| (e.size, e.count)).collect();
        prop_assert_eq!(histogram, sizes.into_iter().collect::<Vec<_>>());
        let spans = comps.iter().any(|c| {
            c.iter().any(|&v| g.coords[v as usize][0] == 0)
                && c.iter().any(|&v| g.coords[v as usize][0] == g.size0 - 1)
        });
        prop_assert_eq!(found.spans_axis0, spans);
    }

    #[test]
    fn analysis_matches(case in case()) {
        let lattice = case.lattice();
        let g = Graph::build(&case);
        let found = analyze(&lattice, &Never)?;
        let nodes = g.open_vertices();
        let v = nodes.len() as u64;
        let edges = g.edges();
        prop_assert_eq!(found.vertices, v);
        prop_assert_eq!(found.edges, edges);

        let degrees: Vec<usize> = nodes.iter().map(|&x| g.adj[x as usize].len()).collect();
        let mut histogram = vec![0u64; degrees.iter().max().map_or(0, |&m| m + 1)];
        for &k in &degrees {
            histogram[k] += 1;
        }
        prop_assert_eq!(&found.degree.histogram, &histogram);
        prop_assert_eq!(found.degree.min as usize, degrees.iter().copied().min().unwrap_or(0));
        prop_assert_eq!(found.degree.max as usize, degrees.iter().copied().max().unwrap_or(0));
        let mean = if v > 0 { 2.0 * edges as f64 / v as f64 } else { 0.0 };
        prop_assert!(close(found.degree.mean, mean));
        let density = if v > 1 { 2.0 * edges as f64 / (v as f64 * (v - 1) as f64) } else { 0.0 };
        prop_assert!(close(found.density, density));

        // Brute-force triangles.
        let mut clustering = 0.0;
        for &x in &nodes {
            let list = &g.adj[x as usize];
            let k = list.len();
            if k < 2 {
                continue;
            }
            let mut t = 0;
            for (i, &a) in list.iter().enumerate() {
                for b in &list[i + 1..] {
                    if g.adj[a as usize].contains(b) {
                        t += 1;
                    }
                }
            }
            clustering += 2.0 * f64::from(t) / (k * (k - 1)) as f64;
        }
        let clustering = if v > 0 { clustering / v as f64 } else { 0.0 };
        prop_assert!(close(found.clustering_coefficient, clustering), "{} vs {}", found.clustering_coefficient, clustering);

        // 2-colouring by a fresh BFS per component.
        let mut colour: HashMap<u64, bool> = HashMap::new();
        let mut bipartite = true;
        for &s in &nodes {
            if colour.contains_key(&s) {
                continue;
            }
            colour.insert(s, false);
            let mut queue = VecDeque::from([s]);
            while let Some(x) = queue.pop_front() {
                for &u in &g.adj[x as usize] {
                    match colour.get(&u) {
                        None => {
                            colour.insert(u, !colour[&x]);
                            queue.push_back(u);
                        }
                        Some(&c) if c == colour[&x] => bipartite = false,
                        Some(_) => {}
                    }
                }
            }
        }
        prop_assert_eq!(found.bipartite, bipartite);
        // Not bipartite means an odd cycle, so at least 3 colours; the
        // reference checks that 3 suffice by colouring greedily in BFS
        // order with backtracking (small cases only).
        let colors = match (bipartite, edges) {
            (false, _) => 3,
            (true, 0) => 1,
            (true, _) => 2,
        };
        prop_assert_eq!(found.colors, colors);
        if !bipartite && nodes.len() <= 64 {
            prop_assert!(three_colourable(&g.adj, &nodes), "3 colours do not suffice");
        }

        // Diameter of the largest component (the first of equal size by smallest vertex).
        let comps = g.components();
        let largest = comps.iter().map(Vec::len).max().unwrap_or(0);
        let diameter = comps
            .iter()
            .find(|c| c.len() == largest)
            .map_or(0, |c| {
                c.iter()
                    .map(|&s| g.bfs(s).iter().flatten().copied().max().unwrap_or(0))
                    .max()
                    .unwrap_or(0)
            });
        prop_assert_eq!(found.diameter.value, u64::from(diameter));
        prop_assert_eq!(found.diameter.connected, comps.len() == 1);
        let blocking = match &case.block {
            Block::None => false,
            Block::Explicit(list) => !list.is_empty(),
            Block::Seeded(f, _) => *f > 0.0,
        };
        let method = if blocking { DiameterMethod::Exact } else { DiameterMethod::ClosedForm };
        prop_assert_eq!(found.diameter.method, method);

        // Centrality.
        if v == 0 {
            prop_assert!(found.closeness.is_none() && found.betweenness.is_none());
        } else {
            let closeness: Vec<f64> = nodes
                .iter()
                .map(|&s| {
                    let dist = g.bfs(s);
                    let reached: Vec<u32> = dist.iter().flatten().copied().collect();
                    let total: u64 = reached.iter().map(|&d| u64::from(d)).sum();
                    if total > 0 && v > 1 {
                        let r = (reached.len() - 1) as f64;
                        r / total as f64 * (r / (v - 1) as f64)
                    } else {
                        0.0
                    }
                })
                .collect();
            let want = summary(&closeness);
            let got = found.closeness.ok_or_else(|| TestCaseError::fail("no closeness"))?;
            prop_assert!(close(got.min, want.0) && close(got.max, want.1) && close(got.mean, want.2), "{:?} vs {:?}", got, want);
            let want = summary(&reference_betweenness(&g));
            let got = found.betweenness.ok_or_else(|| TestCaseError::fail("no betweenness"))?;
            prop_assert!(close(got.min, want.0) && close(got.max, want.1) && close(got.mean, want.2), "{:?} vs {:?}", got, want);
        }
    }
}

/// Whether the graph on `nodes` (adjacency `adj`) has a proper 3-colouring:
/// backtracking in the given order.
fn three_colourable(adj: &[Vec<u64>], nodes: &[u64]) -> bool {
    fn place(adj: &[Vec<u64>], nodes: &[u64], at: usize, colour: &mut HashMap<u64, u8>) -> bool {
        let Some(&x) = nodes.get(at) else {
            return true;
        };
        for c in 0..3u8 {
            if adj[x as usize].iter().all(|u| colour.get(u) != Some(&c)) {
                colour.insert(x, c);
                if place(adj, nodes, at + 1, colour) {
                    return true;
                }
                colour.remove(&x);
            }
        }
        false
    }
    place(adj, nodes, 0, &mut HashMap::new())
}
