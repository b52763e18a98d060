"""Steering a live run from the dashboard: pause, set a learning rate, back to the schedule, stop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..runs.control import request_stop, steer_run, stop_requested_at
from ..runs.reader import RunInfo


def pause(run_dir: Path, paused: bool = True) -> None:
    """Hold a live run at its next batch boundary (paused=False lets it go on)."""
    steer_run(run_dir, paused=paused)


def set_lr(run_dir: Path, lr: float) -> None:
    """Train a live run on at this constant learning rate from its next batch."""
    steer_run(run_dir, lr=float(lr))


def back_to_schedule(run_dir: Path) -> None:
    """Undo set_lr: the run's own schedule from its next batch, where it has got to by now."""
    steer_run(run_dir, schedule=True)


def stop(run_dir: Path) -> None:
    """Ask a run to stop at its next batch; its own process ends itself if it does not (runs.processes)."""
    request_stop(run_dir)


def stopping(run_dir: Path) -> bool:
    """Has a stop been asked of this run (by any tab, or the command line)?"""
    return stop_requested_at(run_dir) is not None


def last_lr(run: RunInfo) -> Optional[float]:
    """The learning rate a run ended at (or was held at by hand when it ended)."""
    for e in reversed(run.events):
        if e.get("event") in ("batch", "epoch", "lr_change"):
            return e.get("lr", e.get("to"))
    return None


# OneCycle ends at its peak / 1000 (engine/optim: div_factor 10 x final_div_factor 100): one more epoch at
# that rate moves nothing (a run went 96.87% -> 96.85% in 7 s). +1 epoch proposes the rate OneCycle's warm-up
# started from, a tenth of the peak: low enough to keep what the schedule's decay settled, high enough to move.
EXTEND_FRACTION = 0.1
FALLBACK_LR = 1e-3  # a config.json that names no rate (edited by hand)


@dataclass(frozen=True)
class ExtensionRate:
    """The constant rate +1 epoch proposes for an ended run, and why, in words for the page."""

    lr: float
    why: str


def extension_rate(config: dict, ended_at: Optional[float]) -> ExtensionRate:
    """The rate to train an ended run one more epoch at: the rate it ended at, unless its schedule decayed
    below a tenth of the peak (onecycle), where that tenth is proposed instead."""
    recipe = config.get("recipe") if isinstance(config.get("recipe"), dict) else {}
    peak = recipe.get("lr")
    peak = float(peak) if isinstance(peak, (int, float)) and peak > 0 else None
    if recipe.get("schedule") == "onecycle" and peak is not None:
        floor = peak * EXTEND_FRACTION
        if ended_at is None or ended_at < floor:
            ended = f"ended at {ended_at:.4g}, " if ended_at is not None else ""
            return ExtensionRate(floor, f"a tenth of the onecycle schedule's peak rate {peak:.4g}, where its "
                                        f"warm-up started: the run {ended}where the schedule's decay leaves "
                                        "it, a rate too small to move the network in one epoch")
        return ExtensionRate(float(ended_at), "the rate the run ended at (it stopped before its schedule "
                                              "decayed to a tenth of its peak)")
    if ended_at is not None:
        return ExtensionRate(float(ended_at), "the rate the run ended at, its recipe's constant rate")
    if peak is not None:
        return ExtensionRate(peak, "its recipe's rate")
    return ExtensionRate(FALLBACK_LR, "no rate is recorded for this run: a common starting point")
