#!/usr/bin/env bash
# The soak (issue 17): MINUTES at RATE jobs/s (default 60 and 1,000) on
# release binaries, every job followed to its terminal state, sampling every
# minute each process's RSS and open TCP connections, PostgreSQL's table and
# index sizes and the queue depths. Retention runs at soak scale (results
# kept 2 minutes, finished jobs deleted after 5, sent outbox rows after 5,
# a pass every minute) so that flat tables can be seen within the hour.
# Writes samples.csv, soak.svg and verdict.txt to loadtests/reports/<stamp>-soak/ and exits 1 if, after the
# first 5 minutes, a process's RSS grew more than 10 %, or a job was lost.
# Not in CI. Usage: scripts/soak.sh [MINUTES] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-60}
rate=${2:-1000}
. scripts/lib/fresh-stack.sh

scripts/services.sh >/dev/null
echo "[soak] building release binaries"
SQLX_OFFLINE=true cargo build --release --workspace --bins --quiet
export CATALYTIC_SCHEDULER__RETENTION_INTERVAL_SECS=60
export CATALYTIC_SCHEDULER__RETENTION_RESULTS_SECS=120
export CATALYTIC_SCHEDULER__RETENTION_SENT_OUTBOX_SECS=300
export CATALYTIC_SCHEDULER__RETENTION_JOBS_SECS=300
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=loadtests/reports/$stamp-soak
mkdir -p "$out"
fresh_stack soak "$stamp"
export CATALYTIC_API__RATE_PER_IP_PER_MINUTE=10000000
export RUST_LOG=${RUST_LOG:-warn}
start_fleet "$out"
# Each tenant has 6,000 requests/min: one per 40 jobs/s (submit + long-poll).
tenants=$(( (rate + 39) / 40 ))
CATALYTIC_LOAD_KEYS=$(enterprise_keys "$tenants")
export CATALYTIC_LOAD_KEYS
echo "[soak] $minutes min at $rate jobs/s over $tenants tenants; reports in $out"

target/release/catalytic-load --api-url "http://127.0.0.1:$api_port" --rate "$rate" \
  --duration $((minutes * 60)) --mix trivial --json "$out/load.json" >"$out/load.txt" 2>&1 &
load=$!

sample() { # minute
  local minute=$1 pid process rss conns
  for i in 0 1 2; do
    pid=${pids[$i]}
    process=$(cut -d' ' -f2 "/proc/$pid/stat" 2>/dev/null | tr -d '()' || echo gone)
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    conns=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c socket || true)
    echo "$minute,process,$process,rss_kib,$rss"
    echo "$minute,process,$process,sockets,$conns"
  done
  psql -h 127.0.0.1 -U postgres -d "$db" -qAt -F, -c "
    SELECT $minute, 'table', c.relname, 'bytes', pg_total_relation_size(c.oid)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r'
    UNION ALL SELECT $minute, 'postgres', 'backends', 'count', count(*) FROM pg_stat_activity WHERE datname = '$db'"
  rabbitmqctl -q list_queues name messages 2>/dev/null |
    awk -v m="$minute" -v p="$CATALYTIC_AMQP__PREFIX" '$1 ~ "^"p {print m ",queue," $1 ",messages," $2}'
}

# This machine's PostgreSQL runs with autovacuum off (docs/chaos.md): then
# deleted rows never free their space and no table can stay flat. The soak
# stands in for it with a plain VACUUM of its database each minute.
autovacuum=$(psql -h 127.0.0.1 -U postgres -d "$db" -qAtc "SHOW autovacuum")
vacuum() { [[ $autovacuum == on ]] || psql -h 127.0.0.1 -U postgres -d "$db" -qc "VACUUM" 2>/dev/null || true; }

echo "minute,kind,name,measure,value" >"$out/samples.csv"
minute=0
sample 0 >>"$out/samples.csv"
while kill -0 "$load" 2>/dev/null; do
  for _ in $(seq 60); do kill -0 "$load" 2>/dev/null || break; sleep 1; done
  minute=$((minute + 1))
  vacuum
  sample "$minute" >>"$out/samples.csv"
done
wait "$load" || true
cat "$out/load.txt"
python3 scripts/soak_report.py "$out"
