#!/usr/bin/env bash
# Run the browser tests that take the README's screenshots (pages, draw, train and compare; phone and tablet)
# and copy the README's screenshots from its artifacts.
# Usage: scripts/refresh_screenshots.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pytest tests/test_browser.py tests/test_browser_draw.py tests/test_browser_train.py \
  tests/test_browser_touch.py -m browser -q "$@"
for name in home train train_steered compare inspect inspect_maps results draw draw_phone draw_tablet; do
  cp "artifacts/browser/$name.png" "docs/screenshots/$name.png"
done
echo "docs/screenshots/ refreshed from artifacts/browser/"
