"""Where a network fails: one pass over a test set -> confusion matrix, per-class accuracy, misread digits."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch import nn

from ..data import normalize

CLASSES = 10
TOP_K = 3  # probabilities kept per digit: enough to show what else the network considered
# Digits per forward pass. Measured on the 2-core CPU, 1 thread, 10,000 digits: channels_last with
# batch 500 took 0.5 s (Residual) and 1.7 s (Inception), NCHW with batch 1000 1.5 s and 3.4 s.
BATCH = 500


@dataclass(frozen=True)
class Evaluation:
    """A network's answers on a labelled set of N digits (numpy arrays, small enough to cache)."""

    labels: np.ndarray  # N int64: the true digit
    predictions: np.ndarray  # N int64: what the network read (argmax)
    top_digits: np.ndarray  # N x k int64: its k most likely digits, most likely first
    top_probs: np.ndarray  # N x k float32: their probabilities
    true_probs: np.ndarray  # N float32: the probability it gave the true digit
    confusion: np.ndarray  # 10 x 10 int64: rows = true digit, columns = digit read
    per_class: np.ndarray  # 10 float64: accuracy per true digit (NaN for a digit absent from the set)
    accuracy: float  # over all N
    misclassified: np.ndarray  # indices of the wrong answers, most confident wrong answer first
    seconds: float  # wall time of the forward passes

    @property
    def count(self) -> int:
        return int(len(self.labels))

    @property
    def wrong(self) -> int:
        return int(len(self.misclassified))

    def misread(self, true: Optional[int] = None, read: Optional[int] = None) -> np.ndarray:
        """The misclassified indices (same order), only those of true digit `true` / read as `read`."""
        idx = self.misclassified
        if true is not None:
            idx = idx[self.labels[idx] == true]
        if read is not None:
            idx = idx[self.predictions[idx] == read]
        return idx

    def to_dict(self) -> dict:
        """Plain JSON-able summary (the CLI's --json)."""
        return {"samples": self.count, "accuracy": round(self.accuracy, 6), "wrong": self.wrong,
                "per_class": [None if np.isnan(a) else round(float(a), 6) for a in self.per_class],
                "confusion": self.confusion.tolist(), "seconds": round(self.seconds, 3),
                "most_confident_mistakes": [
                    {"index": int(i), "label": int(self.labels[i]), "read": int(self.predictions[i]),
                     "probability": round(float(self.top_probs[i, 0]), 6)}
                    for i in self.misclassified[:10]]}


def confusion_matrix(labels, predictions, classes: int = CLASSES) -> np.ndarray:
    """classes x classes counts, rows = true label, columns = prediction."""
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    flat = np.bincount(labels * classes + predictions, minlength=classes * classes)
    return flat[: classes * classes].reshape(classes, classes)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Diagonal / row sums: the fraction of each true class read correctly (NaN where a class is absent)."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / np.maximum(totals, 1), np.nan)


def summarize(labels, probs: torch.Tensor | np.ndarray, seconds: float = 0.0, top_k: int = TOP_K) -> Evaluation:
    """An Evaluation from the labels and the N x classes probabilities (softmax outputs)."""
    probs = torch.as_tensor(probs, dtype=torch.float32)
    labels = np.asarray(labels, dtype=np.int64)
    classes = probs.shape[1]
    top_p, top_d = probs.topk(min(top_k, classes), dim=1)  # sorted, most likely first
    predictions = top_d[:, 0].numpy().astype(np.int64)
    true_probs = probs[torch.arange(len(labels)), torch.from_numpy(labels)].numpy()
    confusion = confusion_matrix(labels, predictions, classes)
    wrong = np.flatnonzero(predictions != labels)
    # most confident wrong answer first; stable, so equal confidences keep test-set order
    order = np.argsort(-top_p[:, 0].numpy()[wrong], kind="stable")
    return Evaluation(labels=labels, predictions=predictions, top_digits=top_d.numpy().astype(np.int64),
                      top_probs=top_p.numpy(), true_probs=true_probs, confusion=confusion,
                      per_class=per_class_accuracy(confusion),
                      accuracy=float((predictions == labels).mean()) if len(labels) else float("nan"),
                      misclassified=wrong[order], seconds=float(seconds))


@torch.no_grad()
def evaluate(model: nn.Module, images, labels, batch_size: int = BATCH, top_k: int = TOP_K) -> Evaluation:
    """Run `model` over images in batches (no gradients) and summarise its answers.

    images: uint8 N x 28 x 28 (numpy or tensor; normalised here, batch by batch, the way training does)
    or float N x 1 x 28 x 28 already normalised. labels: N ints. The model itself is left untouched
    (the dashboard shares it between sessions): a channels_last copy in eval mode does the work.
    """
    images = torch.as_tensor(images)
    labels = np.asarray(labels, dtype=np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    try:
        device = next(model.parameters()).device
    except StopIteration:  # a model without parameters (tests)
        device = torch.device("cpu")
    t0 = time.perf_counter()
    net = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)
    chunks = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size]
        x = normalize(x) if x.dtype == torch.uint8 else x.to(torch.float32)
        x = x.to(device).contiguous(memory_format=torch.channels_last)
        chunks.append(torch.softmax(net(x).float(), dim=1).cpu())
    probs = torch.cat(chunks) if chunks else torch.zeros(0, CLASSES)
    return summarize(labels, probs, time.perf_counter() - t0, top_k)


def evaluate_checkpoint(path: Path, data_dir=None, batch_size: int = BATCH,
                        device="cpu") -> tuple[Evaluation, dict]:
    """(evaluation on MNIST's 10,000 test digits, checkpoint metadata) for a checkpoint file, run on `device`."""
    from ..checkpoint import load_checkpoint
    from ..data import load_mnist

    model, meta = load_checkpoint(Path(path))
    model = model.to(device)
    images, labels = load_mnist(False, data_dir)
    return evaluate(model, images, labels.numpy(), batch_size), meta


def format_report(ev: Evaluation) -> str:
    """The evaluation as text for a terminal: accuracy, per-class accuracy, the confusion matrix."""
    lines = [f"accuracy {100 * ev.accuracy:.2f}% ({ev.wrong:,} of {ev.count:,} wrong) in {ev.seconds:.2f} s",
             "per class: " + "  ".join(f"{d}: {'-' if np.isnan(a) else f'{100 * a:.2f}%'}"
                                       for d, a in enumerate(ev.per_class)),
             "confusion matrix (rows: true digit, columns: digit read):",
             "true " + "".join(f"{d:>6}" for d in range(ev.confusion.shape[1]))]
    for d, row in enumerate(ev.confusion):
        lines.append(f"{d:>4} " + "".join(f"{n:>6}" for n in row))
    return "\n".join(lines)
