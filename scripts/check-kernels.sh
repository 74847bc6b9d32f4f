#!/usr/bin/env bash
# Compiles every GPU kernel (gpu/kernels/) to PTX with NVRTC, on a machine
# without a GPU (design §2, issue 9): NVRTC comes from the PyPI wheel
# nvidia-cuda-nvrtc 13.0 into a venv made here, at .venv-nvrtc (git-ignored),
# and `catalytic-gpu compile` loads it at run time, exactly as a GPU worker
# does. A kernel that does not compile fails this step. (The kernels' logic
# runs as host C in `cargo nextest run -p catalytic-gpu`.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="$root/.venv-nvrtc"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
find_lib() { find "$venv" -name 'libnvrtc.so.13' -print -quit; }
if [ -z "$(find_lib)" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'nvidia-cuda-nvrtc==13.0.*'
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
