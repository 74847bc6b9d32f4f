#!/usr/bin/env bash
# The one test command: every check and every test, with a timer per step.
# Needs the local servers (scripts/services.sh starts them). CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
export SQLX_OFFLINE=true CARGO_TERM_COLOR=never RUST_BACKTRACE=1
unset DATABASE_URL

total_start=$SECONDS
# Every step has a time limit (seconds; 600 unless it names one), so a step
# that hangs fails the run with the processes it left, well inside CI's
# 90 minutes, instead of running into CI's own limit with nothing said. A
# fresh clone on 2 cores takes about 20 minutes in all (README.md, "Developing").
# A step that names --again-if-stuck runs once more when it hit its limit
# (never when it failed): only the browser check, whose one unexplained hang
# ran stop 36 into CI's limit; the first try's processes are printed first.
step() { # name [--limit seconds] [--again-if-stuck] command...
  local name=$1 limit=600 again=false start=$SECONDS status=0
  shift
  if [ "$1" = --limit ]; then limit=$2 && shift 2; fi
  if [ "$1" = --again-if-stuck ]; then again=true && shift; fi
  printf '\n==> %s\n' "$name"
  within "$name" "$limit" "$@" || status=$?
  if [ "$status" -eq 124 ] && $again; then
    printf '!!! %s: stuck at its limit of %d s; once more\n' "$name" "$limit"
    status=0
    within "$name" "$limit" "$@" || status=$?
  fi
  if [ "$status" -ne 0 ]; then
    [ "$status" -eq 124 ] && printf '!!! %s: stopped at its limit of %d s\n' "$name" "$limit"
    printf '<== %s: FAILED (exit %d) after %d s\n' "$name" "$status" $((SECONDS - start))
    exit "$status"
  fi
  printf '<== %s: %d s\n' "$name" $((SECONDS - start))
}

# Runs the command with a limit; returns its status (124: the limit). At the
# limit a watcher prints what is still running, then timeout stops the
# command's process group (and anything left in it 30 s later).
within() { # name limit command...
  local name=$1 limit=$2 status=0 watcher
  shift 2
  # The watcher looks every second whether the command is done (a file it
  # leaves): a signal would not do, as a background job of a script ignores
  # SIGINT and bash reports one killed by SIGTERM.
  local done_file
  done_file=$(mktemp)
  rm -f "$done_file"
  (
    for ((waited = 0; waited < limit; waited++)); do
      sleep 1
      [ -e "$done_file" ] && exit 0
    done
    printf '\n!!! %s: still running after %d s; the processes:\n' "$name" "$limit"
    ps -eo pid,ppid,pgid,etimes,stat,args --forest | cut -c1-240
  ) </dev/null &
  watcher=$!
  timeout --kill-after=30 $((limit + 5)) "$@" || status=$?
  touch "$done_file"
  wait "$watcher" 2>/dev/null || true
  rm -f "$done_file"
  return "$status"
}

step "servers" scripts/services.sh
step "drop databases left by earlier test runs" scripts/clean-test-state.sh
step "format" cargo fmt --all -- --check
step "citations point to files that exist" python3 scripts/check-doc-citations.py
step "clippy" --limit 1800 cargo clippy --workspace --all-targets --locked -- -D warnings
# cargo-machete: a dependency no source names (it reads the sources, no build).
command -v cargo-machete >/dev/null ||
  step "install cargo-machete" --limit 900 cargo install cargo-machete --locked --version 0.9.2
step "unused dependencies (cargo-machete)" cargo machete
# cargo-deny: licences, duplicate versions (warnings), sources (deny.toml).
# Advisories are left out: their database cannot be fetched in CI.
command -v cargo-deny >/dev/null ||
  step "install cargo-deny" --limit 1200 cargo install cargo-deny --locked --version 0.20.2
# cargo-deny reads `cargo metadata`, which needs every platform's crates
# (wasm, android, windows), not only those a build here fetches: on a fresh
# machine --offline would fail for lack of them. Fetching from the registry
# is allowed; the advisory database is what cannot be fetched.
step "fetch every platform's crates" --limit 900 cargo fetch --locked
step "licences, bans, sources (cargo-deny)" cargo deny --offline check licenses bans sources
step "the api builds without the queue (no RabbitMQ)" --limit 1200 scripts/check-api-boundary.sh
step "api module graph has no loop of more than two files" python3 scripts/check-api-imports.py
step "build binaries" --limit 1800 cargo build --workspace --bins --locked
step "SMTP sink for the mail tests (aiosmtpd)" scripts/smtp-sink.sh
# Tests that stop and start the shared servers run alone, afterwards.
step "tests (unit, integration, end-to-end)" --limit 2700 \
  cargo nextest run --workspace --locked --profile ci -E 'not binary(server_restarts) and not binary(tls)'
step "server restarts, serially" --limit 900 \
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
step "dashboard in chromium (playwright-core)" --limit 420 --again-if-stuck scripts/check-browser.sh
printf '\nall checks passed in %d s\n' $((SECONDS - total_start))
