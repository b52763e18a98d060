#!/usr/bin/env bash
# Set up everything the tests need (Python packages, Chromium, PostgreSQL, MNIST), then run them.
# Usage: scripts/test.sh [--fast] [extra pytest args]   (--fast: skip slow and browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1

echo "== python packages"
python3 -m pip install -q -r requirements-dev.txt

marker=()
if [[ "${1:-}" == "--fast" ]]; then
  shift
  marker=(-m "not slow and not browser")
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
python3 -m pytest --durations=15 "${marker[@]}" "$@"
