"""A finished run's checkpoint on MNIST's test set, in a report: the confusion matrix, accuracy per digit
and the digits it misreads most confidently (as Results shows them), the digits inline as PNG images."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

from ..charts import evaluation as charts
from ..charts.style import model_color
from ..request import trained_on
from ..runs.files import CHECKPOINT
from ..runs.reader import RunInfo
from .document import Document, note, paragraph, png_uri, text

MISREAD_SHOWN = 12  # as Results' first screen: the most confident mistakes


def evaluable(run: RunInfo) -> bool:
    """Only a finished run's checkpoint is its result (a live run rewrites it every epoch)."""
    return run.status == "done" and (run.dir / CHECKPOINT).is_file()


def digit_png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8), "L").save(buf, "PNG", optimize=True)
    return buf.getvalue()


def misread_cards(ev, images: np.ndarray, shown: int = MISREAD_SHOWN) -> str:
    """The most confident mistakes as small cards: the digit, what it is, what was read and how sure."""
    cards = []
    for i in (int(i) for i in ev.misclassified[:shown]):
        odds = " · ".join(f"{d}: {100 * p:.0f}%" for d, p in zip(ev.top_digits[i], ev.top_probs[i]) if p >= 0.005)
        cards.append(f'<div class="digit"><img alt="test digit {i}" src="{png_uri(digit_png(images[i]))}">'
                     f"#{i}<br>true <b>{int(ev.labels[i])}</b> → read <b>{int(ev.predictions[i])}</b>"
                     f"<br><span class=muted>{text(odds)}</span></div>")
    return f'<div class="digits">{"".join(cards)}</div>' if cards else ""


def test_set(data_dir: Optional[Path]):
    """(uint8 N x 28 x 28 images, labels) of MNIST's test set; loaded once per process."""
    from ..data import load_mnist

    images, labels = load_mnist(False, data_dir)
    return images.numpy(), labels.numpy()


def evaluate_run(run: RunInfo, data_dir: Optional[Path] = None):
    """(Evaluation, test images) of the run's checkpoint; the errors a reader can act on are raised."""
    from ..analysis.evaluation import evaluate
    from ..checkpoint import load_checkpoint

    model, _ = load_checkpoint(run.dir / CHECKPOINT)
    images, labels = test_set(data_dir or trained_on(run.config)[0])
    return evaluate(model, images, labels), images


def section(doc: Document, run: RunInfo, data_dir: Optional[Path] = None) -> None:
    """The run's checkpoint read on every test digit; a note instead when it cannot be (no MNIST here, a
    damaged checkpoint): the rest of the report stands."""
    if not evaluable(run):
        return
    from ..checkpoint import CheckpointError
    from ..mnist import DataError

    doc.heading("Where it fails (MNIST test set)", 3)
    try:
        ev, images = evaluate_run(run, data_dir)
    except (CheckpointError, DataError, OSError, ValueError) as e:
        doc.add(note(f"Not evaluated: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"))
        return
    worst = int(np.nanargmin(ev.per_class)) if np.isfinite(ev.per_class).any() else None
    doc.add(paragraph(f"The final checkpoint read every one of the {ev.count:,} test digits: accuracy "
                      f"{100 * ev.accuracy:.2f}%, {ev.wrong:,} misread"
                      + (f"; hardest digit {worst}." if worst is not None else ".")))
    color = model_color(run.config.get("model", ""))
    doc.add_row(doc.figure(charts.confusion_figure(ev.confusion)),
                doc.figure(charts.per_class_figure(ev.per_class, color)))
    if ev.wrong:
        doc.add(paragraph(f"Misread digits, the most confident mistakes first (the first "
                          f"{min(MISREAD_SHOWN, ev.wrong)} of {ev.wrong:,}):", "muted"))
        doc.add(misread_cards(ev, images))
