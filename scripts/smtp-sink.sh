#!/usr/bin/env bash
# The SMTP sink of the mail tests (catalytic_shared::testkit::SmtpSink):
# aiosmtpd from PyPI, pinned, in a venv under the cargo target directory
# (<target>/venv-smtp). Idempotent: installs only what is missing. Prints
# the venv's python (give it to the tests as TEST_SMTP_PYTHON to use it
# from elsewhere).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/lib/pinned-venv.sh
pinned_venv smtp aiosmtpd 1.4.6 >&2
"$venv/bin/python" -c 'import aiosmtpd' >&2
echo "$venv/bin/python"
