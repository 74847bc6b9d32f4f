#!/usr/bin/env bash
# The one test command: every check and every test, with a timer per step.
# Needs the local servers (scripts/services.sh starts them). CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true CARGO_TERM_COLOR=never RUST_BACKTRACE=1
unset DATABASE_URL

total_start=$SECONDS
step() {
  local name=$1 start=$SECONDS
  shift
  printf '\n==> %s\n' "$name"
  "$@"
  printf '<== %s: %d s\n' "$name" $((SECONDS - start))
}

step "servers" scripts/services.sh
step "drop databases left by earlier test runs" scripts/clean-test-state.sh
step "format" cargo fmt --all -- --check
step "citations point to files that exist" python3 scripts/check-doc-citations.py
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
# cargo-machete: a dependency no source names (it reads the sources, no build).
command -v cargo-machete >/dev/null ||
  step "install cargo-machete" cargo install cargo-machete --locked --version 0.9.2
step "unused dependencies (cargo-machete)" cargo machete
# cargo-deny: licences, duplicate versions (warnings), sources (deny.toml).
# Advisories are left out: their database cannot be fetched in CI.
command -v cargo-deny >/dev/null ||
  step "install cargo-deny" cargo install cargo-deny --locked --version 0.20.2
# cargo-deny reads `cargo metadata`, which needs every platform's crates
# (wasm, android, windows), not only those a build here fetches: on a fresh
# machine --offline would fail for lack of them. Fetching from the registry
# is allowed; the advisory database is what cannot be fetched.
step "fetch every platform's crates" cargo fetch --locked
step "licences, bans, sources (cargo-deny)" cargo deny --offline check licenses bans sources
step "the api builds without the queue (no RabbitMQ)" scripts/check-api-boundary.sh
step "api module graph has no loop of more than two files" python3 scripts/check-api-imports.py
step "build binaries" cargo build --workspace --bins --locked
step "SMTP sink for the mail tests (aiosmtpd)" scripts/smtp-sink.sh
# Tests that stop and start the shared servers run alone, afterwards.
step "tests (unit, integration, end-to-end)" \
  cargo nextest run --workspace --locked --profile ci -E 'not binary(server_restarts) and not binary(tls)'
step "server restarts, serially" \
  cargo nextest run -p catalytic-e2e --locked --profile ci --test server_restarts -j 1
step "TLS to PostgreSQL, RabbitMQ and Redis" scripts/check-tls.sh
step "deployment manifests and alert rules" scripts/check-deploy.sh
step "lattice engine against networkx" scripts/check-networkx.sh
step "GPU kernels: NVRTC compiles, ptxas assembles" scripts/check-kernels.sh
step "OpenAPI document (openapi-spec-validator)" scripts/check-openapi.sh
step "the api fuzzed from its OpenAPI document (schemathesis)" scripts/check-schemathesis.sh
step "generated clients match docs/openapi.json" scripts/clients.sh --check
step "Python client against the fleet (pytest)" scripts/check-python-client.sh
step "TypeScript client against the fleet (node --test)" scripts/check-typescript-client.sh
step "dashboard in chromium (playwright-core)" scripts/check-browser.sh
printf '\nall checks passed in %d s\n' $((SECONDS - total_start))
