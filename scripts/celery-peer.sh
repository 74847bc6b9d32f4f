#!/usr/bin/env bash
# Celery 5 as a peer row (issue 17), on this machine's RabbitMQ and Redis:
# a virtual environment with Celery from PyPI (made once, in .venv-peers/),
# a Celery worker with 2 prefork processes (this machine's cores), and a
# closed loop of CLIENTS outstanding trivial tasks for SECONDS.
# Usage: scripts/celery-peer.sh [SECONDS] [CLIENTS]
# Prints: celery (same run): completed N tasks/s, submit -> result p50 … p99 …
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
clients=${2:-64}
venv=.venv-peers
if [[ ! -x $venv/bin/celery ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'celery[redis]>=5.4,<6'
fi
export CELERY_PEER_PREFIX="celery-peer-$$"
# Redis database 15: results only, flushed of this run's keys by expiry.
export CELERY_PEER_BACKEND="redis://127.0.0.1:6379/15"
cd scripts
../$venv/bin/celery -A celery_peer worker --pool prefork --concurrency 2 \
  --loglevel WARNING --without-gossip --without-mingle --without-heartbeat \
  >"/tmp/celery-peer-$$.log" 2>&1 &
worker=$!
cleanup() {
  kill "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
  ../$venv/bin/celery -A celery_peer purge -f >/dev/null 2>&1 || true
  rabbitmqctl -q delete_queue "$CELERY_PEER_PREFIX.tasks" >/dev/null 2>&1 || true
}
trap cleanup EXIT
# Ready when the worker answers a ping (bounded).
deadline=$((SECONDS + 60))
until ../$venv/bin/celery -A celery_peer inspect ping --timeout 1 >/dev/null 2>&1; do
  ((SECONDS < deadline)) || { echo "celery worker did not start; log in /tmp/celery-peer-$$.log"; exit 1; }
done
../$venv/bin/python celery_peer.py drive --seconds "$secs" --clients "$clients"
