"""Steering a live run from the dashboard: pause, set a learning rate, back to the schedule, stop."""

from __future__ import annotations

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
    """The learning rate a run ended at (the default rate for +1 epoch)."""
    for e in reversed(run.events):
        if e.get("event") in ("batch", "epoch", "lr_change"):
            return e.get("lr", e.get("to"))
    return None
