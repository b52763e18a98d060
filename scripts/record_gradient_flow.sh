#!/usr/bin/env bash
# Record the Home page's gradient-flow story: Residual and Plain, 3 blocks per stage, seed recipe.
# Writes checkpoints/gradient_flow/{residual,plain}-3.metrics.jsonl (every event, gradient norms included).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-3}
mkdir -p checkpoints/gradient_flow
for model in residual plain; do
  out="checkpoints/gradient_flow/$model-3.metrics.jsonl"
  # The start event's pid and wall-clock time say nothing about the recording: dropped.
  python -m netlib train --model "$model" --blocks 3 --recipe seed --epochs "$EPOCHS" --seed 0 \
    --threads "${THREADS:-1}" --json --no-record | python -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "start":
        e.pop("pid", None)
        e.pop("time", None)
    print(json.dumps(e))' > "$out"
  tail -n 2 "$out" | cut -c1-200
done
