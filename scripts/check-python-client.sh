#!/usr/bin/env bash
# The Python client (clients/python, issue 23) against a real fleet
# (scripts/lib/debug-fleet.sh): pytest, with an enterprise tenant's key.
# The client and pytest go into a venv under the cargo target directory
# (PyPI; test-only, never a dependency of the crates). scripts/clients.sh
# --check (its own test.sh step) keeps the generated code current.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/lib/pinned-venv.sh
pinned_venv python-client pytest 9.2.0
# The client itself, from this checkout, each run (it changes with the API).
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$root/clients/python"
rm -rf "$root/clients/python/build" "$root/clients/python/"*.egg-info
. scripts/lib/debug-fleet.sh
debug_fleet pyclient
CATALYTIC_URL="$api_url" CATALYTIC_API_KEY="$key" \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider clients/python/tests
