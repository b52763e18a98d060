#!/usr/bin/env bash
# Retake docs/screenshots/: every page of the app (app_pages/_common.PAGES) and Draw at a phone's and a
# tablet's width, from a real `streamlit run app.py` in Chromium (scripts/take_screenshots.py).
# Usage: scripts/refresh_screenshots.sh [NAME ...]   (NETLIB_RUNS_DIR: the runs the pages show; default none)
# The docs' shots were taken over a runs folder holding `train --model residual --epochs 1`, an Inception
# run and the sweep in docs/sweeps.md's caption, trained from the command line beforehand.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/take_screenshots.py "$@"
