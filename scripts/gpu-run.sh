#!/usr/bin/env bash
# Runs on a GPU machine (no Rust there), from the repository root, after
# scripts/gpu-bundle.sh: every GPU check and benchmark of docs/benchmarks.md
# "GPU engine" in one call, in about five minutes on an H100.
#   1. check: GPU = CPU engine on 2,000 sample lattices and the 10⁸ ones,
#      under every thin bound (0 = never thin) and both mask sources.
#   2. bench: the GPU on every benchmark lattice per thin bound; the blocked
#      lattice with the mask on the host and on the device.
#   3. bench: the CPU engine pinned to 2 cores, same host (the ratio).
#   4. threshold: small lattices, default tuning and thin.
# A failed check stops before the benchmarks: figures of a wrong engine are
# worth nothing.
set -uo pipefail
bin=.gpu/catalytic-gpu
out="${OUT:-.gpu/out}"
mkdir -p "$out"
nvrtc="$(find /usr /opt -name 'libnvrtc.so.13*' 2>/dev/null | head -1)"
export LD_LIBRARY_PATH="$(dirname "${nvrtc:-/nonexistent/x}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
step() { echo "== $(date -u +%H:%M:%S) $*"; }
step info
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$bin" info || exit 1
step check
timeout 200 "$bin" check --cases 2000 --thin-max 0,64,1024,4096,16384 | tee "$out/check.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "check failed: no benchmarks"; exit 1; }
step bench gpu
{
  timeout 150 "$bin" bench --engine gpu --repeat 3 --thin-max 0,1024,4096,16384
  timeout 30 "$bin" bench --engine gpu --repeat 3 --only blocked --mask host,device
} | tee "$out/bench-gpu.txt"
step bench cpu, 2 cores
timeout 150 taskset -c 0,1 "$bin" bench --engine cpu --threads 2 --repeat 1 | tee "$out/bench-cpu.txt"
step threshold
{
  timeout 30 "$bin" threshold --repeat 5
  timeout 30 "$bin" threshold --repeat 5 --thin-max 4096
} | tee "$out/threshold.txt"
step done
