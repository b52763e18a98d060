"""How the dashboard describes runs: live progress, speed and accuracy (plain Python)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from .labels import network_label, recipe_label, short_label
from .reader import RunInfo

TARGET_ACC = 0.99  # "time to 99%" on the Compare page


# ---------------------------------------------------------------- progress of a live run
@dataclass
class Progress:
    fraction: float
    epoch: int
    epochs: int
    batch: int
    batches: int
    samples_per_s: Optional[float]
    seconds_left: Optional[float]

    @property
    def text(self) -> str:
        rate = f"{self.samples_per_s:,.0f} samples/s" if self.samples_per_s else "measuring speed"
        left = f"{format_seconds(self.seconds_left)} left" if self.seconds_left is not None else ""
        batch = f"batch {self.batch}/{self.batches}" if self.batches else ""
        return " · ".join(p for p in (f"epoch {self.epoch}/{self.epochs}", batch, rate, left) if p)


def progress(run: RunInfo) -> Progress:
    """Where a run is: fraction done, epoch, batch, speed and an estimate of the time left."""
    start = run.start
    total_epochs = start.get("epochs") or run.config.get("recipe", {}).get("epochs", 1)
    steps, n = start.get("steps_per_epoch", 0), start.get("samples", 0)
    done = run.epochs
    completed = len(done)
    last = run.batches[-1] if run.batches else None
    if last and last["epoch"] > completed:  # inside an epoch
        epoch, batch, seen = last["epoch"], last["batch"], last["samples"]
        rate = last["samples"] / last["seconds"] if last["seconds"] > 0 else None
    elif completed == 0:  # not begun: loading data, first batches
        epoch, batch, seen = 1, 0, 0
        rate = None
    else:  # between epochs
        epoch, batch, seen = completed, steps, 0
        rate = done[-1]["samples_per_s"] if done else None
    total = total_epochs * n
    trained = completed * n + seen
    fraction = 1.0 if run.status == "done" else (min(1.0, trained / total) if total else 0.0)
    left = None
    if run.live and rate and n:
        # time per finished epoch not spent training (evaluation, checkpoint) counts too
        overhead = max(0.0, (done[-1]["elapsed"] - sum(e["seconds"] for e in done)) / completed) if done else 0.0
        left = (total - trained) / rate + (total_epochs - completed) * overhead
    return Progress(fraction, epoch, total_epochs, batch, steps, rate, left)


def pct(x: Optional[float]) -> str:
    """A fraction as a percent with two decimals ("99.26%"), "—" for none."""
    return "—" if x is None else f"{100 * x:.2f}%"


def format_seconds(s: Optional[float]) -> str:
    if s is None or not math.isfinite(s):
        return "—"
    s = int(round(s))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


# ---------------------------------------------------------------- comparing runs
def run_stats(run: RunInfo) -> dict:
    """Speed and accuracy of one run: the Compare table's run columns."""
    epochs = run.epochs
    accs = [e["test_acc"] for e in epochs]
    hit = next((e for e in epochs if e["test_acc"] >= TARGET_ACC), None)
    return {
        "run": run.name,
        "label": short_label(run.name, run.config),
        "network": run.config.get("model", "?"),
        "network_label": network_label(run.config),
        "recipe": recipe_label(run.config),
        "status": run.status,
        "epochs": len(epochs),
        "s_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs) if epochs else None,
        "samples_per_s": sum(e["samples_per_s"] for e in epochs) / len(epochs) if epochs else None,
        "best_test_acc": max(accs) if accs else None,
        "final_test_acc": accs[-1] if accs else None,
        "time_to_99": hit["elapsed"] if hit else None,
    }


# What must match for two runs' times to be compared, and what to call it when it does not.
SAME_CONDITIONS = {"recipe_values": "recipe", "limit": "training images", "threads": "threads",
                   "device": "device"}


def cost_against_time(rows: list[dict]) -> Optional[str]:
    """For two finished runs of different networks, whether fewer multiply-adds meant less time, in
    words; rows carry network_label, macs, s_per_epoch and the SAME_CONDITIONS keys. None when there is
    nothing to say."""
    done = [r for r in rows if r.get("macs") and r.get("s_per_epoch")]
    if len(done) != 2 or done[0]["network_label"] == done[1]["network_label"]:
        return None
    cheap, dear = sorted(done, key=lambda r: r["macs"])
    if cheap["macs"] == dear["macs"]:
        return None
    differ = [word for key, word in SAME_CONDITIONS.items() if cheap.get(key) != dear.get(key)]
    if differ:
        return (f"{cheap['network_label']} and {dear['network_label']} ran under different conditions "
                f"({', '.join(differ)}), so their times per epoch say nothing about multiply-adds.")
    fewer = 100 * (1 - cheap["macs"] / dear["macs"])
    ratio = cheap["s_per_epoch"] / dear["s_per_epoch"]
    time_words = (f"took {100 * (1 - ratio):.0f}% less time per epoch" if ratio < 0.98 else
                  f"took {100 * (ratio - 1):.0f}% more time per epoch" if ratio > 1.02 else
                  "took about the same time per epoch")
    return (f"{cheap['network_label']} does {fewer:.0f}% fewer multiply-adds per digit than "
            f"{dear['network_label']} and {time_words} ({cheap['s_per_epoch']:.1f} s vs "
            f"{dear['s_per_epoch']:.1f} s, measured in these runs). Thin convolutions are often limited by "
            "memory traffic, not arithmetic, so multiply-adds predict time only roughly; runs that share the "
            "cores slow each other.")
