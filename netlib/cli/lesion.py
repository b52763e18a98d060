"""`python -m netlib lesion`: a checkpoint's test accuracy with each residual block removed in turn."""

from __future__ import annotations

import json

from .parser import UsageError


def run(args) -> int:
    import torch

    import sys

    from ..analysis.lesion import describe, format_table, lesion_checkpoint_test, one_block_note, title_of
    from ..checkpoint import CheckpointError

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        rows, meta = lesion_checkpoint_test(args.checkpoint, args.data_dir, args.limit)
    except CheckpointError:  # also a ValueError, but an unusable file: exit 1 like every command
        raise
    except ValueError as e:  # a network without residual blocks, a --limit past the test set
        raise UsageError(str(e)) from None
    # One block per stage leaves little to remove: said on stderr, so --json stays one line per block.
    note = one_block_note((meta.get("model_kwargs") or {}).get("blocks", 1))
    if args.json:
        for name, acc in rows:
            print(json.dumps({"block": name, "test_acc": round(acc, 6)}))
        if note:
            print(f"netlib: note: {note}", file=sys.stderr)
        return 0
    print(f"{args.checkpoint}: {title_of(meta)} on {meta['test_samples']:,} MNIST test digits, "
          "each residual block removed in turn")
    print(format_table(rows))
    print(describe(title_of(meta), rows))
    if note:
        print(note)
    return 0
