#!/usr/bin/env bash
# TLS to every server (issue 19): starts a TLS-only PostgreSQL, a RabbitMQ
# TLS listener and a TLS-only Redis beside the plain ones
# (scripts/tls-servers.sh), then runs e2e/tests/tls.rs against them: a job
# end to end over TLS, and a CA that signed nothing refused with a message
# naming the server. Needs the binaries built (scripts/test.sh builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
servers=$(scripts/tls-servers.sh)
while IFS='=' read -r name value; do
  export "$name=$value"
done <<<"$servers"
cargo nextest run -p catalytic-e2e --locked --profile ci --test tls
