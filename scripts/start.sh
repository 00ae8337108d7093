#!/usr/bin/env bash
# Set up (idempotent) and start the dashboard on the embedded demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BROWSER_PATH="${BROWSER_PATH:-/usr/bin/chromium}"
exec .venv/bin/python scripts/serve.py "$@"
