#!/usr/bin/env bash
# Set up everything the dashboard and the tests need, idempotently:
# a Python 3.11 venv with the pinned requirements, Chromium (static chart export, PDF, browser
# tests) and the embedded demo store (data/store).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

# System packages (apt: network and dpkg) install in the background while pip installs the
# Python ones and the demo store is built; set-up waits for them at the end.
system_packages() {
  if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ]; then
      (apt-get install -y -q chromium >/dev/null 2>&1) || \
        (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)
    else
      echo "warning: /usr/bin/chromium missing; install it (apt-get install chromium) for exports and browser tests" >&2
    fi
  fi
  # Colour emoji font: the pages' section icons (🏗️ ⚖️ 🎯) in PDF reports and browser screenshots
  # rendered by headless Chromium, which otherwise draws empty boxes. Optional: never fails set-up.
  if [ ! -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] && [ "$(id -u)" = "0" ]; then
    apt-get install -y -q fonts-noto-color-emoji >/dev/null 2>&1 || \
      echo "warning: fonts-noto-color-emoji not installed; emoji show as boxes in PDF reports" >&2
  fi
  echo "setup: system packages in $((SECONDS - t_start)) s" >&2
}
t_start=$SECONDS
system_packages &
system_pid=$!

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# --no-compile, then compileall on every core in the background (during the demo build): pip
# byte-compiles the ~15,600 installed modules one by one, 86 s of CPU, longer than installing them.
.venv/bin/python -m pip install --quiet --no-compile --upgrade pip
.venv/bin/python -m pip install --quiet --no-compile -r requirements.txt
echo "setup: Python packages in $((SECONDS - t_start)) s" >&2
site_packages=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
(.venv/bin/python -m compileall -q -j 0 "$site_packages" >/dev/null 2>&1 || true) &
compile_pid=$!

STORE="${OCSGE_STORE_DIR:-data/store}"
t_demo=$SECONDS
.venv/bin/python -m ocsge_engine -q demo --store "$STORE"
echo "setup: demo store in $((SECONDS - t_demo)) s" >&2

# National results of the demo (Classements page, instant Croiser/Comparer, every commune page's
# figures and light map layers precomputed): one Dask worker, ~1.5 min on a 2-core machine;
# skipped on a rerun while the store is unchanged (resumable). OCSGE_SETUP_BATCH says where:
#   1 (default)  here, before returning;
#   background   started detached, log in $STORE/national_batch.log (scripts/start.sh: the
#                dashboard starts at once and computes on the fly until each partition is done,
#                every batch file being written to a temporary name then renamed, manifest last);
#   0            skipped (scripts/test.sh: the tests build their own stores).
case "${OCSGE_SETUP_BATCH:-1}" in
  0) ;;
  background)
    nohup .venv/bin/python -m ocsge_engine -q batch flows --store "$STORE" --workers 1 \
      >"$STORE/national_batch.log" 2>&1 </dev/null &
    echo "national batch of the demo running in the background (pid $!, log $STORE/national_batch.log)" ;;
  *) .venv/bin/python -m ocsge_engine -q batch flows --store "$STORE" --workers 1 ;;
esac
wait "$compile_pid"
wait "$system_pid"
echo "setup: done in $((SECONDS - t_start)) s" >&2
