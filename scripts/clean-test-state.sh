#!/usr/bin/env bash
# Tests drop their own database and queues when they finish; a test that was
# killed cannot. This drops what such tests left behind: databases named
# catalytic_t<hex> (tests' databases, never a real one) that nobody is
# connected to (a test running right now keeps its database).
set -euo pipefail
psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -qtAX "$@"; }
for db in $(psql_admin -c "SELECT datname FROM pg_database WHERE datname ~ '^catalytic_t[0-9a-f]{32}$'"); do
  psql_admin -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
done
