# Sourced by scripts/check-openapi.sh and scripts/check-schemathesis.sh: a
# Python tool pinned to one version, in a venv under the cargo target
# directory (so `cargo clean` takes it, and CARGO_TARGET_DIR or a
# build.target-dir setting is honoured). Pinned so a tool release cannot
# change a verdict under us.
# `pinned_venv NAME PACKAGE VERSION` sets $target_dir and $venv
# ($target_dir/venv-NAME) and installs PACKAGE==VERSION there when missing.
pinned_venv() { # name package version
  local name=$1 package=$2 version=$3
  target_dir="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  venv="$target_dir/venv-$name"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/python" -m pip show "$package" 2>/dev/null | grep -qx "Version: $version"; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$package==$version"
  fi
}
