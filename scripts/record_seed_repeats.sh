#!/usr/bin/env bash
# Record the Lessons page's seed repeats: Residual, seed recipe, 7 epochs, seeds 0, 1 and 2, full MNIST.
# Writes checkpoints/seed_repeats/residual-seed{0,1,2}.metrics.jsonl (start, epoch and end events; the
# checkpoints are not kept). One run after another, one thread each: the machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-7}
mkdir -p checkpoints/seed_repeats
for seed in ${SEEDS:-0 1 2}; do
  out="checkpoints/seed_repeats/residual-seed$seed.metrics.jsonl"
  # Batch events are dropped (the lesson reads epochs only), and so are the start event's pid and
  # wall-clock time: they say nothing about the recording.
  python -m netlib train --model residual --recipe seed --epochs "$EPOCHS" --seed "$seed" \
    --threads "${THREADS:-1}" --no-grads --json | python -c '
import json, sys
for line in sys.stdin:
    e = json.loads(line)
    if e["event"] == "batch":
        continue
    if e["event"] == "start":
        e.pop("pid", None)
        e.pop("time", None)
    print(json.dumps(e), flush=True)' > "$out.tmp"
  mv "$out.tmp" "$out"
  tail -n 2 "$out" | cut -c1-200
done
