//! Tests of the BFS and the canonical path, including a naive reference of the
//! docs/adr/0002-lattices.md rule written without the crate's index or neighbour code.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::error::Error;

use proptest::prelude::*;

use super::{Stop, bfs_distances, queue_capacity, search, shortest_path};
use crate::cancel::{Cancelled, Never, POLL_INTERVAL};
use crate::spec::Lattice;

type TestResult = Result<(), Box<dyn Error>>;

fn coords(lattice: &Lattice, coord: &[u64]) -> Result<u64, Box<dyn Error>> {
    Ok(lattice.index_of(coord)?)
}

fn manhattan(a: &[u32], b: &[u32]) -> u32 {
    a.iter().zip(b).map(|(&x, &y)| x.abs_diff(y)).sum()
}

#[test]
fn start_equal_to_end_is_a_zero_length_path() -> TestResult {
    let lattice = Lattice::new(vec![4, 5])?;
    let v = coords(&lattice, &[2, 3])?;
    let found = shortest_path(&lattice, v, v, &Never)?.ok_or("no path")?;
    assert_eq!(found.length, 0);
    assert_eq!(found.path, vec![vec![2, 3]]);
    assert_eq!(found.vertices_visited, 1);
    Ok(())
}

#[test]
fn canonical_path_on_a_square_prefers_the_smallest_index() -> TestResult {
    let lattice = Lattice::new(vec![3, 3])?;
    let forward = shortest_path(&lattice, 0, 8, &Never)?.ok_or("no path")?;
    assert_eq!(forward.length, 4);
    assert_eq!(
        forward.path,
        vec![vec![0, 0], vec![1, 0], vec![2, 0], vec![2, 1], vec![2, 2]]
    );
    let backward = shortest_path(&lattice, 8, 0, &Never)?.ok_or("no path")?;
    assert_eq!(
        backward.path,
        vec![vec![2, 2], vec![2, 1], vec![2, 0], vec![1, 0], vec![0, 0]]
    );
    Ok(())
}

#[test]
fn hypercube_path_sets_one_bit_at_a_time_from_the_lowest() -> TestResult {
    let lattice = Lattice::uniform(10, 2)?;
    let found = shortest_path(&lattice, 0, 1023, &Never)?.ok_or("no path")?;
    assert_eq!(found.length, 10);
    let expected: Vec<Vec<u32>> = (0..=10u64)
        .map(|k| lattice.coord_of((1u64 << k) - 1))
        .collect();
    assert_eq!(found.path, expected);
    assert_eq!(found.vertices_visited, 1024);
    Ok(())
}

#[test]
fn vertices_visited_is_the_ball_around_end() -> TestResult {
    let lattice = Lattice::new(vec![10])?;
    let found = shortest_path(&lattice, 3, 0, &Never)?.ok_or("no path")?;
    assert_eq!(found.vertices_visited, 4); // 0..=3
    let found = shortest_path(&lattice, 3, 5, &Never)?.ok_or("no path")?;
    assert_eq!(found.vertices_visited, 5); // 3..=7
    Ok(())
}

#[test]
fn out_of_range_vertices_give_no_path_and_no_panic() -> TestResult {
    let lattice = Lattice::new(vec![3, 3])?;
    assert_eq!(shortest_path(&lattice, 9, 0, &Never)?, None);
    assert_eq!(shortest_path(&lattice, 0, u64::MAX, &Never)?, None);
    let dist = bfs_distances(&lattice, 9, &Never)?;
    assert_eq!(dist, vec![u32::MAX; 9]);
    Ok(())
}

#[test]
fn cube_corner_distances_and_queue_bound() -> TestResult {
    let lattice = Lattice::uniform(3, 100)?;
    let found = search(&lattice, 0, Stop::Exhausted, &Never)?;
    assert_eq!(found.reached, lattice.vertex_count());
    assert_eq!(found.dist.last().copied(), Some(297));
    assert!(found.dist.iter().all(|&d| d != u32::MAX));
    assert!(found.peak_queue as u64 <= queue_capacity(&lattice));
    Ok(())
}

#[test]
fn a_cancel_that_says_stop_cancels_a_large_bfs() -> TestResult {
    let lattice = Lattice::uniform(3, 200)?;
    let stop = || true;
    assert_eq!(bfs_distances(&lattice, 0, &stop), Err(Cancelled));
    assert_eq!(shortest_path(&lattice, 0, 1, &stop), Err(Cancelled));
    Ok(())
}

#[test]
fn cancel_is_polled_every_poll_interval_expansions() -> TestResult {
    let lattice = Lattice::uniform(3, 64)?; // 262_144 vertices: four polls
    let polls = Cell::new(0u64);
    let count = || {
        polls.set(polls.get() + 1);
        false
    };
    let dist = bfs_distances(&lattice, 0, &count)?;
    assert_eq!(dist.len(), 262_144);
    assert_eq!(polls.get(), lattice.vertex_count().div_ceil(POLL_INTERVAL));
    Ok(())
}

#[test]
fn cancel_midway_stops_the_search() -> TestResult {
    let lattice = Lattice::uniform(3, 64)?;
    let polls = Cell::new(0u64);
    let third_poll_stops = || {
        polls.set(polls.get() + 1);
        polls.get() >= 3
    };
    assert_eq!(
        bfs_distances(&lattice, 0, &third_poll_stops),
        Err(Cancelled)
    );
    assert_eq!(polls.get(), 3);
    Ok(())
}

