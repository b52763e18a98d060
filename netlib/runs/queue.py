"""The run queue: CPU threads and GPU shares are slots; a run that does not fit waits "queued" for a pump."""

# No daemon: pump() runs when a training process ends, when the dashboard draws its sidebar and on every
# CLI call; the runs folder's .queue.lock makes exactly one of them start each run. A queued run is only
# files (config.json, queued.json, status.json): it survives a restart; so is an ended run's +1 epoch in
# line (extension.json, netlib/runs/extension.py). Rules: docs/design.md ("The run queue").

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional, Sequence

from .files import (CANCELLED, ENDED_STATUSES, LIVE_STATUSES, QUEUE_LOCK, QUEUED, QUEUED_FILE,
                    STARTING, STATUS, CONFIG, RunDirError, claim_run_dir, default_runs_dir, ensure_runs_dir,
                    write_json)
from ..request import RunRequest
from .command import QueueRefused, Submission, read_queued
from . import extension, spawn
from .processes import same_process, start_time
from .reader import queue_order, read_status, run_index, waiting_extension
from .slots import DEFAULT_GPU_SLOTS, GPU_SLOTS_ENV, SLOTS_ENV, cpu_slots, gpu_slots, held, need  # noqa: F401


@contextmanager
def locked(root: Path):
    """The runs folder's queue lock, held exclusively; released when the block ends (or the process dies).
    The descriptor is not inherited: a training process started under the lock never holds it."""
    path = Path(root) / QUEUE_LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    except OSError as e:
        raise RunDirError(f"cannot lock the run queue {path}: {e.strerror or e}") from e
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RunDirError(f"{path}: refused, it is not a regular file")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def submit(runs_dir: Path, runs: list[Submission], worker: Optional[tuple] = None) -> list[Path]:
    """Enqueue runs together (in this order, none of another submitter's between them), then pump once.
    QueueRefused before anything is written if a run's options would not be run. worker (pid, start
    time): a process that trains the runs itself when their turn comes (a sweep worker): the pump then
    marks them "starting" with its pid instead of starting a training process."""
    root = ensure_runs_dir(runs_dir)
    made: list[Path] = []
    with locked(root):
        now = time.time()
        try:
            for i, s in enumerate(runs):
                made.append(claim_run_dir(root, s.name))
                write_json(made[-1] / CONFIG, {**s.config, "request": s.request.to_dict()})
                write_json(made[-1] / QUEUED_FILE, {"request": s.request.to_dict(), "submitted": now,
                                                    **({"worker": list(worker)} if worker else {})})
                # the status last: until it is there, the folder is no run and no pump looks at it
                write_json(made[-1] / STATUS, {"status": QUEUED, "reason": "", "order": now + i * 1e-6,
                                               "submitted": now, "updated": now})
        except BaseException as e:
            for d in made:
                shutil.rmtree(d, ignore_errors=True)  # nothing half-made is left to look like a run
            if isinstance(e, OSError) and not isinstance(e, RunDirError):
                raise RunDirError(f"cannot write to the runs folder {root}: {e.strerror or e}") from e
            raise
    pump(root)
    return made


def enqueue(runs_dir: Path, requests: Sequence[RunRequest], tag: str = "") -> list[Path]:
    """The runs a page or a lesson asks for, each resolved as its training process will resolve it, then
    submitted together. ValueError (one line) for options that cannot train: nothing is enqueued."""
    return submit(runs_dir, [Submission.of(r, tag=tag) for r in requests])


def pump(runs_dir: Optional[Path] = None, index: Optional[list] = None) -> list[Path]:
    """Start every queued run and +1 epoch that fits, first in line first; the folders started. Never
    raises: its callers (the sidebar, every CLI call, a training run ending) must not fail for a queue
    problem; a run that cannot start is marked failed with the reason, and anything else waits.

    index: a run_index() listing the caller has already read (the sidebar): with no queued run in it,
    nothing more is read. First come first served, strictly: a run that does not fit holds the ones
    behind it (a big run is never starved by a stream of small ones); "to front" changes the order.
    """
    started: list[Path] = []
    try:
        _pump(Path(runs_dir or default_runs_dir()), index, started)
    except Exception:  # noqa: BLE001  the runs already started are in `started` and recorded on disk
        pass
    return started


