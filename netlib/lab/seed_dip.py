"""The seed-dip lesson's measured answer: the epoch 6 -> 7 change against the spread between recorded seeds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..runs.reader import read_events
from .lessons import DIP_LARGER, DIP_WITHIN, NO_DIP

SEED_DIR = "seed_repeats"  # under the shipped checkpoints
NAME = re.compile(r"residual-seed(\d+)\.metrics\.jsonl")
DIP_FROM, DIP_TO = 6, 7  # the seed script printed 99% at epoch 6 and 98% at epoch 7


def repeats_dir() -> Path:
    from .catalogue import shipped_dir

    return shipped_dir() / SEED_DIR


def read_repeats(folder: Optional[Path] = None) -> dict[int, list[float]]:
    """seed -> test accuracy after each epoch (1, 2, ...) of every recording in folder (default: the
    shipped one); {} when there is none. A recording that cannot be read is left out."""
    folder = Path(folder or repeats_dir())
    out = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.iterdir()):
        match = NAME.fullmatch(path.name)
        if not match:
            continue
        try:
            events = read_events(path)
        except OSError:  # FileRefused: a FIFO or a device in its place is never read
            continue
        epochs = sorted((e for e in events if e.get("event") == "epoch"), key=lambda e: e["epoch"])
        out[int(match.group(1))] = [e["test_acc"] for e in epochs]
    return out


def whole_percent(acc: float) -> str:
    """How a script printing whole percents shows an accuracy: 0.98501 -> '99%'."""
    return f"{100 * acc:.0f}%"


def seed_answer(curves: dict[int, list[float]], first: int = DIP_FROM, second: int = DIP_TO) -> dict:
    """Per seed the change from epoch `first` to `second`, the spread between seeds (max - min) at every
    epoch, and the verdict: the mean change against the larger spread of the two epochs.

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
    if all(v >= 0 for v in changes.values()):
        verdict = NO_DIP
    else:
        verdict = DIP_LARGER if -mean_change > noise else DIP_WITHIN
    printed = {s: (whole_percent(c[first - 1]), whole_percent(c[second - 1])) for s, c in complete.items()}
    out.update(verdicts={"dip": verdict}, spread=spread, changes=changes, mean_change=mean_change,
               noise=noise, printed=printed, first=first, second=second,
               table=[{"epoch": i + 1, **{f"seed {s}": round(100 * c[i], 2) for s, c in complete.items()},
                       "spread (points)": round(100 * spread[i], 2)} for i in range(epochs)])
    return out
