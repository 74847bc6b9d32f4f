# Sourced by the client checks (scripts/check-python-client.sh,
# scripts/check-typescript-client.sh): the debug api, scheduler and worker on
# a fresh database and queue and Redis prefixes of their own, with an
# enterprise tenant. `debug_fleet NAME` builds them, starts them, waits for
# the api, and sets $api_url and $key; an EXIT trap stops them and drops the
# database. Needs $target_dir (scripts/lib/pinned-venv.sh sets it).
debug_fleet() { # name
  local name=$1 process deadline
  cargo build --quiet --locked -p catalytic-api -p catalytic-scheduler -p catalytic-worker --bins
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  fleet_db="${name}_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $fleet_db"
  fleet_pids=()
  trap debug_fleet_stop EXIT
  local api_port
  api_port=$(free_port)
  export CATALYTIC_DATABASE__URL="postgres://postgres@127.0.0.1:5432/$fleet_db?sslmode=disable"
  export CATALYTIC_API__LISTEN="127.0.0.1:$api_port"
  export CATALYTIC_API__PROBE_LISTEN="127.0.0.1:$(free_port)"
  export CATALYTIC_WORKER__PROBE_LISTEN="127.0.0.1:$(free_port)"
  export CATALYTIC_SCHEDULER__PROBE_LISTEN="127.0.0.1:$(free_port)"
  export CATALYTIC_AMQP__PREFIX="$name-$$"
  export CATALYTIC_REDIS__PREFIX="$name-$$"
  export RUST_LOG=warn
  local bin="$target_dir/debug" logs="$target_dir/$name-logs"
  mkdir -p "$logs"
  "$bin/catalytic-api" migrate 2>/dev/null
  key=$("$bin/catalytic-api" bootstrap --tenant "$name" --plan enterprise 2>/dev/null |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
  for process in api scheduler worker; do
    "$bin/catalytic-$process" >"$logs/$process.log" 2>&1 &
    fleet_pids+=($!)
  done
  api_url="http://127.0.0.1:$api_port"
  deadline=$((SECONDS + 60))
  until curl -fsS --max-time 5 "$api_url/readyz" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "the api did not start; logs in $logs"; exit 1; }
    sleep 0.2
  done
}

debug_fleet_stop() {
  local pid
  for pid in "${fleet_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${fleet_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $fleet_db WITH (FORCE)" || true
}
