"""`python -m netlib export CHECKPOINT --onnx OUT.onnx`: a checkpoint as an ONNX model (netlib/onnx_export.py)."""

from __future__ import annotations

import json

from .parser import UsageError


def run(args) -> int:
    from ..checkpoint import CheckpointError
    from ..onnx_export import ExportError, export_onnx

    try:
        done = export_onnx(args.checkpoint, args.onnx)
    except (CheckpointError, ExportError) as e:  # bad input, as the issue asks: one line, exit status 2
        raise UsageError(str(e)) from None
    if args.json:
        print(json.dumps(done))
    else:
        print(f"{done['onnx']}: written ({done['bytes'] / 1024:,.0f} KB), {done['summary']}")
        print("input 'image' float32 N x 1 x 28 x 28, normalised; output 'logits' N x 10 (digits 0-9); "
              "the contract is in the model's metadata (docs/export.md)")
    return 0
