"""A process that trains its own queued run (a sweep worker; `train` in a terminal) waits here for the
queue to give it the run's slots: the pump marks the run "starting" with this process's pid."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional

from . import queue
from .files import ENDED_STATUSES, STARTING
from .reader import read_status

POLL_S = 0.1  # how often a run waiting in line looks at its status
NO_STATUS_S = 30.0  # a claimed run whose status cannot be read this long has been deleted or broken
PUMP_EVERY_S = 2.0  # and starts the queue itself, in case no other process does


def wait_for_turn(run_dir: Path, should_stop: Callable[[], bool] = lambda: False,
                  waiting: Callable[[dict], None] = lambda status: None) -> Optional[tuple[str, str]]:
    """None once the run is this process's to train; else (status, reason): it ended before its turn
    (cancelled from a page, failed), its folder went, or should_stop() asked (then it is cancelled).
    waiting(status) is called at every look while the run waits in line."""
    last_pump = last_seen = time.monotonic()
    while True:
        status = read_status(run_dir) or {}
        if status:
            last_seen = time.monotonic()
        elif not Path(run_dir).is_dir() or time.monotonic() - last_seen > NO_STATUS_S:
            return "failed", "its run folder was deleted, or its status cannot be read"
        if status.get("status") == STARTING and status.get("pid") == os.getpid():
            return None
        if status.get("status") in ENDED_STATUSES:
            return status["status"], status.get("reason") or "it ended before it started"
        if should_stop():
            queue.cancel(run_dir)
            return "cancelled", "stopped before the run started"
        waiting(status)
        if time.monotonic() - last_pump > PUMP_EVERY_S:
            queue.pump(Path(run_dir).parent)
            last_pump = time.monotonic()
        time.sleep(POLL_S)
