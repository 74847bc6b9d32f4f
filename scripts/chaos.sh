#!/usr/bin/env bash
# The full chaos set (issue 8, docs/chaos.md): builds the api, worker and
# scheduler and the chaos runner, then runs every scenario against the
# local PostgreSQL, RabbitMQ and Redis (through fault proxies) and prints
# a markdown table. `scripts/chaos.sh [--rate N] [--seconds S] [WORD]` runs
# only the scenarios whose name contains WORD, under an open-loop load of N
# jobs/s (default 1,000) for S seconds. CHAOS_PROFILE=release builds and runs
# release binaries (the debug fleet does not keep up with 1,000 jobs/s on 2
# cores). Exits non-zero if an invariant broke.
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE="${SQLX_OFFLINE:-true}"
profile=${CHAOS_PROFILE:-debug}
flags=()
[[ $profile == release ]] && flags=(--release)
cargo build "${flags[@]}" -p catalytic-api -p catalytic-worker -p catalytic-scheduler -p catalytic-chaos --bins
target_dir="${CARGO_TARGET_DIR:-target}"
# The e2e harness finds the fleet's binaries two levels above the running
# executable (as for a test in target/debug/deps), so the runner runs from
# a directory beside them.
mkdir -p "$target_dir/$profile/chaos"
cp "$target_dir/$profile/catalytic-chaos" "$target_dir/$profile/chaos/catalytic-chaos"
exec "$target_dir/$profile/chaos/catalytic-chaos" "$@"
