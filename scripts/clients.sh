#!/usr/bin/env bash
# The generated clients (issue 23): regenerates clients/python's
# catalytic_api_client from docs/openapi.json with openapi-python-client
# (PyPI, pinned, in a venv under the cargo target directory). With
# --check it generates into a scratch folder instead and fails when the
# committed code differs: CI runs that, so generated code is never stale.
# The hand-written layer (clients/python/catalytic) is never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/pinned-venv.sh
pinned_venv clients openapi-python-client 0.29.1
committed=clients/python/catalytic_api_client
generate() { # into
  "$venv/bin/openapi-python-client" generate --path docs/openapi.json --output-path "$1" \
    --meta none --config clients/python/generator.yaml --overwrite >/dev/null 2>"$1.log" ||
    { cat "$1.log"; exit 1; }
  rm -f "$1.log"
}
if [ "${1:-}" = "--check" ]; then
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  generate "$scratch/out"
  if ! diff -r -q "$committed" "$scratch/out" >/dev/null; then
    diff -r "$committed" "$scratch/out" | head -40
    echo "clients/python/catalytic_api_client is stale: run scripts/clients.sh and commit it"
    exit 1
  fi
  echo "generated clients match docs/openapi.json"
else
  generate "$committed"
  echo "regenerated $committed from docs/openapi.json"
fi