/// The canonical rule done the slow way: explicit coordinates, an adjacency
/// map, a BFS over it, then the smallest-index walk. Indices use Horner's
/// rule from the highest axis, independently of `Lattice::index_of`.
fn reference_path(sizes: &[u32], start: &[u32], end: &[u32]) -> Vec<Vec<u32>> {
    let index = |c: &[u32]| -> u64 {
        c.iter()
            .zip(sizes)
            .rev()
            .fold(0u64, |acc, (&x, &s)| acc * u64::from(s) + u64::from(x))
    };
    // Every coordinate, by odometer.
    let mut all = Vec::new();
    let mut c = vec![0u32; sizes.len()];
    'odometer: loop {
        all.push(c.clone());
        for (x, &s) in c.iter_mut().zip(sizes) {
            *x += 1;
            if *x < s {
                continue 'odometer;
            }
            *x = 0;
        }
        break;
    }
    let mut adjacency: HashMap<Vec<u32>, Vec<Vec<u32>>> = HashMap::new();
    for v in &all {
        let mut list = Vec::new();
        for axis in 0..sizes.len() {
            if v[axis] > 0 {
                let mut u = v.clone();
                u[axis] -= 1;
                list.push(u);
            }
            if v[axis] + 1 < sizes[axis] {
                let mut u = v.clone();
                u[axis] += 1;
                list.push(u);
            }
        }
        adjacency.insert(v.clone(), list);
    }
    let mut dist: HashMap<Vec<u32>, u32> = HashMap::from([(end.to_vec(), 0)]);
    let mut queue = VecDeque::from([end.to_vec()]);
    while let Some(v) = queue.pop_front() {
        let d = dist[&v];
        for u in &adjacency[&v] {
            if !dist.contains_key(u) {
                dist.insert(u.clone(), d + 1);
                queue.push_back(u.clone());
            }
        }
    }
    let mut path = vec![start.to_vec()];
    let mut current = start.to_vec();
    while current != end {
        let want = dist[&current] - 1;
        let next = adjacency[&current]
            .iter()
            .filter(|u| dist[*u] == want)
            .min_by_key(|u| index(u))
            .cloned();
        match next {
            Some(u) => current = u,
            None => break,
        }
        path.push(current.clone());
    }
    path
}

/// A small lattice (1..=4 axes, sizes 2..=6) with two of its vertices.
fn lattice_and_two_vertices() -> impl Strategy<Value = (Vec<u32>, u64, u64)> {
    prop::collection::vec(2u32..=6, 1..=4).prop_flat_map(|sizes| {
        let n: u64 = sizes.iter().map(|&s| u64::from(s)).product();
        (Just(sizes), 0..n, 0..n)
    })
}

proptest! {
    #[test]
    fn index_round_trips((sizes, _, _) in lattice_and_two_vertices()) {
        let lattice = Lattice::new(sizes)?;
        for i in 0..lattice.vertex_count() {
            let coord: Vec<u64> = lattice.coord_of(i).into_iter().map(u64::from).collect();
            prop_assert_eq!(lattice.index_of(&coord)?, i);
        }
    }

    #[test]
    fn bfs_distances_are_manhattan((sizes, source, _) in lattice_and_two_vertices()) {
        let lattice = Lattice::new(sizes)?;
        let dist = bfs_distances(&lattice, source, &Never)?;
        let from = lattice.coord_of(source);
        prop_assert_eq!(dist.len() as u64, lattice.vertex_count());
        for (i, &d) in (0u64..).zip(&dist) {
            prop_assert_eq!(d, manhattan(&from, &lattice.coord_of(i)), "vertex {}", i);
        }
        let full = search(&lattice, source, Stop::Exhausted, &Never)?;
        prop_assert!(full.peak_queue as u64 <= queue_capacity(&lattice));
    }

    #[test]
    fn shortest_path_is_the_canonical_manhattan_path(
        (sizes, start, end) in lattice_and_two_vertices()
    ) {
        let lattice = Lattice::new(sizes.clone())?;
        let found = shortest_path(&lattice, start, end, &Never)?
            .ok_or_else(|| TestCaseError::fail("unblocked lattice reported unreachable"))?;
        let (a, b) = (lattice.coord_of(start), lattice.coord_of(end));
        let distance = manhattan(&a, &b);
        prop_assert_eq!(found.length, u64::from(distance));
        prop_assert_eq!(found.path.len() as u64, found.length + 1);
        prop_assert_eq!(found.path.first(), Some(&a));
        prop_assert_eq!(found.path.last(), Some(&b));
        for step in found.path.windows(2) {
            let changed: Vec<u32> = step[0]
                .iter()
                .zip(&step[1])
                .map(|(&x, &y)| x.abs_diff(y))
                .filter(|&delta| delta != 0)
                .collect();
            prop_assert_eq!(changed, vec![1]);
        }
        let ball = (0..lattice.vertex_count())
            .filter(|&i| manhattan(&b, &lattice.coord_of(i)) <= distance)
            .count() as u64;
        prop_assert_eq!(found.vertices_visited, ball);
        prop_assert_eq!(found.path, reference_path(&sizes, &a, &b));
    }
}
