"""The processes behind runs: is a pid alive, is it one of ours, the lock a process holds for its
lifetime, and the training process's own watchdog that ends it when a stop request goes unanswered.

The one liveness rule: wherever a run's files name a process (status.json, queued.json, a sweep's
worker file) they name it by (pid, start time), and same_process() alone judges it: a pid reused by a
later process has another start time. What must exclude another process (one +1 epoch at a time) is
an flock (HeldLock): the kernel drops it when its holder ends, however it ends.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional

from .files import STOP

KILL_AFTER_S = 5.0  # a stop request not honoured within this long ends the training process


def start_time(pid: int) -> Optional[int]:
    """When the process started, or None where it cannot be read. With the pid it names one process:
    a pid reused later has another start time."""
    return _start_time(_proc_stat(pid))


def same_process(pid: Optional[int], started: Optional[int]) -> bool:
    """Is the process that wrote (pid, started) still running? Without a start time to compare
    (an older status file, no /proc), a live pid is taken to be it. One read of /proc per call."""
    alive, fields = _look_up(pid)
    now = _start_time(fields) if alive and started is not None else None
    return alive and (now is None or now == started)


def this_process() -> tuple[int, Optional[int]]:
    """(pid, start time) of this process: how a run's files name it."""
    return os.getpid(), start_time(os.getpid())


def _look_up(pid: Optional[int]) -> tuple[bool, Optional[list[str]]]:
    """(does the process exist and is it no zombie, its /proc/PID/stat fields or None)."""
    # a pid read from a damaged file: not a number, or 0 / -1 / -PGID, which os.kill takes for a group
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False, None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False, None
    except PermissionError:  # it exists, it belongs to another user
        return True, _proc_stat(pid)
    fields = _proc_stat(pid)
    return fields is None or fields[0] != "Z", fields  # a zombie (killed, not yet reaped) is not live


def _proc_stat(pid: int) -> Optional[list[str]]:
    """/proc/PID/stat's fields after the command name (state first), or None where it cannot be read."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(fields: Optional[list[str]]) -> Optional[int]:
    try:
        return int(fields[19])  # field 22 of the whole line: clock ticks since boot
    except (TypeError, IndexError, ValueError):
        return None


class HeldLock:
    """An exclusive flock on a file, held until release() or the end of this process (a kill included:
    the kernel drops it, so a lock file left behind holds nothing). take() never waits: it returns None
    when another process (or another HeldLock of this one) holds it. The file may say who holds it
    (note()); that is for people, the flock alone decides."""

    def __init__(self, path: Path, fd: int):
        self.path, self._fd = Path(path), fd

    @classmethod
    def take(cls, path: Path) -> Optional["HeldLock"]:
        for _ in range(3):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise OSError(errno.EINVAL, "not a regular file", str(path))
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            except BaseException:
                os.close(fd)
                raise
            if _names(path, fd):
                return cls(path, fd)
            os.close(fd)  # its holder removed the file as we opened it: lock the one now in its place
        return None

    def note(self, text: str) -> None:
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text.encode(), 0)

    def release(self, remove: bool = True) -> None:
        """Let go; remove=True deletes the file first, while still held (so nobody locks a file that is
        gone: take() checks the path still names what it locked)."""
        if self._fd is None:
            return
        try:
            if remove:
                self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = None


def read_holder(path: Path) -> str:
    """Who a lock file says holds it ("" when it cannot be read): for a refusal's message."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        return os.pread(fd, 64, 0).decode("ascii", errors="replace").strip() if regular else ""
    finally:
        os.close(fd)


def _names(path: Path, fd: int) -> bool:
    """Does path still name the file open on fd?"""
    try:
        a, b = os.stat(path, follow_symlinks=False), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


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


@contextmanager
def signals_stop(stop, signals=(signal.SIGTERM,)):
    """While inside, these signals (SIGTERM: a shutdown, kill PID) call stop() instead: a clean stop at
    the next batch; the caller's own handlers are put back afterwards. Python lets only the main thread
    set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, lambda *_: stop()) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
