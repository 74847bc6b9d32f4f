#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer on their local ports
# (docs/adr/0008-local-servers.md): starts any that is stopped, and on a Debian
# machine without them installs them from Debian packages first. Idempotent.
set -euo pipefail

log() { printf '[services] %s\n' "$*"; }
# shellcheck source=lib/ports.sh
source "$(dirname "$0")/lib/ports.sh"

missing=()
command -v pg_ctlcluster >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
fresh_postgres=false
if ((${#missing[@]})); then
  log "installing from Debian packages: ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  [[ " ${missing[*]} " == *" postgresql "* ]] && fresh_postgres=true
fi

# PostgreSQL
if ! port_open 5432; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
fi
wait_port 5432 PostgreSQL 60
if $fresh_postgres; then
  # A fresh Debian cluster asks for passwords on TCP; these machines trust
  # local connections (docs/adr/0008-local-servers.md), so make a fresh one match.
  hba=$(su postgres -c "psql -tAc 'SHOW hba_file'")
  sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  su postgres -c "psql -qc 'SELECT pg_reload_conf()'" >/dev/null
  su postgres -c "psql -qc 'CREATE ROLE root SUPERUSER LOGIN'" 2>/dev/null || true
fi

# Redis (a cache: it keeps nothing on disk)
if ! port_open 6379; then
  log "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
wait_port 6379 Redis 30

# RabbitMQ
if ! port_open 5672; then
  log "starting RabbitMQ"
  rabbitmq-server -detached
  rabbitmqctl await_startup --timeout 120 >/dev/null
fi
wait_port 5672 RabbitMQ 120
# RabbitMQ 3.10 has no per-queue consumer timeout: the global one must
# outlast the longest job (3,600 s on the enterprise plan), or the broker
# closes the channel of a worker mid-job (docs/adr/0001-processes.md). Two hours.
rabbitmqctl -q eval 'application:set_env(rabbit, consumer_timeout, 7200000).' >/dev/null 2>&1 \
  || log "warning: could not raise RabbitMQ's consumer_timeout"
log "PostgreSQL, Redis and RabbitMQ are up"
