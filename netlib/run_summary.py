"""How the dashboard describes runs: labels, live progress, speed and accuracy (plain Python)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from .recipes import RECIPES, Recipe, recipe_for
from .runs import RunInfo

TARGET_ACC = 0.99  # "time to 99%" on the Compare page


# ---------------------------------------------------------------- labels
def recipe_label(config: dict) -> str:
    """'seed', 'fast', 'fast, 3 epochs' (one or two fields changed) or 'custom' (more changed)."""
    name = config.get("recipe_name", "?")
    if name not in RECIPES:
        return name
    # Compare with the recipe as it applies to this network, so its own adjustments are no "change".
    used, base = config.get("recipe", {}), recipe_for(name, config.get("model")).to_dict()
    changed = {k: v for k, v in used.items() if k in base and base[k] != v}
    if not changed:
        return name
    if len(changed) > 2:
        return "custom"
    words = {"epochs": lambda v: f"{v} epoch{'s' if v != 1 else ''}", "batch_size": lambda v: f"batch {v}",
             "lr": lambda v: f"lr {v:g}", "augment": lambda v: "augmented" if v else "no augmentation"}
    return ", ".join([name] + [words.get(k, lambda v, k=k: f"{k} {v}")(v) for k, v in changed.items()])


def run_time(name: str) -> str:
    """'05:50:56' from a run named like 20261128-055056-model-recipe-NNN; else the name itself."""
    m = re.match(r"(\d{8})-(\d{2})(\d{2})(\d{2})-", name)
    return f"{m.group(2)}:{m.group(3)}:{m.group(4)}" if m else name


def network_label(config: dict) -> str:
    """'residual', or 'plain ×3' for a network stacked deeper than published (blocks per stage)."""
    blocks = (config.get("model_kwargs") or {}).get("blocks", 1)
    return f"{config.get('model', '?')}" + (f" ×{blocks}" if blocks != 1 else "")


def short_label(name: str, config: dict) -> str:
    """'inception · fast, 3 epochs · 05:50:56': what a legend or a table row calls a run."""
    return f"{network_label(config)} · {recipe_label(config)} · {run_time(name)}"


def describe_recipe(r: Recipe) -> str:
    parts = [f"{r.optimizer.upper() if r.optimizer == 'sgd' else r.optimizer.capitalize()} "
             f"lr {r.lr:g}" + (f", momentum {r.momentum:g}" if r.optimizer == "sgd" else ""),
             f"batch {r.batch_size}", f"{r.epochs} epoch{'s' if r.epochs != 1 else ''}",
             f"{r.schedule} schedule", "augmentation" if r.augment else "no augmentation"]
    return " · ".join(parts)


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


def model_cost(model: str, blocks: int = 1) -> dict:
    """Parameters and forward multiply-adds per sample, from the per-layer table."""
    from .inspection import layer_table

    top = [r for r in layer_table(model, **({"blocks": blocks} if blocks != 1 else {})) if r["depth"] == 0]
    return {"params": sum(r["params"] for r in top), "macs": sum(r["macs"] for r in top)}