def _pump(root: Path, index: Optional[list], started: list) -> None:
    spawn.reap()
    if index is not None and not any(e.queue_position for e in index):
        return
    if index is None and not queue_order(root):
        return
    with locked(root):
        # a symlinked run folder is the same run under a second name: never counted or started twice
        entries = [e for e in run_index(root) if not e.dir.is_symlink()]
        _fail_unlisted(root, {e.dir.name for e in entries})
        cpu, gpu = 0, 0
        for e in entries:  # a dead process's run reads "interrupted" or "failed": its slots are free
            c, g = (held(e.config, e.status_json.get("holds"))
                    if e.status in (*LIVE_STATUSES, STARTING) else extension.holding(e.dir, e.config))
            cpu, gpu = cpu + c, gpu + g
        for entry in sorted((e for e in entries if e.queue_position), key=lambda e: e.queue_position):
            try:  # a queued run, or an ended run's +1 epoch
                (c, g), start = _next(entry)
            except QueueRefused as e:
                _set_status(entry.dir, "failed", f"refused to start from the queue: {e}")
                continue
            except ValueError as e:
                extension.fail(entry.dir, f"+1 epoch refused to start from the queue: {e}")
                continue
            if cpu + c > cpu_slots() or gpu + g > gpu_slots():
                break
            if start():
                cpu, gpu = cpu + c, gpu + g
                started.append(entry.dir)


def _next(entry) -> tuple:
    """((CPU, GPU) slots, how to start it) of what waits in line in a run folder: QueueRefused (a queued
    run's queued.json) or ValueError (a +1 epoch's extension.json) when it is not what was written."""
    if entry.status == QUEUED:
        req, worker = read_queued(entry.dir)
        return need(req.threads, req.device), lambda: _claimed(entry.dir, worker) if worker else _start(entry.dir)
    record = waiting_extension(entry.dir) or {}
    extension.check(record)
    return held(entry.config, record), lambda: extension.start(entry.dir, record)


def _fail_unlisted(root: Path, listed: set) -> None:
    """Fail what waits in run folders run_index skips (no readable config.json): else it waits unseen for ever."""
    for d in queue_order(root):
        if d.name in listed or d.is_symlink():
            continue
        why = f"refused to start from the queue: its {CONFIG} is missing or unreadable"
        if (read_status(d) or {}).get("status") == QUEUED:
            _set_status(d, "failed", why)
        else:
            extension.fail(d, f"+1 epoch {why}")


def _claimed(run_dir: Path, worker: list) -> bool:
    """A run its own worker trains: "starting" with the worker's pid (it starts when it sees it)."""
    if not same_process(*worker):
        _set_status(run_dir, "failed", f"the process that trains it ({worker[0]}) ended before the run's turn")
        return False
    try:
        _write_status(run_dir, {"status": STARTING, "reason": "", "pid": worker[0], "started": worker[1],
                                "updated": time.time()})
        return True
    except (OSError, RunDirError):
        return False


def _start(run_dir: Path) -> bool:
    """Start the training process of a queued run. "starting" is written first: a run whose status cannot
    be written is never started (a later pump would start it again); the child's pid follows. The child
    waits for the queue lock (await_pump), so these statuses are written before its own."""
    proc = None
    try:
        # this process's pid until the child has one: a reader takes "starting" with no live pid for a
        # run that failed to start, and a launcher's "starting" that is not replaced in LAUNCH_GRACE_S
        # (the disk filled between the two writes) for one that never started
        _write_status(run_dir, {"status": STARTING, "reason": "", "pid": os.getpid(), "launcher": True,
                                "started": start_time(os.getpid()), "updated": time.time()})
        proc = spawn.start_training(run_dir)
        _write_status(run_dir, {"status": STARTING, "reason": "", "pid": proc.pid,
                                "started": start_time(proc.pid), "updated": time.time()})
        return True
    except Exception as e:  # noqa: BLE001  a full disk, a folder deleted meanwhile, no fork: never twice
        if proc is not None:
            proc.kill()  # it still waits for our lock: it has not trained or written anything
            proc.wait()
            spawn.forget(run_dir)
        _set_status(run_dir, "failed", f"the training process could not be started: {e}")
        return False


