#!/usr/bin/env bash
# Property-based fuzzing of the api from its own OpenAPI document
# (schemathesis from PyPI; test-only, never a crate dependency), bounded and
# deterministic: every operation's examples, coverage cases, fuzzed cases
# (SCHEMATHESIS_EXAMPLES per operation, default 20) and stateful links,
# ~2,000 requests in all. Fails on any 5xx and on any response its
# documented schema does not describe (issue 18). The api runs from the
# debug binary on a fresh database and Redis prefix of its own, as an
# enterprise tenant's API key; schemathesis is installed into a venv under
# the cargo target directory when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --quiet --locked -p catalytic-api --bin catalytic-api
. scripts/lib/pinned-venv.sh
pinned_venv schemathesis schemathesis 4.32.5

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
db="schemathesis_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
api=""
cleanup() {
  [ -n "$api" ] && kill "$api" 2>/dev/null && wait "$api" 2>/dev/null
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT
port=$(free_port)
export CATALYTIC_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
export CATALYTIC_API__LISTEN="127.0.0.1:$port"
export CATALYTIC_API__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_REDIS__PREFIX="schemathesis-$$"
# The fuzzer sends thousands of requests from one address and one key.
export CATALYTIC_API__RATE_PER_IP_PER_MINUTE=10000000
export RUST_LOG=warn
bin="$target_dir/debug/catalytic-api"
"$bin" migrate 2>/dev/null
key=$("$bin" bootstrap --tenant schemathesis --plan enterprise 2>/dev/null |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
log="$target_dir/schemathesis-api.log"
"$bin" >"$log" 2>&1 &
api=$!
deadline=$((SECONDS + 60))
until curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  ((SECONDS < deadline)) || { echo "the api did not start; log in $log"; exit 1; }
  sleep 0.2
done
"$venv/bin/st" run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-20}" \
  --generation-deterministic
