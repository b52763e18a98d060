#!/usr/bin/env bash
# Record the Home page's gradient-flow story: Residual and Plain, 3 blocks per stage, seed recipe.
# Writes checkpoints/gradient_flow/{residual,plain}-3.metrics.jsonl (every event, gradient norms included).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-3}
mkdir -p checkpoints/gradient_flow
for model in residual plain; do
  out="checkpoints/gradient_flow/$model-3.metrics.jsonl"
  python -m netlib train --model "$model" --blocks 3 --recipe seed --epochs "$EPOCHS" --seed 0 \
    --threads "${THREADS:-1}" --json > "$out.tmp"
  grep -v '"pid"' "$out.tmp" > "$out" || true  # the start event's pid and time say nothing shipped
  grep '"event": "start"' "$out.tmp" | python -c "import json,sys; e=json.loads(sys.stdin.read()); [e.pop(k) for k in ('pid','time')]; print(json.dumps(e))" | cat - "$out" > "$out.new"
  mv "$out.new" "$out"; rm -f "$out.tmp"
  tail -n 2 "$out" | cut -c1-200
done
