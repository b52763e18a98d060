"""The seed-dip lesson's measured answer: the epoch 6 -> 7 change against the spread between recorded seeds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..runs.reader import read_events
from .lessons import DIP_FROM, DIP_LARGER, DIP_TO, DIP_WITHIN, RISE_LARGER

SEED_DIR = "seed_repeats"  # under the shipped checkpoints
NAME = re.compile(r"residual-seed(\d+)\.metrics\.jsonl")
MODEL, RECIPE = "residual", "seed"  # what the seed script trained: a recording of anything else is refused


def repeats_dir() -> Path:
    from .catalogue import shipped_dir

    return shipped_dir() / SEED_DIR


@dataclass
class Repeats:
    curves: dict = field(default_factory=dict)  # seed -> test accuracy after each epoch (1, 2, ...)
    starts: dict = field(default_factory=dict)  # seed -> its recording's start event
    refused: dict = field(default_factory=dict)  # seed -> why its recording is left out


def read_repeats(folder: Optional[Path] = None) -> Repeats:
    """The recordings in folder (default: the shipped one); empty when there is none. A recording that
    cannot be read, or that is not the seed script's network and recipe, is refused with the reason."""
    folder = Path(folder or repeats_dir())
    out = Repeats()
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        match = NAME.fullmatch(path.name)
        if not match:
            continue
        seed = int(match.group(1))
        try:
            events = read_events(path)
        except OSError:  # FileRefused: a FIFO or a device in its place is never read
            out.refused[seed] = "not a regular file"
            continue
        start = next((e for e in events if e.get("event") == "start"), {})
        if (start.get("model"), start.get("recipe")) != (MODEL, RECIPE):
            out.refused[seed] = (f"not the seed recipe's recording ({start.get('model', 'no model')}, "
                                 f"{start.get('recipe', 'no')} recipe; the seed script trained {MODEL} "
                                 f"with the {RECIPE} recipe)")
            continue
        epochs = sorted((e for e in events if e.get("event") == "epoch"), key=lambda e: e["epoch"])
        out.curves[seed], out.starts[seed] = [e["test_acc"] for e in epochs], start
    return out


def whole_percent(acc: float) -> str:
    """How a script printing whole percents shows an accuracy: 0.98501 -> '99%'."""
    return f"{100 * acc:.0f}%"


def seed_answer(curves: dict[int, list[float]], first: int = DIP_FROM, second: int = DIP_TO) -> dict:
    """Per seed the change from epoch `first` to `second`, the spread between seeds (max - min) at every
    epoch, and the verdict: the seeds' mean change against the larger spread of the two epochs (a fall
    larger than it, a rise larger than it, or within it).

    Seeds with fewer than `second` epochs (a recording cut short, a run still going) are listed in
    'incomplete' and left out; with fewer than two complete seeds there is no spread: verdict None.
    """
    complete = {s: c for s, c in sorted(curves.items()) if len(c) >= second}
    incomplete = sorted(set(curves) - set(complete))
    out = {"seeds": sorted(complete), "incomplete": incomplete, "verdicts": {"dip": None}}
    if len(complete) < 2:
        out["reason"] = (f"needs at least two seeds with {second} epochs recorded; found "
                         f"{len(complete)}" + (f" (incomplete: seed {', '.join(map(str, incomplete))})"
                                               if incomplete else ""))
        return out
    accs = list(complete.values())
    epochs = min(len(c) for c in accs)
    spread = [max(c[i] for c in accs) - min(c[i] for c in accs) for i in range(epochs)]
    changes = {s: c[second - 1] - c[first - 1] for s, c in complete.items()}
    mean_change = sum(changes.values()) / len(changes)
    noise = max(spread[first - 1], spread[second - 1])
    verdict = DIP_WITHIN if abs(mean_change) <= noise else DIP_LARGER if mean_change < 0 else RISE_LARGER
    printed = {s: (whole_percent(c[first - 1]), whole_percent(c[second - 1])) for s, c in complete.items()}
    out.update(verdicts={"dip": verdict}, spread=spread, changes=changes, mean_change=mean_change,
               noise=noise, printed=printed, first=first, second=second,
               table=[{"epoch": i + 1, **{f"seed {s}": round(100 * c[i], 2) for s, c in complete.items()},
                       "spread (points)": round(100 * spread[i], 2)} for i in range(epochs)])
    return out


VERDICT_WORDS = {DIP_LARGER: "a fall larger than the spread", DIP_WITHIN: "within the spread",
                 RISE_LARGER: "a rise larger than the spread"}


def answer_words(answer: dict) -> str:
    """The measured answer in words, in the question's terms: the seeds' mean change from epoch `first`
    to `second` against the spread between seeds; then why a printed 1-point dip can be noise."""
    a, b = answer["first"], answer["second"]
    low, high = 0.9849, 0.9851  # either side of a whole-percent boundary: an example of the rounding
    return (f"From epoch {a} to {b} the seeds' mean test accuracy changes by "
            f"**{100 * answer['mean_change']:+.2f} points**; at those epochs the seeds differ by up to "
            f"**{100 * answer['noise']:.2f} points** (spread = best minus worst seed). So the change is "
            f"**{VERDICT_WORDS[answer['verdicts']['dip']]}**. The seed script printed whole percents: "
            f"{100 * low:.2f}% prints as {whole_percent(low)} and {100 * high:.2f}% as {whole_percent(high)}, "
            "so a 1-point 'dip' in its output can be a change of a few hundredths of a point across a "
            "rounding boundary.")
