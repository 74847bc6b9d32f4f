# Sourced by scripts/load.sh and scripts/burndown.sh: one run's own stack
# settings, so runs never share state with each other or with tests.
# `fresh_stack KIND STAMP` sets $db (a fresh database name, not yet created),
# $pg (the server URL), free ports in $api_port, $worker_port and
# $scheduler_port, and exports the CATALYTIC_* settings that point the
# processes at them (queue and Redis prefixes of their own). Processes
# started after it go in $pids; `cleanup` (trapped on EXIT) stops them and
# drops the database.
# `start_fleet OUT` creates and migrates the database, starts the release
# api, scheduler and worker (logs in OUT) and waits until each probe is
# ready. `enterprise_keys N` bootstraps N enterprise tenants and prints their
# API keys, comma-separated.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

fresh_stack() { # kind stamp
  db="${1}_${2,,}_$$"
  pg="postgres://postgres@127.0.0.1:5432"
  api_port=$(free_port); api_probe_port=$(free_port); worker_port=$(free_port); scheduler_port=$(free_port)
  export CATALYTIC_DATABASE__URL="$pg/$db?sslmode=disable"
  export CATALYTIC_AMQP__PREFIX="$1-$2-$$"
  export CATALYTIC_REDIS__PREFIX="$1-$2-$$"
  export CATALYTIC_API__LISTEN="127.0.0.1:$api_port"
  export CATALYTIC_API__PROBE_LISTEN="127.0.0.1:$api_probe_port"
  export CATALYTIC_WORKER__PROBE_LISTEN="127.0.0.1:$worker_port"
  export CATALYTIC_SCHEDULER__PROBE_LISTEN="127.0.0.1:$scheduler_port"
  pids=()
  trap cleanup EXIT
}

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || true
}

start_fleet() { # out
  local out=$1 process url deadline
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE \"$db\""
  target/release/catalytic-api migrate 2>"$out/migrate.log"
  for process in api scheduler worker; do
    target/release/catalytic-$process >"$out/$process.log" 2>&1 &
    pids+=($!)
  done
  for url in "http://127.0.0.1:$api_port/readyz" "http://127.0.0.1:$worker_port/readyz" "http://127.0.0.1:$scheduler_port/readyz"; do
    deadline=$((SECONDS + 60))
    until curl -fsS --max-time 5 "$url" >/dev/null 2>&1; do
      ((SECONDS < deadline)) || { echo "$url not ready; logs in $out"; exit 1; }
      sleep 0.2
    done
  done
}

enterprise_keys() { # n
  local i
  for i in $(seq "$1"); do
    target/release/catalytic-api bootstrap --tenant "load-$i" --plan enterprise 2>/dev/null | jq -r .api_key
  done | paste -sd,
}
