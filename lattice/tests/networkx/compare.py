#!/usr/bin/env python3
"""Cross-check the lattice engine against networkx (test-only; run by
scripts/check-networkx.sh).

Builds each case twice in Python -- with networkx.grid_graph(periodic=...)
relabelled to mixed-radix indices (axis 0 least significant) and by explicit
construction -- and insists the two agree before removing blocked vertices
(the seeded rule recomputed here with the same splitmix64 and an exact
rational threshold). Then compares the engine's output (examples/crosscheck.rs)
for path lengths and canonical paths, distance histograms, balls, component
counts and sizes, degrees, edges, density, average clustering, bipartiteness,
the diameter of the largest component, and (small graphs) closeness and
betweenness summaries. Exits non-zero with a diff on any mismatch.

Usage: compare.py PATH_TO_CROSSCHECK_BINARY
"""

import random
import subprocess
import sys
from fractions import Fraction

import networkx as nx

MASK = (1 << 64) - 1
CENTRALITY_COMPARE_MAX = 400  # networkx betweenness is slow in Python beyond this
ENGINE_CENTRALITY_CAP = 2000


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def blocked_set(case, n):
    kind = case["blocked"]
    if kind is None:
        return set()
    if isinstance(kind, list):
        return set(kind)
    fraction, seed = kind
    threshold = Fraction(fraction) * (1 << 64)  # exact: fraction is a float's exact value
    return {i for i in range(n) if splitmix64(seed ^ i) < threshold}


def strides(sizes):
    out, p = [], 1
    for s in sizes:
        out.append(p)
        p *= s
    return out, p


def coord(i, sizes):
    c = []
    for s in sizes:
        c.append(i % s)
        i //= s
    return c


def explicit_graph(sizes, wrap):
    st, n = strides(sizes)
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for i in range(n):
        c = coord(i, sizes)
        for a, s in enumerate(sizes):
            if c[a] + 1 < s:
                g.add_edge(i, i + st[a])
            elif wrap[a]:
                g.add_edge(i, i - (s - 1) * st[a])
    return g


def networkx_grid(sizes, wrap):
    """grid_graph's node tuples list the axes in reverse order of `dim`."""
    st, _ = strides(sizes)
    g = nx.grid_graph(dim=list(sizes), periodic=list(wrap))

    def index(node):
        t = node if isinstance(node, tuple) else (node,)
        return sum(x * st[a] for a, x in enumerate(reversed(t)))

    return nx.relabel_nodes(g, index)


def build(case):
    sizes, wrap = case["sizes"], case["wrap"]
    grid = networkx_grid(sizes, wrap)
    mine = explicit_graph(sizes, wrap)
    edges = lambda g: {tuple(sorted(e)) for e in g.edges()}
    if set(grid.nodes()) != set(mine.nodes()) or edges(grid) != edges(mine):
        raise SystemExit(f"internal: grid_graph and explicit construction differ for {case}")
    n = grid.number_of_nodes()
    grid.remove_nodes_from(blocked_set(case, n))
    return grid, n


def case_line(case):
    blocked = case["blocked"]
    if blocked is None:
        b = "none"
    elif isinstance(blocked, list):
        b = "explicit:" + ",".join(map(str, blocked))
    else:
        b = f"seeded:{blocked[0]!r}:{blocked[1]}"
    pairs = ",".join(f"{s}:{e}" for s, e in case["pairs"])
    return (
        f"sizes={','.join(map(str, case['sizes']))} wrap={','.join('1' if w else '0' for w in case['wrap'])} "
        f"blocked={b} source={case['source']} radius={case['radius']} pairs={pairs}"
    )


def nums(text, kind=int):
    return [] if text == "-" else [kind(x) for x in text.split(",")]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


def histogram(lengths):
    if not lengths:
        return []
    h = [0] * (max(lengths) + 1)
    for d in lengths:
        h[d] += 1
    return h


