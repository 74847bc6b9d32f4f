#!/usr/bin/env bash
# End-to-end load (issue 8): release binaries on a fresh database and a fresh
# queue/Redis prefix, api + scheduler + 1 worker, then a fixed-rate run and a
# closed-loop saturation run of catalytic-load (with --compare: this machine's
# broker and database ceilings in the same run). Reports (text, JSON, an SVG
# latency CDF) go to
# loadtests/reports/; `top` snapshots during each run show who burns CPU.
# During the closed loop, each process's share of the CPU goes to
# saturation.cpu.txt (scripts/lib/cpu_split.py).
# When PostgreSQL has pg_stat_statements loaded (shared_preload_libraries,
# and the extension created in the postgres database), the statements the
# run issued, by total time, are written to statements.txt beside them;
# tables.txt has each table's scans and writes (pg_stat_user_tables).
# With --celery, Celery 5 runs the same closed loop on the same servers right
# after (scripts/celery-peer.sh): the peer row of the same sitting.
# With --bulk, a run named `bulk` follows the closed loop: CLIENTS/8 clients
# (at least 1), each submitting BULK_JOBS (default 100) trivial jobs per
# `POST /v1/jobs/batch` and following them all to their end before the next.
# Usage: scripts/load.sh [--celery] [--bulk] [RATE] [SECONDS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
celery=false
bulk=false
args=()
for arg in "$@"; do
  case $arg in
    --celery) celery=true ;;
    --bulk) bulk=true ;;
    *) args+=("$arg") ;;
  esac
done
rate=${args[0]:-200}
secs=${args[1]:-20}
clients=${args[2]:-64}

scripts/services.sh >/dev/null
echo "[load] building release binaries"
SQLX_OFFLINE=true cargo build --release --workspace --bins --quiet

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=loadtests/reports/$stamp
mkdir -p "$out"
. scripts/lib/fresh-stack.sh
fresh_stack load "$stamp"
export CATALYTIC_API__RATE_PER_IP_PER_MINUTE=10000000
export RUST_LOG=${RUST_LOG:-warn}

start_fleet "$out"

# Enterprise tenants: 6,000 requests/min each; 32 of them leave headroom
# for ~3k requests/s (submits + long-polls) before the tenant limit binds.
CATALYTIC_LOAD_KEYS=$(enterprise_keys 32)
export CATALYTIC_LOAD_KEYS

run() { # name args...
  local name=$1; shift
  echo "[load] $name: catalytic-load $*"
  (sleep $((secs / 2)); top -b -n 1 -o %CPU | head -15 >"$out/$name.top.txt") &
  target/release/catalytic-load --api-url "http://127.0.0.1:$api_port" --json "$out/$name.json" "$@" | tee "$out/$name.txt"
}
pgss() { psql -h 127.0.0.1 -U postgres -d postgres -qAt "$@" 2>/dev/null; }
stats=$(pgss -c "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'" || true)
[[ $stats == 1 ]] && pgss -c "SELECT pg_stat_statements_reset()" >/dev/null
run fixed --rate "$rate" --duration "$secs" --mix trivial --plot "$out/fixed.svg"
# --compare: the raw broker round trip and a PostgreSQL job pipeline, measured
# right after, so the report states the saturation throughput as a fraction.
# Who burns the CPU during the closed loop: its middle, from 1 s after the
# start to 1 s before the end (the --compare ceilings run after it).
cpu_window=$((secs > 2 ? secs - 2 : 1))
(sleep 1; python3 scripts/lib/cpu_split.py snap "$out/cpu.before.json"
  sleep "$cpu_window"
  python3 scripts/lib/cpu_split.py diff "$out/cpu.before.json" "$cpu_window" >"$out/saturation.cpu.txt"
  rm -f "$out/cpu.before.json") &
cpu_probe=$!
run saturation --clients "$clients" --duration "$secs" --mix trivial --plot "$out/saturation.svg" --compare
wait "$cpu_probe" && cat "$out/saturation.cpu.txt"
# The worker's own counts (issue 17): statements of its batched writes
# (catalytic_worker_batch_size: count = statements, sum = jobs) and ack frames.
curl -fsS "http://127.0.0.1:$worker_port/metrics" >"$out/worker.metrics.txt" 2>/dev/null || true
grep -E '^catalytic_worker_(batch_size_(sum|count)|ack_frames_total)' "$out/worker.metrics.txt" | tee "$out/worker.batches.txt" || true
if $bulk; then
  bulk_clients=$((clients / 8 > 0 ? clients / 8 : 1))
  run bulk --clients "$bulk_clients" --bulk "${BULK_JOBS:-100}" --duration "$secs" --mix trivial --plot "$out/bulk.svg"
fi
if $celery; then
  echo "[load] celery peer: scripts/celery-peer.sh $secs $clients"
  scripts/celery-peer.sh "$secs" "$clients" | tee "$out/celery.txt"
fi
if [[ $stats == 1 ]]; then
  # WAL written is the steadiest figure of an A/B on a shared machine: it
  # does not depend on who else had the CPU.
  psql -h 127.0.0.1 -U postgres -d postgres -c "SELECT calls, round(total_exec_time::numeric) AS total_ms,
      round(mean_exec_time::numeric, 3) AS mean_ms, rows, wal_records, round(wal_bytes / 1024) AS wal_kb,
      left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db'
    ORDER BY total_exec_time DESC LIMIT 30" >"$out/statements.txt"
  psql -h 127.0.0.1 -U postgres -d postgres -qAt -F ' ' -c "SELECT 'all statements:', sum(calls), 'calls,',
      round(sum(total_exec_time)::numeric), 'ms,', sum(wal_records), 'WAL records,', round(sum(wal_bytes) / 1024),
      'KiB of WAL'
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$db'" >>"$out/statements.txt"
fi
# Per table: scans by kind, row versions written, and how many updates were
# HOT (no index entries): where a plan reads more than it should, and what
# each write costs in indexes.
psql -h 127.0.0.1 -U postgres -d "$db" -c "SELECT relname, seq_scan, seq_tup_read, idx_scan, n_tup_ins AS ins,
    n_tup_upd AS upd, n_tup_hot_upd AS hot_upd, n_tup_del AS del, n_live_tup AS live, n_dead_tup AS dead
  FROM pg_stat_user_tables WHERE seq_scan + coalesce(idx_scan, 0) + n_tup_ins > 0
  ORDER BY seq_tup_read DESC, relname" >"$out/tables.txt" 2>/dev/null || true
{
  echo "date: $(date -u +%FT%TZ)"
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "command: scripts/load.sh $* (rate $rate, $secs s, $clients clients)"
} >"$out/machine.txt"
echo "[load] reports in $out"
