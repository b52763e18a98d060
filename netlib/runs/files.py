"""A run folder's file names, where runs live, run names, the one-line error for an unwritable folder, and
logs opened to append (torch-free: the queue opens a training process's log in light commands)."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from pathlib import Path

from ..bounded import describe, not_a_folder
from ..atomic import atomic_write
from ..safepath import inside

CONFIG, METRICS, STATUS, CHECKPOINT, STOP, CONTROL, TRAIN_STATE, EXTEND_LOCK, PROCESS_LOG = (
    "config.json", "metrics.jsonl", "status.json", "checkpoint.pt", "STOP", "control.json",
    "train_state.pt", "extend.lock", "process.log")
LIVE_STATUSES = ("running", "paused")  # a process is working on the run (or holding it paused)
QUEUED, STARTING, CANCELLED = "queued", "starting", "cancelled"  # the run queue's (netlib/runs/queue.py)
WAITING_STATUSES = (QUEUED, STARTING)  # in line for CPU slots, or its process is being started
UNREADABLE = "unreadable"  # a reader's status for a run whose files are not regular files (or too big)
FAILED_STATUSES = ("failed", "diverged", "interrupted", UNREADABLE, CANCELLED)  # ended without a usable result
# Over: no process works on the run and none will (queued and starting runs are still to come).
PRUNED = "pruned"  # a sweep's trial stopped early: its accuracy per epoch was behind the other trials'
ENDED_STATUSES = ("done", "stopped", PRUNED, *FAILED_STATUSES)
QUEUED_FILE, QUEUE_LOCK = "queued.json", ".queue.lock"  # a queued run's command; the runs folder's lock
EXTENSION = "extension.json"  # an ended run's +1 epoch in the run queue, until its process takes the run over
MAX_JSON_BYTES = 1 << 20  # config.json, status.json, control.json: a few hundred bytes each
RUNS_ENV = "NETLIB_RUNS_DIR"


def first_line(e: BaseException) -> str:
    """An exception as one line (a run's reason, a command's error): an OS error as "path: what"."""
    if isinstance(e, KeyboardInterrupt):
        return "interrupted"
    if isinstance(e, OSError) and e.filename and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV, "runs"))


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))


def safe_run_name(text: str) -> str:
    """A name that is one plain path component: letters, digits, '-', '_' and '.' only."""
    name = re.sub(r"(?:[^A-Za-z0-9_.-]|\.{2,})+", "-", text).strip(".-")[:80]  # "a/../b" -> "a-b"
    return name or "run"


def new_run_name(model: str, recipe: str) -> str:
    return safe_run_name(f"{time.strftime('%Y%m%d-%H%M%S')}-{model}-{recipe}-{os.getpid() % 1000:03d}")


class RunDirError(RuntimeError):
    """A runs or run folder that cannot be written (not a folder, not writable, disk full): one clear line."""


class RunBusy(ValueError):
    """A run that another process is already extending."""


def ensure_runs_dir(root: Path) -> Path:
    """The runs folder, created if missing; RunDirError (one line) when it cannot be."""
    root = Path(root)
    kind = not_a_folder(root)
    if kind:
        raise RunDirError(f"cannot write to the runs folder {root}: it is {kind}, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"cannot write to the runs folder {root}: {e.strerror or e}") from e
    return root


def claim_run_dir(root: Path, name: str) -> Path:
    """A fresh folder root/name (or name-2, name-3, ...), claimed with mkdir: two launches in the same
    second never share one."""
    run_dir, n = inside(root, name), 1
    while True:
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:
            n += 1
            run_dir = inside(root, f"{name}-{n}")
        except OSError as e:
            raise RunDirError(f"cannot write to the runs folder {root}: {e.strerror or e}") from e


def open_log(path: Path, text: bool = False):
    """A log opened to append: created if missing, refused (RunDirError) if something other than a
    regular file is in its place. O_NONBLOCK: a FIFO without a reader fails at once, never waits."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    except OSError as e:
        if e.errno == errno.ENXIO:  # a FIFO nobody reads, or a socket
            raise RunDirError(f"{path}: refused, it is a FIFO or a socket, not a regular file") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RunDirError(f"{path}: refused, it is {describe(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8") if text else os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise
