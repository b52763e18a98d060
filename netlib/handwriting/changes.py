"""What fine-tuning changed, measured: accuracy before and after, per digit, and the digits now read differently.

Held-out, training-digit and MNIST test accuracy, before (the start checkpoint) and after (the run's). A
fine-tuning run writes it once, at its end, to changes.json in its folder (netlib/runs/writer.py), so pages
read it without recomputing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_write
from ..bounded import FileRefused, read_bounded
from ..data import normalize
from .base import HandwritingSet

CHANGES = "changes.json"
MAX_CHANGES_BYTES = 1 << 20  # about 20 KB for a set of 1000 digits
EVAL_BATCH = 2000


@torch.no_grad()
def predictions(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """The digit model reads in each of x's normalised images (N x 1 x 28 x 28)."""
    model.eval()
    return torch.cat([model(x[i:i + EVAL_BATCH]).argmax(1) for i in range(0, len(x), EVAL_BATCH)]).cpu().numpy()


def _accuracy(pred: np.ndarray, labels: np.ndarray) -> Optional[float]:
    return float((pred == labels).mean()) if len(labels) else None


def _scores(before: np.ndarray, after: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy before and after, overall and per digit 0-9 (None for a digit with no examples)."""
    per = {"count": [int((labels == d).sum()) for d in range(10)], "before": [], "after": []}
    for d in range(10):
        mine = labels == d
        per["before"].append(_accuracy(before[mine], labels[mine]))
        per["after"].append(_accuracy(after[mine], labels[mine]))
    return {"n": int(len(labels)), "before": _accuracy(before, labels), "after": _accuracy(after, labels),
            "per_digit": per}


def compute(before: nn.Module, after: nn.Module, s: HandwritingSet, test_x: torch.Tensor,
            test_y: torch.Tensor) -> dict:
    """What changed from `before` to `after`: on the set's held-out digits, on the test set (x normalised,
    on the models' device) and, for every digit of the set, whether it is now read differently."""
    x = normalize(s.images).to(test_x.device)
    set_before, set_after = predictions(before, x), predictions(after, x)
    test_before, test_after = predictions(before, test_x), predictions(after, test_x)
    labels, test_labels = s.labels, test_y.cpu().numpy()
    changed = [{"index": int(i), "label": int(labels[i]), "before": int(set_before[i]), "after": int(set_after[i]),
                "held_out": bool(s.held_out[i]), **({"file": s.files[i]} if s.files else {})}
               for i in np.flatnonzero(set_before != set_after)]
    return {"set": s.name, "synthetic": s.synthetic, "set_size": len(s),
            "held_out": _scores(set_before[s.held_out], set_after[s.held_out], labels[s.held_out]),
            "training": _scores(set_before[~s.held_out], set_after[~s.held_out], labels[~s.held_out]),
            "mnist": _scores(test_before, test_after, test_labels), "changed": changed}


def compute_for_run(run_dir: Path, root: Optional[Path] = None) -> dict:
    """compute() for a fine-tuning run: its start checkpoint vs its own, on its set and its test data."""
    from ..checkpoint import load_checkpoint
    from ..data import load_dataset
    from ..request import trained_on
    from ..runs.files import CHECKPOINT, CONFIG
    from ..runs.reader import read_json
    from .sets import load_set

    config = read_json(Path(run_dir) / CONFIG) or {}
    finetune = config.get("finetune")
    if not isinstance(finetune, dict) or not isinstance(finetune.get("start_from"), str):
        raise ValueError(f"run {Path(run_dir).name} is not a fine-tuning run")
    before, _ = load_checkpoint(Path(finetune["start_from"]))
    after, _ = load_checkpoint(Path(run_dir) / CHECKPOINT)
    data_dir, synthetic = trained_on(config)
    data = load_dataset("cpu", data_dir, synthetic)
    s = load_set(root, str(finetune.get("handwriting")))
    return compute(before, after, s, data.test_x, data.test_y)


def record(run_dir: Path, root: Optional[Path] = None) -> dict:
    """compute_for_run, written to run_dir/changes.json; a failure is written there as {"error": one line}
    (the run itself has trained: a set deleted meanwhile must not fail it). Returns what was written."""
    try:
        out = compute_for_run(run_dir, root)
    except Exception as e:  # noqa: BLE001  any reason at all: one line for the page, never the run's failure
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        out = {"error": f"what changed could not be measured: {text[:300]}"}
    data = (json.dumps(out) + "\n").encode()
    atomic_write(Path(run_dir) / CHANGES, lambda f: f.write(data))
    return out


def read_changes(run_dir: Path) -> Optional[dict]:
    """A run's changes.json (bounded read), or None if it has none or it is not what record() writes."""
    try:
        obj = json.loads(read_bounded(Path(run_dir) / CHANGES, MAX_CHANGES_BYTES))
    except (OSError, FileRefused, ValueError):
        return None
    return obj if isinstance(obj, dict) else None
