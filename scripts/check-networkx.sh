#!/usr/bin/env bash
# Cross-checks the lattice engine against networkx (docs/adr/0002-lattices.md; test-only):
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
if ! "$venv/bin/python" -c 'import networkx' 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check networkx
fi
cargo build --quiet -p catalytic-lattice --example crosscheck
# Honours CARGO_TARGET_DIR and any build.target-dir setting.
target_dir="$(cargo metadata --format-version 1 --no-deps |
  "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
"$venv/bin/python" lattice/tests/networkx/compare.py "$target_dir/debug/examples/crosscheck"
