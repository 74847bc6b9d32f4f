#!/usr/bin/env bash
# The full chaos set (issue 8, docs/chaos.md): builds the api, worker and
# scheduler and the chaos runner, then runs every scenario against the
# local PostgreSQL, RabbitMQ and Redis (through fault proxies) and prints
# a markdown table. `scripts/chaos.sh WORD` runs only the scenarios whose
# name contains WORD. Exits non-zero if an invariant broke.
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE="${SQLX_OFFLINE:-true}"
cargo build -p catalytic-api -p catalytic-worker -p catalytic-scheduler -p catalytic-chaos --bins
target_dir="${CARGO_TARGET_DIR:-target}"
# The e2e harness finds the fleet's binaries two levels above the running
# executable (as for a test in target/debug/deps), so the runner runs from
# a directory beside them.
mkdir -p "$target_dir/debug/chaos"
cp "$target_dir/debug/catalytic-chaos" "$target_dir/debug/chaos/catalytic-chaos"
exec "$target_dir/debug/chaos/catalytic-chaos" "$@"
