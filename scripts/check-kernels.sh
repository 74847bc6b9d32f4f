#!/usr/bin/env bash
# Compiles every GPU kernel (gpu/kernels/) to PTX with NVRTC, on a machine
# without a GPU (docs/adr/0002-lattices.md, issue 9): NVRTC comes from the PyPI wheel
# nvidia-cuda-nvrtc 13.0 into a venv made here, at .venv-nvrtc (git-ignored),
# and `catalytic-gpu compile` loads it at run time, exactly as a GPU worker
# does. A kernel that does not compile fails this step. Then ptxas (from the
# wheel nvidia-cuda-nvcc 13.0, same venv) assembles the PTX for sm_80 and
# sm_90 as the driver would, printing each kernel's registers and spills, and
# fails if cat_bfs_thin could not launch as one block of 1024 threads (more
# than 64 registers a thread). (The kernels' logic runs as host C in
# `cargo nextest run -p catalytic-gpu`.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv-nvrtc"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
find_lib() { find "$venv" -name 'libnvrtc.so.13' -print -quit; }
find_ptxas() { find "$venv" -name 'ptxas' -type f -print -quit; }
if [ -z "$(find_lib)" ] || [ -z "$(find_ptxas)" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'nvidia-cuda-nvrtc==13.0.*' 'nvidia-cuda-nvcc==13.0.*'
fi
lib="$(find_lib)"
if [ -z "$lib" ]; then
  echo "no libnvrtc.so.13 in $venv after installing nvidia-cuda-nvrtc" >&2
  exit 1
fi
cargo build --quiet -p catalytic-gpu --bin catalytic-gpu
target_dir="$(cargo metadata --format-version 1 --no-deps |
  "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
out="$target_dir/ptx"
LD_LIBRARY_PATH="$(dirname "$lib")" "$target_dir/debug/catalytic-gpu" compile \
  --arch compute_75,compute_80,compute_90 --out "$out"
ls "$out"

ptxas="$(find_ptxas)"
for sm in 80 90; do
  report="$("$ptxas" -arch="sm_$sm" -v "$out/catalytic_kernels.compute_$sm.ptx" \
    -o "$out/catalytic_kernels.sm_$sm.cubin" 2>&1)"
  # One line per kernel: name, registers, spill bytes.
  table="$(printf '%s\n' "$report" | awk '
    /Compiling entry function/ { name = $0; sub(/.*function .\047?/, "", name); sub(/\047.*/, "", name) }
    /spill stores/ { spill = $5 + $9 }
    /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) if ($i == "Used") regs = $(i + 1);
                              printf "%s %s %s\n", name, regs, spill }')"
  printf 'sm_%s (kernel, registers, spill bytes):\n%s\n' "$sm" "$table"
  thin_regs="$(printf '%s\n' "$table" | awk '$1 == "cat_bfs_thin" { print $2 }')"
  if [ -z "$thin_regs" ] || [ "$thin_regs" -gt 64 ]; then
    echo "sm_$sm: cat_bfs_thin uses '${thin_regs:-?}' registers: a block of 1024 threads needs at most 64" >&2
    exit 1
  fi
done
