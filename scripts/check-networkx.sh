#!/usr/bin/env bash
# Cross-checks the lattice engine against networkx (docs/adr/0002-lattices.md; test-only),
# and that a stored result part opens with numpy (issue 22):
# path lengths and canonical paths, distance histograms, balls, components,
# degrees, clustering, bipartiteness, diameter and small-graph centrality,
# on 2-D and 3-D lattices with wrap (size-3 axes included) and seeded and
# explicit blocking. networkx comes from PyPI into a venv made here, at
# .venv-networkx (git-ignored), and is never a dependency of the crates.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv-networkx"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import networkx, numpy' 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check networkx numpy
fi
cargo build --quiet -p catalytic-lattice --example crosscheck
# Honours CARGO_TARGET_DIR and any build.target-dir setting.
target_dir="$(cargo metadata --format-version 1 --no-deps |
  "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
"$venv/bin/python" lattice/tests/networkx/compare.py "$target_dir/debug/examples/crosscheck"
# Stored result parts (issue 22) open with numpy as they are: a field
# written by the storage code, checked against networkx's BFS.
cargo build --quiet -p catalytic-shared --example npy_field
npy="$(mktemp --suffix .npy)"
meta="$("$target_dir/debug/examples/npy_field" "$npy")"
"$venv/bin/python" lattice/tests/networkx/npy_check.py "$npy" "$meta"
rm -f "$npy"
