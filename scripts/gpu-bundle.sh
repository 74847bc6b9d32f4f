#!/usr/bin/env bash
# Prepares a GPU session (issue 9): builds the one binary a GPU machine runs
# (`catalytic-gpu`, release, stripped: the engine, its checks and
# benchmarks; CUDA loaded at run time) and copies the script that runs them
# all, into .gpu/ (git-ignored). Then, with the device tool:
#
#   run  command: "bash .gpu/run.sh"   carry: [".gpu"]   timeout_s: 580
#
# Everything lands in $OUT there (check.txt, bench-gpu.txt, bench-cpu.txt,
# threshold.txt), and the console shows the tables.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --release -p catalytic-gpu --bin catalytic-gpu
mkdir -p .gpu
strip -o .gpu/catalytic-gpu target/release/catalytic-gpu
cp scripts/gpu-run.sh .gpu/run.sh
ls -l .gpu
