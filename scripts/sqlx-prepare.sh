#!/usr/bin/env bash
# Regenerates .sqlx/, the offline query data that lets CI compile the
# compile-time-checked queries without a database. Run after changing any
# sqlx::query! or a migration, and commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
# SQLX_DEV_DB lets parallel work trees each use a scratch database of their own.
db=${SQLX_DEV_DB:-catalytic_sqlx}
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
for m in migrations/*.sql; do
  psql -h 127.0.0.1 -U postgres -d "$db" -q -v ON_ERROR_STOP=1 -f "$m"
done
rm -rf .sqlx && mkdir .sqlx
# The macros write their data when SQLX_OFFLINE_DIR is set; touch the files
# holding queries so they expand again: the shared SQL and each process's own.
find shared/src api/src scheduler/src -name '*.rs' -exec touch {} +
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" \
  cargo check --workspace --all-targets --quiet
echo "wrote $(ls .sqlx | wc -l) queries to .sqlx/"