def check(case, lines):
    g, n = build(case)
    diffs = []

    def expect(what, got, want):
        if got != want:
            diffs.append(f"{what}: engine {got!r}, networkx {want!r}")

    def expect_close(what, got, want):
        if not close(got, want):
            diffs.append(f"{what}: engine {got!r}, networkx {want!r}")

    rows = [line.split() for line in lines]
    by_kind = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row[1:])

    v = g.number_of_nodes()
    expect("open vertices", int(by_kind["open"][0][0]), v)

    src = case["source"]
    dist = nx.single_source_shortest_path_length(g, src) if src in g else {}
    reach, ecc, hist = by_kind["distances"][0]
    expect("reachable", int(reach), len(dist))
    expect("eccentricity", int(ecc), max(dist.values(), default=0))
    expect("distance histogram", nums(hist), histogram(list(dist.values())))

    radius, count, by_distance = by_kind["ball"][0]
    ball = nx.single_source_shortest_path_length(g, src, cutoff=int(radius)) if src in g else {}
    expect("ball count", int(count), len(ball))
    expect("ball by distance", nums(by_distance), histogram(list(ball.values())))

    for (start, end), row in zip(case["pairs"], by_kind.get("path", [])):
        length, visited, path = int(row[2]), int(row[3]), nums(row[4])
        if start not in g or end not in g or not nx.has_path(g, start, end):
            expect(f"path {start}->{end}", length, -1)
            continue
        from_end = nx.single_source_shortest_path_length(g, end)
        want = from_end[start]
        expect(f"path {start}->{end} length", length, want)
        expect(f"path {start}->{end} visited", visited, sum(1 for d in from_end.values() if d <= want))
        walk, cur = [start], start
        while cur != end:
            cur = min(u for u in g.neighbors(cur) if from_end[u] == from_end[cur] - 1)
            walk.append(cur)
        expect(f"path {start}->{end} canonical walk", path, walk)
    expect("path lines", len(by_kind.get("path", [])), len(case["pairs"]))

    comps = sorted((sorted(c) for c in nx.connected_components(g)), key=lambda c: c[0])
    count, largest, sizes_text, spans = by_kind["components"][0]
    expect("component count", int(count), len(comps))
    expect("largest component", int(largest), max((len(c) for c in comps), default=0))
    sizes = {}
    for c in comps:
        sizes[len(c)] = sizes.get(len(c), 0) + 1
    expect("component sizes", [] if sizes_text == "-" else sizes_text.split(","),
           [f"{s}:{k}" for s, k in sorted(sizes.items())])
    last = case["sizes"][0] - 1
    spanning = any(
        any(x % case["sizes"][0] == 0 for x in c) and any(x % case["sizes"][0] == last for x in c) for c in comps
    )
    expect("spans axis 0", spans == "1", spanning)

    (vertices, edges, diameter, method, connected, clustering, density, bipartite, degrees) = by_kind["analyze"][0]
    expect("analyze vertices", int(vertices), v)
    expect("edges", int(edges), g.number_of_edges())
    degree_list = [d for _, d in g.degree()]
    expect("degree histogram", nums(degrees), histogram(degree_list))
    expect_close("density", float(density), nx.density(g) if v > 1 else 0.0)
    expect_close("average clustering", float(clustering), nx.average_clustering(g) if v > 0 else 0.0)
    expect("bipartite", bipartite == "1", nx.is_bipartite(g))
    expect("connected", connected == "1", len(comps) == 1)
    if comps:
        big = max(len(c) for c in comps)
        component = next(c for c in comps if len(c) == big)  # smallest first vertex among the largest
        want_diameter = nx.diameter(g.subgraph(component), usebounds=True)
    else:
        want_diameter = 0
    if method == "double_sweep_lower_bound":
        if int(diameter) > want_diameter:
            diffs.append(f"diameter lower bound {diameter} exceeds networkx {want_diameter}")
    else:
        expect(f"diameter ({method})", int(diameter), want_diameter)
    blocked = case["blocked"]
    can_block = blocked is not None and (blocked[0] > 0 if isinstance(blocked, tuple) else len(blocked) > 0)
    expect("diameter method", method, "exact" if can_block else "closed_form")

    centrality = by_kind["centrality"][0]
    if 0 < v <= ENGINE_CENTRALITY_CAP:
        if centrality == ["-"]:
            diffs.append("centrality missing under the cap")
        elif v <= CENTRALITY_COMPARE_MAX:
            closeness = nums(centrality[0], float)
            betweenness = nums(centrality[1], float)
            for label, got, values in [
                ("closeness", closeness, list(nx.closeness_centrality(g).values())),
                ("betweenness", betweenness, list(nx.betweenness_centrality(g, normalized=True).values())),
            ]:
                want = [min(values), max(values), sum(values) / len(values)]
                for part, a, b in zip(["min", "max", "mean"], got, want):
                    expect_close(f"{label} {part}", a, b)
    else:
        expect("centrality over the cap", centrality, ["-"])
    return diffs


