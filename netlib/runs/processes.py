"""The processes behind runs: is a pid alive, is it one of ours, and the training process's own
watchdog that ends it when a stop request goes unanswered."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Optional

from .files import STOP

KILL_AFTER_S = 5.0  # a stop request not honoured within this long ends the training process


def process_alive(pid: Optional[int]) -> bool:
    """Does a process with this pid exist (and is it not a zombie)?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it belongs to another user
        return True
    try:  # a zombie (killed, not yet reaped) is not a live trainer
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def start_time(pid: int) -> Optional[int]:
    """When the process started (clock ticks since boot, /proc/PID/stat field 22), or None where it
    cannot be read. With the pid it names one process: a pid reused later has another start time."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def same_process(pid: Optional[int], started: Optional[int]) -> bool:
    """Is the process that wrote (pid, started) still running? Without a start time to compare
    (an older status file, no /proc), a live pid is taken to be it."""
    if not process_alive(pid):
        return False
    now = start_time(pid) if started is not None else None
    return now is None or now == started


class StopWatchdog:
    """The training process's guard: once the run's STOP file is older than KILL_AFTER_S and the
    process is still here (stuck in data loading, a long evaluation, anything that does not reach a
    batch boundary), on_overdue() records the stop and the process ends itself with SIGKILL.

    It lives in the training process, so a stop is enforced whether or not any page watches the run.
    """

    def __init__(self, run_dir: Path, on_overdue: Callable[[], None], after_s: float = KILL_AFTER_S,
                 poll_s: float = 0.5):
        self.stop_file, self.on_overdue, self.after_s, self.poll_s = Path(run_dir) / STOP, on_overdue, after_s, poll_s
        self._done = threading.Event()
        self._lock = threading.Lock()  # close() and the decision to end the process exclude each other
        self._thread = threading.Thread(target=self._watch, name="netlib-stop-watchdog", daemon=True)

    def start(self) -> "StopWatchdog":
        self._thread.start()
        return self

    def close(self) -> None:
        """From now on the process is never ended by this watchdog (waits for a decision under way)."""
        with self._lock:
            self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(self.poll_s):
            try:
                asked = self.stop_file.stat().st_mtime
            except OSError:
                continue
            if time.time() - asked <= self.after_s:
                continue
            with self._lock:
                if self._done.is_set():  # the run ended on its own meanwhile
                    return
                try:
                    self.on_overdue()
                finally:
                    os.kill(os.getpid(), signal.SIGKILL)
