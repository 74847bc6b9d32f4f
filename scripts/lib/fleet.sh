# Sourced by the load scripts (soak.sh; load.sh): a release fleet (api,
# scheduler, one worker) on a fresh database and a fresh queue/Redis prefix,
# stopped and dropped when the calling script exits.
#
# fleet_start NAME: creates loadtests/reports/<stamp>-NAME/ as $out, starts
# the fleet with its logs there, waits until each probe is ready, and sets
# $api_port, $db, $pg and the pids in $fleet_pids. The caller may export
# CATALYTIC_* settings before calling it.
# fleet_tenants N: bootstraps N enterprise tenants, prints their keys comma-separated.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

fleet_stop() {
  for pid in "${fleet_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${fleet_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
}

fleet_start() {
  local name=$1
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  out=loadtests/reports/$stamp-$name
  mkdir -p "$out"
  db="${name}_${stamp,,}_$$"
  pg="postgres://postgres@127.0.0.1:5432"
  api_port=$(free_port)
  local worker_port scheduler_port
  worker_port=$(free_port)
  scheduler_port=$(free_port)
  export CATALYTIC_DATABASE__URL="$pg/$db"
  export CATALYTIC_AMQP__PREFIX="$name-$stamp-$$"
  export CATALYTIC_REDIS__PREFIX="$name-$stamp-$$"
  export CATALYTIC_API__LISTEN="127.0.0.1:$api_port"
  export CATALYTIC_WORKER__PROBE_LISTEN="127.0.0.1:$worker_port"
  export CATALYTIC_SCHEDULER__PROBE_LISTEN="127.0.0.1:$scheduler_port"
  export CATALYTIC_API__RATE_PER_IP_PER_MINUTE=${CATALYTIC_API__RATE_PER_IP_PER_MINUTE:-10000000}
  export RUST_LOG=${RUST_LOG:-warn}
  fleet_pids=()
  trap fleet_stop EXIT
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$db\""
  target/release/catalytic-api migrate 2>"$out/migrate.log"
  local process url deadline
  for process in api scheduler worker; do
    target/release/catalytic-$process >"$out/$process.log" 2>&1 &
    fleet_pids+=($!)
  done
  for url in "http://127.0.0.1:$api_port/readyz" "http://127.0.0.1:$worker_port/readyz" "http://127.0.0.1:$scheduler_port/readyz"; do
    deadline=$((SECONDS + 60))
    until curl -fsS "$url" >/dev/null 2>&1; do
      ((SECONDS < deadline)) || { echo "[$name] $url not ready; logs in $out"; exit 1; }
      sleep 0.2
    done
  done
}

fleet_tenants() {
  local i
  for i in $(seq "$1"); do
    target/release/catalytic-api bootstrap --tenant "load-$i" --plan enterprise 2>/dev/null | jq -r .api_key
  done | paste -sd,
}
