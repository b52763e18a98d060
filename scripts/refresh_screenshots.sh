#!/usr/bin/env bash
# Retake docs/screenshots/: every page of the app (app_pages/_common.PAGES) and Draw at a phone's and a
# tablet's width, from a real `streamlit run app.py` in Chromium (scripts/take_screenshots.py).
# Usage: scripts/refresh_screenshots.sh [NAME ...]   (NETLIB_RUNS_DIR: the runs the pages show; default none)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/take_screenshots.py "$@"
