#!/usr/bin/env bash
# Browser tests of the dashboard (docs/dashboard.md): Debian's chromium,
# driven by playwright-core from npm (pinned in browser-tests/package-lock.json,
# installed under the cargo target dir; it downloads no browser), with node's
# own test runner, against the three real binaries started here on a fresh
# private database, AMQP name prefix and Redis key prefix. Everything this
# script starts or creates is stopped and removed on exit, pass or fail;
# other tests' state is never touched. Screenshots are kept in
# target/browser-artifacts/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { echo "[check-browser] $*"; }
# Nothing here may wait without end (scripts/test.sh gives the step a limit,
# and a hang should name itself): every request, connection and tool has one.
export PGCONNECT_TIMEOUT=10
http() { curl -fsS --connect-timeout 5 --max-time 30 "$@"; }

# --- chromium (Debian's package) ---
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# --- playwright-core (npm, exact version from the lockfile) ---
# Node 20+ (playwright-core's engines; node --test): part of this machine kind.
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  log "node 20 or newer is required (found: $(node --version 2>/dev/null || echo none))"
  exit 1
fi
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
tests_dir="$target_dir/browser-tests"
mkdir -p "$tests_dir"
if ! cmp -s browser-tests/package-lock.json "$tests_dir/package-lock.json" ||
  [ ! -d "$tests_dir/node_modules/playwright-core" ]; then
  log "installing playwright-core"
  cp browser-tests/package.json browser-tests/package-lock.json "$tests_dir/"
  (cd "$tests_dir" && timeout 300 npm ci --no-audit --no-fund --loglevel=error)
fi
# Beside its node_modules, so the test's import resolves there.
cp browser-tests/dashboard.test.mjs "$tests_dir/"

# --- the three binaries ---
# Not --quiet: a wait for another cargo's lock would be silent.
log "building the binaries"
timeout 1200 cargo build --locked -p catalytic-api -p catalytic-worker -p catalytic-scheduler --bins
bin="$target_dir/debug"

# --- private state: database, queue prefix, redis prefix, ports ---
run_id="browser$(date +%s)$$"
db="catalytic_t$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
api_port=$(free_port)
work_dir="$(mktemp -d)"
artifacts="$target_dir/browser-artifacts"
rm -rf "$artifacts" && mkdir -p "$artifacts"
pids=()

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ]; then
    for f in "$work_dir"/*.log; do
      [ -e "$f" ] || continue
      echo "----- last lines of $(basename "$f") -----"
      tail -n 30 "$f"
    done
  fi
  cp "$work_dir"/*.log "$artifacts/" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d postgres -qtAX -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  redis-cli -h 127.0.0.1 --scan --pattern "$run_id:*" 2>/dev/null | xargs -r redis-cli -h 127.0.0.1 del >/dev/null 2>&1 || true
  timeout 30 rabbitmqctl -q list_queues name 2>/dev/null | grep "^$run_id\." |
    while read -r queue; do timeout 30 rabbitmqctl -q delete_queue "$queue" </dev/null >/dev/null 2>&1 || true; done
  rm -rf "$work_dir"
  log "cleaned up $db and the $run_id queues and keys"
  exit "$status"
}
trap cleanup EXIT INT TERM

export CATALYTIC_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
# The scheduler holds 5 (scheduler::startup::HELD_CONNECTIONS) and needs 2 more.
export CATALYTIC_DATABASE__MAX_CONNECTIONS=8
export CATALYTIC_AMQP__PREFIX="$run_id"
export CATALYTIC_REDIS__PREFIX="$run_id"
export CATALYTIC_API__LISTEN="127.0.0.1:$api_port"
export CATALYTIC_API__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_WORKER__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_SCHEDULER__PROBE_LISTEN="127.0.0.1:$(free_port)"
export CATALYTIC_SCHEDULER__RELAY_POLL_MS=200
export CATALYTIC_AUTOSCALE__INTERVAL_MS=500
# The webhook receiver is a closed port on loopback: allow-list it (SSRF guard).
export CATALYTIC_WEBHOOKS__ALLOW_PRIVATE='["127.0.0.1/32"]'

log "creating and migrating $db"
psql -h 127.0.0.1 -U postgres -d postgres -qtAX -c "CREATE DATABASE \"$db\"" >/dev/null
timeout 120 "$bin/catalytic-api" migrate 2>"$work_dir/migrate.log"
log "starting the api, worker and scheduler"
for process in api worker scheduler; do
  "$bin/catalytic-$process" >"$work_dir/$process.log" 2>&1 &
  pids+=("$!")
done

base="http://127.0.0.1:$api_port"
wait_ready() { # url
  local deadline=$((SECONDS + 60))
  until curl -fsS --max-time 5 -o /dev/null "$1" 2>/dev/null; do
    if ((SECONDS >= deadline)); then log "$1 not ready after 60 s"; return 1; fi
    sleep 0.2
  done
}
wait_ready "$base/readyz"
wait_ready "http://$CATALYTIC_WORKER__PROBE_LISTEN/readyz"
wait_ready "http://$CATALYTIC_SCHEDULER__PROBE_LISTEN/readyz"
log "the fleet is ready; registering a tenant"

# --- a tenant owner (on starter, so polling pages stay inside its rate) and an operator key ---
email="owner-$run_id@example.com"
password="browser-test-$run_id-harbour-kettle"
http -o /dev/null -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$email\", \"password\": \"$password\"}"
# Verified as by the mailed link (webhook endpoints need it), the token read
# from the mail outbox.
verify_token=$(psql -h 127.0.0.1 -U postgres -d "$db" -qtAX -c \
  "SELECT params ->> 'token' FROM mail_messages WHERE to_address = '$email' AND template = 'verify_email'")
http -o /dev/null -X POST "$base/v1/auth/verify-email" -H 'Content-Type: application/json' \
  -d "{\"token\": \"$verify_token\"}"
token=$(http -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"email\": \"$email\", \"password\": \"$password\"}" | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
operator_key=$(timeout 60 "$bin/catalytic-api" admin create-operator-key --name browser-tests 2>>"$work_dir/migrate.log" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["operator_key"])')
# An upgrade is a payment or an operator's (issue 18): the operator's here.
tenant_id=$(http "$base/v1/me" -H "Authorization: Bearer $token" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["tenant"]["id"])')
http -o /dev/null -X PUT "$base/v1/admin/tenants/$tenant_id/plan" -H "Authorization: Bearer $operator_key" \
  -H 'Content-Type: application/json' -d '{"plan": "starter"}'

log "running the browser tests against $base"
started=$SECONDS
DASHBOARD_URL="$base" TENANT_EMAIL="$email" TENANT_PASSWORD="$password" OPERATOR_KEY="$operator_key" \
  HOOK_URL="http://127.0.0.1:$(free_port)/hook" ARTIFACTS="$artifacts" \
  timeout 600 node --test --test-timeout=180000 --test-reporter=spec "$tests_dir/dashboard.test.mjs"
log "passed in $((SECONDS - started)) s; screenshots in $artifacts"
