#!/usr/bin/env bash
# The api never talks to RabbitMQ (docs/architecture.md): its dependency graph,
# resolved for the api alone, has no lapin, and the api compiles alone, with
# `catalytic-shared` built without the `queue` feature. (A workspace build
# unifies features, so the worker's `queue` would hide an api import of
# `catalytic_shared::queue`; this build does not.)
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo tree -p catalytic-api --locked -e normal --prefix none 2>/dev/null | grep -q '^lapin '; then
  echo "catalytic-api depends on lapin: the api must not reach RabbitMQ" >&2
  exit 1
fi
cargo check -p catalytic-api --bins --lib --locked --quiet
echo "the api's graph has no lapin, and it builds without the queue feature"
