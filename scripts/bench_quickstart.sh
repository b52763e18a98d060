#!/usr/bin/env bash
# The README's quick start timed step by step on a clean clone: venv, install, MNIST, the server, a 7 drawn
# on Draw (Playwright in Chromium), a CLI-trained Residual, and that run on Draw's checkpoint list.
# Usage: bash scripts/bench_quickstart.sh [WORKDIR]   (default /tmp/quickstart; port 8765; needs this
# project's test set-up for Playwright: bash scripts/test.sh once). Figures: docs/benchmarks.md#quick-start
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd); work=${1:-/tmp/quickstart}; port=8765
rm -rf "$work"; mkdir -p "$work"
t0=$(date +%s.%N)
step() { local now; now=$(date +%s.%N); printf '%-28s %6.1f s   (%.0f s from the clone)\n' "$1" "$(echo "$now-$2" | bc)" "$(echo "$now-$t0" | bc)"; }

s=$(date +%s.%N); git clone -q "$here" "$work/lab"; step clone "$s"
cd "$work/lab"
s=$(date +%s.%N); python3 -m venv .venv; step "virtual environment" "$s"
s=$(date +%s.%N); .venv/bin/pip install -q -r requirements.txt > "$work/pip.log" 2>&1; step "pip install" "$s"
s=$(date +%s.%N); .venv/bin/python -m netlib data > /dev/null; step "netlib data" "$s"
s=$(date +%s.%N)
.venv/bin/streamlit run app.py --server.port $port --server.headless true > "$work/streamlit.log" 2>&1 &
server=$!; trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 600); do curl -sf "http://localhost:$port/_stcore/health" > /dev/null && break; sleep 0.2; done
curl -sf "http://localhost:$port/_stcore/health" > /dev/null || { echo "streamlit did not answer in 120 s: $work/streamlit.log"; exit 1; }
step "streamlit run (answers)" "$s"
s=$(date +%s.%N); python3 "$here/scripts/_quickstart_draw.py" "http://localhost:$port"; step "browser: Home, Draw, a 7" "$s"
s=$(date +%s.%N); .venv/bin/python -m netlib train --model residual --epochs 1 2>&1 | sed 's/^/    /'
step "train --epochs 1" "$s"
s=$(date +%s.%N); python3 "$here/scripts/_quickstart_draw.py" "http://localhost:$port" --expect-run; step "browser: the run on Draw" "$s"
uptime
