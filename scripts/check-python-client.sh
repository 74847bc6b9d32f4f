#!/usr/bin/env bash
# The Python client (clients/python, issue 23) against a real fleet: the
# debug api, scheduler and worker on a fresh database and queue and Redis
# prefixes of their own, an enterprise tenant's API key, then pytest. First
# checks the generated code is what docs/openapi.json gives (clients.sh
# --check). The client and pytest go into a venv under the cargo target
# directory (PyPI; test-only, never a dependency of the crates).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/clients.sh --check
cargo build --quiet --locked -p catalytic-api -p catalytic-scheduler -p catalytic-worker --bins
. scripts/lib/pinned-venv.sh
pinned_venv python-client pytest 9.2.0
# The client itself, from this checkout, each run (it changes with the API).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root/clients/python"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
db="pyclient_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT
api_port=$(free_port)
export CATALYTIC_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
export CATALYTIC_API__LISTEN="127.0.0.1:$api_port"
export CATALYTIC_API__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_WORKER__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_SCHEDULER__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_AMQP__PREFIX="pyclient-$$"
export CATALYTIC_REDIS__PREFIX="pyclient-$$"
export RUST_LOG=warn
bin="$target_dir/debug"
"$bin/catalytic-api" migrate 2>/dev/null
key=$("$bin/catalytic-api" bootstrap --tenant python --plan enterprise 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
logs="$target_dir/python-client-logs"
mkdir -p "$logs"
for process in api scheduler worker; do
  "$bin/catalytic-$process" >"$logs/$process.log" 2>&1 &
  pids+=($!)
done
deadline=$((SECONDS + 60))
until curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; do
  ((SECONDS < deadline)) || { echo "the api did not start; logs in $logs"; exit 1; }
  sleep 0.2
done
CATALYTIC_URL="http://127.0.0.1:$api_port" CATALYTIC_API_KEY="$key" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider clients/python/tests
