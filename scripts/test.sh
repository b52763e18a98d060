#!/usr/bin/env bash
# Set up everything the tests need (Python packages, Chromium, PostgreSQL, MNIST), then run them.
# Usage: scripts/test.sh [--fast] [extra pytest args]   (--fast: skip slow, browser and process tests)
# Tests run in TEST_WORKERS parallel pytest-xdist workers (default 3: on 2 cores the browser tests mostly
# wait on Streamlit and Chromium, so a third worker fills that time; --fast: 2, its tests never wait on
# another process, so a third worker only adds its start-up); TEST_WORKERS=0 runs them in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== python packages"
python3 -m pip install -q -r requirements-dev.txt

marker=(); workers=${TEST_WORKERS:-3}
if [[ "${1:-}" == "--fast" ]]; then
  shift
  marker=(-m "not slow and not browser and not process"); workers=${TEST_WORKERS:-2}
else
  missing=()  # Debian packages the slow tests need: chromium (browser tests), postgresql (sweep tests)
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  if (( ${#missing[@]} )); then
    echo "== ${missing[*]} (apt)"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

echo "== MNIST (fetched and md5-verified by netlib)"
python3 -m netlib data

echo "== tests"
parallel=(); (( workers > 0 )) && parallel=(-n "$workers" --dist loadgroup)
python3 -m pytest --durations=15 "${parallel[@]}" "${marker[@]}" "$@"
