#!/usr/bin/env bash
# Writes docs/openapi.json, the reviewed contract clients are generated from
# (issue 23): exactly what the api serves at /openapi.json, without settings
# or servers (`catalytic-api openapi`). api/tests/it/openapi.rs fails while
# the file differs from the served document, so a change of the API shows in
# review as a change of this file. Run after changing a route or a schema.
set -euo pipefail
cd "$(dirname "$0")/.."
SQLX_OFFLINE=true cargo run --quiet --locked -p catalytic-api --bin catalytic-api -- openapi >docs/openapi.json
echo "wrote docs/openapi.json ($(wc -c <docs/openapi.json) bytes)"
