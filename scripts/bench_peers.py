#!/usr/bin/env python3
"""BFS on the benchmark lattices with igraph and networkx, the peers of docs/benchmarks.md.

Same lattices, source and TEPS definition as `catalytic-bench`:
vertex i <-> mixed-radix coordinate with axis 0 least significant, 20 %
blocked = splitmix64(seed ^ i) < 0.2 * 2^64 with seed 42, source = first open
vertex, TEPS = undirected edges whose both ends were reached / BFS seconds
(the graph build is not timed). Each case runs in its own subprocess so that
its peak RSS (ru_maxrss) is its own; bytes/vertex is that peak minus the
interpreter's baseline, divided by the vertex count.

Cases that would not fit in 24 GiB or would take more than 60 s are skipped
and say so. Usage: scripts/bench_peers.py [--quick] [--only NAME]
"""

import argparse
import resource
import subprocess
import sys
import time

MASK = (1 << 64) - 1
SEED = 42
CASES = [
    ("2d-1000", [1000, 1000]),
    ("3d-100", [100, 100, 100]),
    ("4d-60", [60, 60, 60, 60]),
    ("2d-10000", [10_000, 10_000]),
    ("3d-1000", [1000, 1000, 1000]),
]
# Bytes per vertex and build+BFS seconds per vertex, from limits.md and a first run here.
PEER_COST = {"igraph": (150, 1.2e-6), "networkx": (2100, 2.2e-5)}
BUDGET_BYTES = 24 * 2**30
BUDGET_SECONDS = 60


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def blocked_set(n, fraction):
    if fraction == 0:
        return set()
    threshold = int(fraction * 2**64)  # 0.2 * 2^64 is not an integer in f64's eyes; ceil below
    if threshold < fraction * 2**64:
        threshold += 1
    return {i for i in range(n) if splitmix64(SEED ^ i) < threshold}


def lattice_edges(sizes, blocked):
    """Edges (u, v) with u < v of the open lattice, both ends open."""
    n = 1
    strides = []
    for s in sizes:
        strides.append(n)
        n *= s
    for v in range(n):
        if v in blocked:
            continue
        rest = v
        for size, stride in zip(sizes, strides):
            c = rest % size
            rest //= size
            if c + 1 < size and (v + stride) not in blocked:
                yield v, v + stride


def run_case(peer, sizes, fraction):
    n = 1
    for s in sizes:
        n *= s
    __import__(peer)  # the library's own footprint is not per-vertex memory
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    blocked = blocked_set(n, fraction)
    source = next(v for v in range(n) if v not in blocked)
    if peer == "igraph":
        import igraph

        if blocked:
            g = igraph.Graph(n=n, edges=list(lattice_edges(sizes, blocked)))
        else:
            g = igraph.Graph.Lattice(sizes, circular=False)
        t = time.perf_counter()
        vids, _, _ = g.bfs(source)
        seconds = time.perf_counter() - t
        reached = set(vids)
        edges = sum(1 for e in g.es if e.source in reached and e.target in reached) if blocked else g.ecount()
    else:
        import networkx as nx

        g = nx.Graph()
        g.add_nodes_from(v for v in range(n) if v not in blocked)
        g.add_edges_from(lattice_edges(sizes, blocked))
        t = time.perf_counter()
        dist = nx.single_source_shortest_path_length(g, source)
        seconds = time.perf_counter() - t
        edges = g.subgraph(dist.keys()).number_of_edges() if blocked else g.number_of_edges()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{seconds} {edges} {peak} {max(peak - base, 0) / n}")


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--case":
        run_case(sys.argv[2], [int(s) for s in sys.argv[3].split(",")], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only")
    args = parser.parse_args()
    cases = CASES[:3] if args.quick else CASES
    print(f"{'name':<22} {'vertices':>13} {'blocked%':>8} {'engine':<9} {'threads':<8} "
          f"{'wall_s':>9} {'TEPS':>11} {'B/vertex':>8} {'peak_MiB':>10} note")
    for name, sizes in cases:
        n = 1
        for s in sizes:
            n *= s
        for fraction, tag in [(0.0, "open"), (0.2, "blocked20")]:
            full = f"{name}-{tag}"
            if args.only and args.only not in full:
                continue
            for peer, (bytes_per_vertex, seconds_per_vertex) in PEER_COST.items():
                need_bytes = n * bytes_per_vertex
                need_seconds = n * seconds_per_vertex * (1.5 if fraction else 1)
                if need_bytes > BUDGET_BYTES or need_seconds > BUDGET_SECONDS:
                    print(f"{full:<22} {n:>13} {fraction*100:>8.0f} {peer:<9} {'1':<8} "
                          f"{'-':>9} {'-':>11} {'-':>8} {'-':>10} skipped: needs ~{need_bytes/2**30:.0f} GiB, "
                          f"~{need_seconds:.0f} s")
                    continue
                out = subprocess.run(
                    [sys.executable, __file__, "--case", peer, ",".join(map(str, sizes)), str(fraction)],
                    capture_output=True, text=True, timeout=600,
                )
                if out.returncode != 0:
                    print(f"{full:<22} {n:>13} {fraction*100:>8.0f} {peer:<9} failed: {out.stderr.strip()[-200:]}")
                    continue
                seconds, edges, peak, per_vertex = out.stdout.split()
                seconds, edges, peak, per_vertex = float(seconds), int(edges), int(peak), float(per_vertex)
                print(f"{full:<22} {n:>13} {fraction*100:>8.0f} {peer:<9} {'1':<8} "
                      f"{seconds:>9.3f} {edges/seconds:>11.3e} {per_vertex:>8.1f} {peak/2**20:>10.1f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