def _write_status(run_dir: Path, obj: dict) -> None:
    """status.json of a run folder that exists (write_json would make a deleted one again); RunDirError."""
    if not Path(run_dir).is_dir():
        raise RunDirError(f"{run_dir}: the run folder is gone")
    write_json(Path(run_dir) / STATUS, obj)


def _set_status(run_dir: Path, status: str, reason: str) -> None:
    try:
        _write_status(run_dir, {"status": status, "reason": reason, "updated": time.time()})
    except (OSError, RunDirError):
        pass  # a folder that cannot be written keeps its status; the next pump tries again


def await_pump(run_dir: Path) -> None:
    """In a training process: wait until no pump holds the queue lock of the runs folder around run_dir
    (the one that started this process has then recorded it). Nothing when there is no queue there."""
    root = Path(run_dir).parent
    if (root / QUEUE_LOCK).is_file():
        try:
            with locked(root):
                pass
        except RunDirError:
            pass


def cancel(run_dir: Path) -> bool:
    """A queued run stops waiting: status "cancelled", an ended run that never trained; its folder stays
    (the config it asked for, until it is deleted). A +1 epoch in line leaves it; the run stays as it was.
    False when nothing of run_dir waits in line (started, or ended)."""
    run_dir = Path(run_dir)
    with locked(run_dir.parent):
        status = read_status(run_dir)
        if status and status["status"] == QUEUED:
            try:
                _write_status(run_dir, {**status, "status": CANCELLED, "reason": "cancelled before it started",
                                        "updated": time.time()})
            except RunDirError:
                return False
        elif not extension.cancel(run_dir):
            return False
    pump(run_dir.parent)  # what waited behind it in line may fit now
    return True


def end_claimed(run_dir: Path, reason: str) -> None:
    """A worker's own run that it could not train: "failed", unless it has ended already (a run left
    "starting" under a live worker's pid would hold its slots for as long as the worker lives)."""
    status = read_status(run_dir)
    if status is None or status["status"] not in ENDED_STATUSES:
        _set_status(run_dir, "failed", reason)


def to_front(run_dir: Path) -> bool:
    """What waits in line in run_dir (a queued run, a +1 epoch) goes first, then a pump (it may fit now).
    False when nothing of it waits in line."""
    run_dir = Path(run_dir)
    with locked(run_dir.parent):
        line = queue_order(run_dir.parent)
        if run_dir.name not in [d.name for d in line]:
            return False
        order, status = extension.order_of(line[0]) - 1, read_status(run_dir) or {}
        try:
            if status.get("status") == QUEUED:
                _write_status(run_dir, {**status, "order": order, "updated": time.time()})
            elif not extension.reorder(run_dir, order):
                return False
        except RunDirError:
            return False
    pump(run_dir.parent)
    return True


def extend(run_dir: Path, epochs: int, lr: float, threads: Optional[int] = None, worker: Optional[tuple] = None,
           device: Optional[str] = None) -> None:
    """An ended run's +1 epoch (`epochs` more at constant rate lr) goes in line like a queued run, then a
    pump: the run stays as it is until the extension's process takes it over. worker (pid, start time):
    a process that trains it itself (`train --extend` in a terminal). ValueError (one line) for a run
    that is not ended, has a +1 epoch in line or starting already, or has no train state."""
    run_dir = Path(run_dir).resolve()  # through a link: the real folder, as the pump sees it
    with locked(run_dir.parent):
        extension.ask(run_dir, epochs, lr, threads, worker, device)
    pump(run_dir.parent)


def take_failure(run_dir: Path) -> Optional[str]:
    """Why run_dir's last +1 epoch could not start, once (then forgotten), or None; under the lock, so a
    +1 epoch asked meanwhile (another tab, a terminal) is never removed with the failure it replaces."""
    with locked(Path(run_dir).parent):
        return extension.take_failure(run_dir)


def position(run_dir: Path) -> Optional[int]:
    """What waits in run_dir's place in line (1 = next to start), None when nothing of it is in line."""
    run_dir = Path(run_dir)
    names = [d.name for d in queue_order(run_dir.parent)]
    return names.index(run_dir.name) + 1 if run_dir.name in names else None