def cases():
    fixed = [
        ([3], [True], None),
        ([3, 3], [True, False], None),
        ([3, 4], [True, True], [5]),
        ([3, 3, 3], [True, True, True], None),
        ([3, 4, 5], [True, False, True], (0.2, 7)),
        ([4, 4], [False, False], [5, 6, 9, 10]),
        ([3, 7], [True, True], [0, 1, 2, 10]),
        ([5, 5], [False, False], (0.3, 1)),
        ([6, 5, 4], [True, False, True], (0.4, 99)),
        ([2, 2, 2, 2], [False] * 4, None),
        ([10, 10], [False, False], (0.45, 2024)),
        ([12, 12], [True, True], (0.35, 5)),
        ([3, 3, 3], [True, True, False], (0.5, 3)),
        ([8, 8, 8], [False, True, False], (0.25, 11)),
        ([30, 30], [False, False], (0.3, 8)),
        ([3, 668], [True, False], None),
        ([4, 4], [False, False], (1.0, 1)),
        ([4, 4], [False, False], (0.0, 1)),
        ([3, 3, 3], [False, True, False], [13]),
    ]
    rng = random.Random(20240601)
    for _ in range(40):
        d = rng.randint(1, 3)
        sizes = [rng.randint(2, 7) for _ in range(d)]
        wrap = [s >= 3 and rng.random() < 0.5 for s in sizes]
        n = 1
        for s in sizes:
            n *= s
        r = rng.random()
        if r < 0.25:
            blocked = None
        elif r < 0.6:
            blocked = sorted(rng.sample(range(n), rng.randint(0, n // 2)))
        else:
            blocked = (round(rng.random() * 0.6, 3), rng.getrandbits(64))
        fixed.append((sizes, wrap, blocked))
    rng = random.Random(7)
    out = []
    for sizes, wrap, blocked in fixed:
        n = 1
        for s in sizes:
            n *= s
        pairs = [(rng.randrange(n), rng.randrange(n)) for _ in range(4)] + [(0, n - 1)]
        out.append({
            "sizes": sizes, "wrap": wrap, "blocked": blocked,
            "source": rng.randrange(n), "radius": rng.randint(0, 4), "pairs": pairs,
        })
    return out


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: compare.py PATH_TO_CROSSCHECK_BINARY")
    all_cases = cases()
    text = "\n".join(case_line(c) for c in all_cases) + "\n"
    run = subprocess.run([sys.argv[1]], input=text, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"crosscheck failed ({run.returncode}):\n{run.stderr}")
    blocks, current = [], None
    for line in run.stdout.splitlines():
        if line.startswith("case "):
            current = []
            blocks.append(current)
        elif current is not None:
            current.append(line)
    if len(blocks) != len(all_cases):
        raise SystemExit(f"expected {len(all_cases)} results, got {len(blocks)}")
    passed = failed = 0
    for k, (case, lines) in enumerate(zip(all_cases, blocks)):
        diffs = check(case, lines)
        if diffs:
            failed += 1
            print(f"case {k} FAILED: {case_line(case)}")
            for diff in diffs:
                print(f"    {diff}")
        else:
            passed += 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
