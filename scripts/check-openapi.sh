#!/usr/bin/env bash
# Validates the api's OpenAPI document with an independent validator
# (openapi-spec-validator from PyPI; test-only, never a crate dependency).
# The document comes from `catalytic-api openapi`, which prints exactly what
# /openapi.json serves without settings or servers. The validator is
# installed into a venv under the cargo target directory when missing.
# Exits non-zero on an invalid document. With an argument, validates that
# file instead (e.g. to see it refuse a broken one).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cargo build --quiet --locked -p catalytic-api --bin catalytic-api
. scripts/lib/pinned-venv.sh
pinned_venv openapi openapi-spec-validator 0.9.0

document="${1:-}"
if [ -z "$document" ]; then
  document="$target_dir/openapi.json"
  "$target_dir/debug/catalytic-api" openapi >"$document"
fi
"$venv/bin/python" - "$document" <<'PY'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

path = sys.argv[1]
with open(path) as f:
    spec = json.load(f)
if not str(spec.get("openapi", "")).startswith("3.1"):
    sys.exit(f"{path}: expected OpenAPI 3.1, got {spec.get('openapi')!r}")
try:
    validate(spec)  # picks the 3.1 validator from the document's version
except OpenAPIValidationError as e:
    where = "/".join(str(p) for p in getattr(e, "absolute_path", []))
    sys.exit(f"{path}: invalid OpenAPI document at '{where}': {getattr(e, 'message', e)}")
print(f"[check-openapi] {path}: valid OpenAPI {spec['openapi']}, {len(spec.get('paths', {}))} paths")
PY
