"""What fine-tuning changed, measured: accuracy before and after, per digit, and the digits now read differently.

Held-out, training-digit and MNIST test accuracy, before (the start checkpoint) and after (the run's). A
fine-tuning run writes it once, at its end, to changes.json in its folder (netlib/runs/writer.py), so pages
read it without recomputing. It is measured on what the run trained from, kept in its folder when it starts
(keep_snapshot): a copy of the start checkpoint it loaded (start.pt) and the set as it was (set.npz: images,
labels, held-out split), so a set changed, renamed or deleted meanwhile, or a start checkpoint that a live run
overwrites, changes nothing; the changed digits' images are read from set.npz by their index."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..atomic import atomic_write
from ..bounded import FileRefused, read_bounded
from ..data import normalize
from ..engine.evaluate import EVAL_BATCH
from ..runs.files import first_line
from .base import SIDE, HandwritingSet

CHANGES = "changes.json"
MAX_CHANGES_BYTES = 1 << 20  # about 20 KB for a set of 1000 digits
START = "start.pt"  # the start checkpoint as the run loaded it
SNAPSHOT = "set.npz"  # the set as the run trained on it
MAX_SNAPSHOT_BYTES = 4 << 20  # 1000 digits of 784 bytes, uncompressed: 0.8 MB


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
                "held_out": bool(s.held_out[i])}
               for i in np.flatnonzero(set_before != set_after)]
    return {"set": s.name, "synthetic": s.synthetic, "set_size": len(s),
            "held_out": _scores(set_before[s.held_out], set_after[s.held_out], labels[s.held_out]),
            "training": _scores(set_before[~s.held_out], set_after[~s.held_out], labels[~s.held_out]),
            "mnist": _scores(test_before, test_after, test_labels), "changed": changed}


def compute_for_run(run_dir: Path) -> dict:
    """compute() for a fine-tuning run: the start weights it loaded vs its own, on the set as it trained on it
    and on its test data (all kept in its folder: keep_snapshot)."""
    from ..checkpoint import load_checkpoint
    from ..data import load_dataset
    from ..request import trained_on
    from ..runs.files import CHECKPOINT, CONFIG
    from ..runs.reader import read_json

    config = read_json(Path(run_dir) / CONFIG) or {}
    if not isinstance(config.get("finetune"), dict):
        raise ValueError(f"run {Path(run_dir).name} is not a fine-tuning run")
    s = read_snapshot(run_dir)
    before, _ = load_checkpoint(Path(run_dir) / START)
    after, _ = load_checkpoint(Path(run_dir) / CHECKPOINT)
    data_dir, synthetic = trained_on(config)
    data = load_dataset("cpu", data_dir, synthetic)
    return compute(before, after, s, data.test_x, data.test_y)


def keep_snapshot(run_dir: Path, data, finetune: dict):
    """A fine-tuning run's data (engine/finetune.py's TuneData) with what it trains from kept in run_dir: the
    start checkpoint (finetune: its TrainConfig.finetune) copied to start.pt, that copy being what the run
    loads, and the set to set.npz. A run folder
    that has them (+1 epoch) trains on them again. Other data is returned as it is."""
    from ..checkpoint import MAX_CHECKPOINT_BYTES
    from ..engine.finetune import TuneData
    from .data import tune_data

    if not isinstance(data, TuneData) or data.source is None or not isinstance(finetune, dict):
        return data
    run_dir = Path(run_dir)
    if (run_dir / SNAPSHOT).is_file() and (run_dir / START).is_file():
        data = tune_data(data, read_snapshot(run_dir), data.set_dir)
    else:
        start = read_bounded(Path(finetune["start_from"]), MAX_CHECKPOINT_BYTES)
        atomic_write(run_dir / START, lambda f: f.write(start))
        write_snapshot(run_dir, data.source)
    data.start_from = str(run_dir / START)
    return data


def write_snapshot(run_dir: Path, s: HandwritingSet) -> None:
    """Set s as a run trains on it (images, labels, held-out split) to run_dir/set.npz (read_snapshot)."""
    buf = io.BytesIO()
    np.savez_compressed(buf, images=s.images, labels=s.labels, held_out=s.held_out, name=np.str_(s.name),
                        synthetic=np.bool_(s.synthetic))
    atomic_write(Path(run_dir) / SNAPSHOT, lambda f: f.write(buf.getvalue()))


def read_snapshot(run_dir: Path) -> HandwritingSet:
    """The set a fine-tuning run trained on, as keep_snapshot kept it; ValueError (one line) if it has none
    or it is not what keep_snapshot writes."""
    try:
        with np.load(io.BytesIO(read_bounded(Path(run_dir) / SNAPSHOT, MAX_SNAPSHOT_BYTES)),
                     allow_pickle=False) as z:
            images, labels, held = z["images"], z["labels"], z["held_out"]
            name, synthetic = str(z["name"]), bool(z["synthetic"])
    except FileNotFoundError:
        raise ValueError(f"run {Path(run_dir).name} kept no copy of its set (started before runs kept one)") from None
    except (OSError, FileRefused, ValueError, KeyError) as e:
        raise ValueError(f"run {Path(run_dir).name}: its copy of the set cannot be read ({str(e)[:80]})") from None
    n = len(labels)
    if (images.dtype != np.uint8 or images.shape != (n, SIDE, SIDE) or held.shape != (n,) or held.dtype != bool
            or labels.dtype.kind not in "iu" or (n and not 0 <= labels.min() <= labels.max() <= 9)):
        raise ValueError(f"run {Path(run_dir).name}: its copy of the set is not what a run writes")
    return HandwritingSet(name, images, labels.astype(np.int64), held, synthetic)


def record(run_dir: Path) -> dict:
    """compute_for_run, written to run_dir/changes.json; a failure is written there as {"error": one line}
    (the run itself has trained: a copy unreadable must not fail it). Returns what was written."""
    try:
        out = compute_for_run(run_dir)
    except Exception as e:  # noqa: BLE001  any reason at all: one line for the page, never the run's failure
        out = {"error": f"what changed could not be measured: {first_line(e)[:300]}"}
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
