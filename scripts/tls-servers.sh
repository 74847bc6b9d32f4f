#!/usr/bin/env bash
# TLS servers beside the plain ones, for the TLS tests (issue 19;
# docs/architecture.md, "TLS"): a test CA and a server certificate for
# localhost / 127.0.0.1 made with openssl, a second CA that signed nothing
# (the "wrong CA"), and
#   - a PostgreSQL cluster of its own on 127.0.0.1:5433 that takes TLS only
#     (pg_hba: hostssl lines, no host lines),
#   - a TLS listener on the running RabbitMQ at 127.0.0.1:5671, added at run
#     time (`rabbit_networking:start_ssl_listener`), so the broker is not
#     restarted and its plain port stays as it is,
#   - a Redis on 127.0.0.1:6380 with TLS only (port 0).
# Everything lives in $TLS_DIR (default /tmp/catalytic-tls) and is made
# afresh on every run: an earlier run's servers are stopped first. Prints
# the TEST_* variables that point the test harness at them.
set -euo pipefail

TLS_DIR=${TLS_DIR:-/tmp/catalytic-tls}
PG_PORT=${TLS_PG_PORT:-5433}
AMQP_PORT=${TLS_AMQP_PORT:-5671}
REDIS_PORT=${TLS_REDIS_PORT:-6380}

log() { printf '[tls-servers] %s\n' "$*" >&2; }
# shellcheck source=lib/ports.sh
source "$(dirname "$0")/lib/ports.sh"
as_postgres() { su postgres -s /bin/sh -c "$*"; }
pg_bin=/usr/lib/postgresql/$(ls /etc/postgresql | sort -V | tail -1)/bin

stop_earlier() {
  if [[ -f $TLS_DIR/pg/postmaster.pid ]]; then
    as_postgres "$pg_bin/pg_ctl -D $TLS_DIR/pg -m fast -w stop" >/dev/null || true
  fi
  if [[ -f $TLS_DIR/redis.pid ]]; then
    kill "$(cat "$TLS_DIR/redis.pid")" 2>/dev/null || true
  fi
  rabbitmqctl -q eval "rabbit_networking:stop_tcp_listener($AMQP_PORT)." >/dev/null 2>&1 || true
  local deadline=$((SECONDS + 20))
  while port_open "$PG_PORT" || port_open "$REDIS_PORT" || port_open "$AMQP_PORT"; do
    ((SECONDS < deadline)) || { log "ports $PG_PORT/$REDIS_PORT/$AMQP_PORT still taken"; exit 1; }
    sleep 0.2
  done
  rm -rf "$TLS_DIR"
}

make_certificates() {
  local d=$TLS_DIR
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Catalytic test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Catalytic wrong CA" \
    -keyout "$d/wrong-ca.key" -out "$d/wrong-ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$d/server.ext"
  openssl x509 -req -days 2 -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  # The servers run as other users (postgres, rabbitmq): they read the key.
  chmod 644 "$d/server.key"
}

start_postgres() {
  install -d -o postgres -m 700 "$TLS_DIR/pg"
  as_postgres "$pg_bin/initdb -D $TLS_DIR/pg -U postgres -A trust" >/dev/null
  install -o postgres -m 600 "$TLS_DIR/server.key" "$TLS_DIR/pg/server.key"
  install -o postgres -m 644 "$TLS_DIR/server.pem" "$TLS_DIR/pg/server.crt"
  cat >>"$TLS_DIR/pg/postgresql.conf" <<EOF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TLS_DIR/pg'
ssl = on
max_connections = 200
EOF
  # TLS only over TCP: no plain "host" line at all.
  cat >"$TLS_DIR/pg/pg_hba.conf" <<EOF
local   all all               trust
hostssl all all 127.0.0.1/32  trust
EOF
  as_postgres "$pg_bin/pg_ctl -D $TLS_DIR/pg -l $TLS_DIR/pg/server.log -w start" >/dev/null
  wait_port "$PG_PORT" "PostgreSQL (TLS)" 30
}

start_rabbitmq_listener() {
  local opts="[{certfile,\"$TLS_DIR/server.pem\"},{keyfile,\"$TLS_DIR/server.key\"},{cacertfile,\"$TLS_DIR/ca.pem\"},{verify,verify_none}]"
  # Erlang caches PEM files by path: an earlier run's certificate would be
  # served from the same path without clearing it.
  rabbitmqctl -q eval "ssl:clear_pem_cache(), ok = rabbit_networking:start_ssl_listener($AMQP_PORT, $opts, 1, 1)." >/dev/null
  wait_port "$AMQP_PORT" "RabbitMQ (TLS)" 30
}

start_redis() {
  redis-server --port 0 --tls-port "$REDIS_PORT" --bind 127.0.0.1 \
    --tls-cert-file "$TLS_DIR/server.pem" --tls-key-file "$TLS_DIR/server.key" \
    --tls-ca-cert-file "$TLS_DIR/ca.pem" --tls-auth-clients no \
    --save "" --appendonly no --daemonize yes \
    --pidfile "$TLS_DIR/redis.pid" --logfile "$TLS_DIR/redis.log"
  wait_port "$REDIS_PORT" "Redis (TLS)" 30
}

stop_earlier
mkdir -p "$TLS_DIR"
chmod 755 "$TLS_DIR"
make_certificates
start_postgres
start_rabbitmq_listener
start_redis
log "PostgreSQL :$PG_PORT, RabbitMQ :$AMQP_PORT, Redis :$REDIS_PORT (TLS only), certificates in $TLS_DIR"
cat <<EOF
TEST_POSTGRES_URL=postgres://postgres@localhost:$PG_PORT/postgres?sslmode=verify-full&sslrootcert=$TLS_DIR/ca.pem
TEST_AMQP_URL=amqps://guest:guest@localhost:$AMQP_PORT/%2f
TEST_REDIS_URL=rediss://localhost:$REDIS_PORT
TEST_TLS_CA_FILE=$TLS_DIR/ca.pem
TEST_TLS_WRONG_CA_FILE=$TLS_DIR/wrong-ca.pem
EOF
