"""The processes behind runs: is a pid alive, is it one of ours, and the training process's own
watchdog that ends it when a stop request goes unanswered."""

from __future__ import annotations

import os
import signal
import subprocess
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


def command_line(pid: int) -> Optional[list[bytes]]:
    """The process's argv, or None when it cannot be read (no /proc, hidepid, another user's ps)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        pass
    if Path("/proc/self/cmdline").exists():
        return None  # /proc is there but hides this pid: unknown, not "anything goes"
    try:  # no /proc at all (macOS, BSD): ask ps
        out = subprocess.run(["ps", "-p", str(int(pid)), "-o", "args="], capture_output=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split() if out.returncode == 0 and out.stdout.strip() else None


def is_trainer(pid: int) -> bool:
    """Is pid, as far as can be checked, a `python -m netlib train` process? False when unknown."""
    argv = command_line(pid)
    return argv is not None and b"netlib" in argv and b"train" in argv


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
        self._thread = threading.Thread(target=self._watch, name="netlib-stop-watchdog", daemon=True)

    def start(self) -> "StopWatchdog":
        self._thread.start()
        return self

    def close(self) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.wait(self.poll_s):
            try:
                asked = self.stop_file.stat().st_mtime
            except OSError:
                continue
            if time.time() - asked > self.after_s and not self._done.is_set():
                try:
                    self.on_overdue()
                finally:
                    os.kill(os.getpid(), signal.SIGKILL)
