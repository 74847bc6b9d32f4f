#!/usr/bin/env bash
# The TypeScript client (clients/typescript, issue 23) against a real fleet
# (scripts/lib/debug-fleet.sh): built with tsc, tested with node's test
# runner, with an enterprise tenant's key. Its tools come from the npm
# registry at the versions clients/typescript/package-lock.json pins
# (`npm ci`, into its git-ignored node_modules; test-only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
(cd clients/typescript && npm ci --silent --no-audit --no-fund && npm run --silent build)
. scripts/lib/debug-fleet.sh
debug_fleet tsclient
cd clients/typescript
CATALYTIC_URL="$api_url" CATALYTIC_API_KEY="$key" node --test test/
