#!/usr/bin/env bash
# Stops what scripts/up.sh started (SIGTERM: each process drains and exits),
# its local mail catcher and trace receiver.
set -euo pipefail
cd "$(dirname "$0")/.."
for process in api worker scheduler smtp otlp; do
  pid_file=.catalytic/$process.pid
  [[ -f $pid_file ]] || continue
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "stopped $process ($pid)"
  fi
  rm -f "$pid_file"
done
