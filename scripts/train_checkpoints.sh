#!/usr/bin/env bash
# Train the shipped checkpoints with the default recipe and low-resolution training digits, exactly as
# docs/benchmarks.md says ("Shipped checkpoints, drawn and uploaded digits").
set -euo pipefail
cd "$(dirname "$0")/.."
for model in ${MODELS:-residual inception}; do
  rm -rf "/tmp/netlib-ship-$model"
  python -m netlib train --model "$model" --seed 0 --degrade lowres=0.15 --run-dir "/tmp/netlib-ship-$model" \
    --save "checkpoints/$model.pt"
  grep '"event": "epoch"' "/tmp/netlib-ship-$model/metrics.jsonl" > "checkpoints/$model.metrics.jsonl"
done
