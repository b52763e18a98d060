"""How a reader steers a run: the STOP file and control.json, both read by the training process
at its next batch boundary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from ..bounded import read_text_bounded
from .files import CONTROL, MAX_JSON_BYTES, STOP, write_json


def read_control(run_dir: Path) -> dict:
    """control.json: {"paused": bool, "lr": float or null}; {} when absent or unreadable."""
    try:  # a FIFO or a device in its place is ignored like a damaged file, never waited on
        wanted = json.loads(read_text_bounded(Path(run_dir) / CONTROL, MAX_JSON_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(wanted, dict):
        return {}
    lr = wanted.get("lr")
    ok_lr = isinstance(lr, (int, float)) and not isinstance(lr, bool) and 0 < lr < float("inf")
    return {"paused": wanted.get("paused") is True, "lr": float(lr) if ok_lr else None}


def steer_run(run_dir: Path, paused: Optional[bool] = None, lr: Optional[float] = None,
              schedule: bool = False) -> dict:
    """Ask a live run to pause/resume, to train on at learning rate lr, or (schedule=True) to go back
    to its recipe's schedule; applied at its next batch."""
    if lr is not None and not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
        raise ValueError(f"the learning rate must be a number greater than 0, not {lr!r}")
    wanted = read_control(run_dir) or {"paused": False, "lr": None}
    if paused is not None:
        wanted["paused"] = bool(paused)
    if lr is not None:
        wanted["lr"] = float(lr)
    if schedule:
        wanted["lr"] = None
    write_json(Path(run_dir) / CONTROL, wanted)
    return wanted


def request_stop(run_dir: Path) -> None:
    """Cooperative stop: the engine sees the file at its next batch boundary."""
    (Path(run_dir) / STOP).touch()


def stop_requested_at(run_dir: Path) -> Optional[float]:
    try:
        return (Path(run_dir) / STOP).stat().st_mtime
    except OSError:
        return None
