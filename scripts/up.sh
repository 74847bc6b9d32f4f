#!/usr/bin/env bash
# Brings the whole system up on this machine and runs one job end to end:
# servers (started, or installed from Debian packages), build, migrate, a
# demo tenant, api + worker + scheduler in the background, one job submitted
# and its result printed. Stop everything with scripts/down.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.catalytic
mkdir -p "$state/logs"

scripts/services.sh
echo "[up] building"
cargo build --workspace --bins --quiet
scripts/down.sh >/dev/null 2>&1 || true

export CATALYTIC_DATABASE__URL=${CATALYTIC_DATABASE__URL:-postgres://postgres@127.0.0.1:5432/catalytic?sslmode=disable}
export CATALYTIC_API__LISTEN=${CATALYTIC_API__LISTEN:-127.0.0.1:8080}
api="http://${CATALYTIC_API__LISTEN}"
db_name=${CATALYTIC_DATABASE__URL##*/}
db_name=${db_name%%\?*}
if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1; then
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$db_name\""
fi
echo "[up] migrating $db_name"
target/debug/catalytic-api migrate 2>>"$state/logs/migrate.log"

# A local mail catcher (aiosmtpd, as in the tests) unless a server is
# configured: every message the system sends lands in $state/mail/new/.
if [[ -z ${CATALYTIC_MAIL__SMTP_URL:-} ]] && python=$(scripts/smtp-sink.sh 2>>"$state/logs/smtp.log"); then
  mkdir -p "$state/mail/new" "$state/mail/cur" "$state/mail/tmp"
  nohup "$python" -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox "$state/mail" \
    >>"$state/logs/smtp.log" 2>&1 &
  echo $! >"$state/smtp.pid"
  export CATALYTIC_MAIL__SMTP_URL=smtp://127.0.0.1:2525
  echo "[up] mail goes to a local catcher: $state/mail/new/"
fi

# A local trace receiver (the project's OTLP/HTTP one, as in the tests)
# unless a collector is configured: each process exports its spans to it,
# and http://127.0.0.1:4318/v1/traces/TRACE_ID/tree shows a job's trace.
if [[ -z ${CATALYTIC_TRACES__OTLP_ENDPOINT:-} ]]; then
  nohup target/debug/catalytic-otlp-receiver --listen 127.0.0.1:4318 --out "$state/logs/spans.jsonl" \
    >>"$state/logs/otlp.log" 2>&1 &
  echo $! >"$state/otlp.pid"
  export CATALYTIC_TRACES__OTLP_ENDPOINT=http://127.0.0.1:4318
  echo "[up] traces go to a local receiver: $CATALYTIC_TRACES__OTLP_ENDPOINT"
fi

for process in api worker scheduler; do
  nohup "target/debug/catalytic-$process" >>"$state/logs/$process.log" 2>&1 &
  echo $! >"$state/$process.pid"
done

wait_ready() { # url
  local deadline=$((SECONDS + 60))
  until curl -fsS --max-time 5 "$1" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "[up] $1 not ready after 60 s; see $state/logs/"; exit 1; }
    sleep 0.2
  done
}
wait_ready "$api/readyz"
wait_ready "http://127.0.0.1:9101/readyz"
wait_ready "http://127.0.0.1:9102/readyz"
echo "[up] api, worker and scheduler are ready (logs in $state/logs/)"

# A demo tenant's key, kept (mode 600) for later runs while it still works.
key_file="$state/api_key"
if [[ ! -s $key_file ]] || [[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$key_file")" "$api/v1/jobs/00000000-0000-0000-0000-000000000000") == 401 ]]; then
  (umask 077; target/debug/catalytic-api bootstrap --tenant demo --plan starter 2>>"$state/logs/bootstrap.log" | jq -r .api_key >"$key_file")
fi
key=$(cat "$key_file")

body='{"lattice": {"dimensions": 3, "size": 50}, "operation": "shortest_path", "params": {"start": [0, 0, 0], "end": [49, 10, 3]}}'
echo "[up] POST /v1/jobs $body"
# The demo job starts a trace of its own (W3C traceparent), shown at the end.
trace_id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
id=$(curl -fsS -X POST "$api/v1/jobs" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -H "traceparent: 00-$trace_id-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-01" -d "$body" | jq -r .id)
deadline=$((SECONDS + 60))
while :; do
  job=$(curl -fsS "$api/v1/jobs/$id" -H "Authorization: Bearer $key")
  status=$(jq -r .status <<<"$job")
  [[ $status == succeeded || $status == failed || $status == cancelled ]] && break
  ((SECONDS < deadline)) || { echo "[up] job $id still $status after 60 s"; exit 1; }
  sleep 0.1
done
echo "[up] job $id: $status"
jq -c '{id, status, attempt, created_at, finished_at, length: .result.length, vertices_visited: .result.vertices_visited, path_starts: .result.path[0:3], path_ends: .result.path[-1]}' <<<"$job"
traces=${CATALYTIC_TRACES__OTLP_ENDPOINT%/}
tree_url="$traces/v1/traces/$trace_id/tree"
if [[ -f $state/otlp.pid ]]; then
  deadline=$((SECONDS + 10))
  until curl -fsS --max-time 5 "$tree_url" 2>/dev/null | grep -q job.commit; do
    ((SECONDS < deadline)) || break
    sleep 0.2
  done
  echo "[up] the job's trace ($tree_url):"
  curl -fsS "$tree_url" || echo "[up] (no spans received yet)"
fi
echo "[up] API key in $state/api_key; api at $api; stop with scripts/down.sh"
[[ $status == succeeded ]]
