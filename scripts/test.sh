#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite, browser tests included.
# Tests run in parallel (pytest-xdist): one worker per logical CPU, whole test files per worker so
# that module fixtures (stores, Streamlit servers) are built once, in the order tests/conftest.py
# gives them (no worker idles while the other builds the shared stores).
# PYTEST_WORKERS=0 runs them in one process; extra arguments go to pytest
# (e.g. ``bash scripts/test.sh tests/flows -n 0``).
set -euo pipefail
cd "$(dirname "$0")/.."
# No national batch of data/store: the tests build and batch their own stores (tests/conftest.py).
OCSGE_SETUP_BATCH="${OCSGE_SETUP_BATCH:-0}" bash scripts/setup.sh
export BROWSER_PATH="${BROWSER_PATH:-/usr/bin/chromium}"
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-logical}" --dist loadfile \
    --no-loadscope-reorder "$@"
