#!/usr/bin/env bash
# BFS benchmarks of docs/benchmarks.md: the lattice engines (catalytic-bench,
# a binary of the worker crate) and the peers igraph and networkx
# (scripts/bench_peers.py), in one run on this machine, written to
# target/bench/bfs-<date>.txt.
# Usage: scripts/bench.sh [--quick] [--only NAME]. Never run in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

out_dir=target/bench
mkdir -p "$out_dir"
out="$out_dir/bfs-$(date -u +%Y%m%dT%H%M%SZ).txt"

if [[ ! -x .venv-bench/bin/python ]]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install --quiet igraph networkx
fi
cargo build --release --quiet -p catalytic-worker --bin catalytic-bench
bin="${CARGO_TARGET_DIR:-target}/release/catalytic-bench"

{
  echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/^Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  "$bin" "$@"
  echo
  .venv-bench/bin/python scripts/bench_peers.py "$@"
} | tee "$out"
echo "written: $out" >&2
