#!/usr/bin/env bash
# Set up (idempotent) and start the dashboard on the embedded demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
# The national batch of the demo runs in the background: pages compute on the fly until it is done.
OCSGE_SETUP_BATCH="${OCSGE_SETUP_BATCH:-background}" bash scripts/setup.sh
export BROWSER_PATH="${BROWSER_PATH:-/usr/bin/chromium}"
exec .venv/bin/python scripts/serve.py "$@"
