"""`python -m netlib map`: a checkpoint's map of the test digits (PCA, t-SNE or UMAP) and how well they separate."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..embedding import METHODS  # numpy-free: every command builds this parser

    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--method", default="pca", choices=list(METHODS),
                   help="pca (instant, the default), tsne (openTSNE: seconds; docs/benchmarks.md has the figures) or umap "
                        "(needs umap-learn, not installed by default)")
    p.add_argument("--n", type=_digits, default=2000, metavar="N", help="the first N test digits (default 2,000, up to 10,000)")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--json", action="store_true", help="one JSON object: the figures, then each point as "
                   "[x, y, true digit, read as, confidence]")


def _digits(text: str) -> int:
    from ..embedding.maps import check_n

    try:
        return check_n(int(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e) if text.strip().lstrip("-").isdigit()
                                         else f"expected a whole number, got {text!r}") from None


def run(args) -> int:
    from ..checkpoint import CheckpointError
    from ..embedding.maps import checkpoint_map
    from ..embedding.project import TITLES
    from ..embedding.separation import LABELS

    try:
        m, meta = checkpoint_map(args.checkpoint, args.method, args.n, args.data_dir)
    except CheckpointError:  # a ValueError too, but an unusable file: main's one line, exit 1
        raise
    except ValueError as e:  # umap not installed
        print(f"netlib: error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "model": meta["model"], **m.to_dict()}))
        return 0
    print(f"{args.checkpoint}: {meta['model']}'s last features ({m.vectors.shape[1]:,} numbers per digit) for "
          f"MNIST's first {m.count:,} test digits, by {TITLES[m.method]} ({len(m.misread):,} misread)")
    for key, label in LABELS.items():
        print(f"{label}: {m.separation[key]:.4f}")
    print("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in m.seconds.items()))
    print("digit        x          y  true  read  confidence")
    for i, ((x, y), t, p, c) in enumerate(zip(m.points, m.labels, m.predictions, m.confidence)):
        print(f"{i:>5} {x:>10.4f} {y:>10.4f} {t:>5} {p:>5}  {c:>10.4f}{'  misread' if t != p else ''}")
    return 0
