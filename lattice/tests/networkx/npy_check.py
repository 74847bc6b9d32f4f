"""Opens a stored result part (a distance field, .npy) with numpy and
checks it against networkx's BFS on the same lattice: the file format,
the shape and the axis order (a[x0, x1, x2] is coordinate (x0, x1, x2)).
Usage: npy_check.py FIELD.npy '{"sizes": [...], "source": [...], "blocked": [...]}'"""
import itertools
import json
import sys

import networkx as nx
import numpy as np

path, meta = sys.argv[1], json.loads(sys.argv[2])
field = np.load(path)
sizes = meta["sizes"]
assert field.dtype == np.dtype("<i4"), field.dtype
assert list(field.shape) == sizes, (field.shape, sizes)


def index(coord):
    """The engine's vertex index: axis 0 varies fastest."""
    i, stride = 0, 1
    for x, s in zip(coord, sizes):
        i += x * stride
        stride *= s
    return i


blocked = set(meta["blocked"])
graph = nx.Graph()
for coord in itertools.product(*[range(s) for s in sizes]):
    if index(coord) in blocked:
        continue
    graph.add_node(coord)
    for axis in range(len(sizes)):
        step = list(coord)
        step[axis] += 1
        step = tuple(step)
        if step[axis] < sizes[axis] and index(step) not in blocked:
            graph.add_edge(coord, step)
lengths = nx.single_source_shortest_path_length(graph, tuple(meta["source"]))
checked = 0
for coord in itertools.product(*[range(s) for s in sizes]):
    expected = lengths.get(coord, -1)
    got = int(field[coord])
    assert got == expected, (coord, got, expected)
    checked += 1
print(f"npy field: {checked} vertices equal to networkx, shape {tuple(field.shape)}")
