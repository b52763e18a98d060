"""+1 epoch in the run queue: an ended run's extension.json, from the request to the process that takes it over.

The run's own files (status.json first) stay as they were until that process has taken the run over, so a
waiting, cancelled or failed +1 epoch leaves the run "done, N epochs", in its seed group. The file goes
through four states: waiting (in line by its `order`), started (a `pid`: the process the pump started, or
the terminal's `train --extend` that trains it itself), then removed by that process's writer once its
status says "running", or `failed` (its process ended before; the reason is said once). Rules:
docs/design.md ("The run queue"). The queue's lock is taken by the callers (netlib/runs/queue.py).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..request import RunRequest
from . import spawn
from .files import (CONFIG, ENDED_STATUSES, EXTENSION, PROCESS_LOG, QUEUED, TRAIN_STATE, UNREADABLE, RunDirError,
                    write_json)
from .processes import same_process, start_time, this_process
from .reader import last_line, launcher_left, read_json, read_status, waiting_extension
from .slots import held

WAITING, STARTED, FAILED = "waiting", "started", "failed"


@dataclass(frozen=True)
class Extension:
    """A +1 epoch of a run that is not over: waiting in line, started (its process has not taken the run
    over yet) or failed (reason: why, for the page once)."""

    state: str
    record: dict
    reason: str = ""

    @property
    def mine(self) -> bool:
        """Started, by the queue, for this process to train (a terminal's `train --extend`, or the
        process the pump started for it)."""
        return self.state == STARTED and _process(self.record) == list(this_process())


def look(run_dir: Path) -> Optional[Extension]:
    """The run's +1 epoch that is not over, or None: no extension.json (none asked, cancelled, or taken
    over and removed), one that cannot be read, or one whose process has taken the run over."""
    record = read_json(Path(run_dir) / EXTENSION, refused_as_missing=True)
    if record is None:
        return None
    if "failed" in record:
        return Extension(FAILED, record, str(record["failed"])[:300])
    if "pid" not in record:
        return Extension(WAITING, record)
    pid, started = record.get("pid"), record.get("started")
    status = read_status(run_dir) or {}
    if _process(status) == [pid, started] and _when(status) >= _when(record):
        return None  # its process wrote the run's status since: the run is its now (the file is left over)
    if not same_process(pid, started):
        return Extension(FAILED, record, "+1 epoch could not start: " + _last_words(run_dir, record))
    if launcher_left(record):  # the child's pid could never be recorded
        return Extension(FAILED, record, "+1 epoch could not start: its process could not be recorded")
    return Extension(STARTED, record)


def _last_words(run_dir: Path, record: dict) -> str:
    """What the process said last, if it wrote to process.log after the pump started it."""
    log = Path(run_dir) / PROCESS_LOG
    try:
        grew = log.stat().st_size > record.get("log", 0)
    except (OSError, TypeError):
        grew = False
    line = last_line(log) if grew and "log" in record else ""
    line = line.removeprefix("netlib: error: ")  # the command line's prefix says nothing on a page
    return line or f"its process ({record.get('pid')}) ended before it took the run over"


def _process(record: dict) -> list:
    return [record.get("pid"), record.get("started")]  # (pid, start time): one process, pid reuse aside


def _when(record: dict) -> float:
    updated = record.get("updated")
    return float(updated) if isinstance(updated, (int, float)) and not isinstance(updated, bool) else 0.0


def ask(run_dir: Path, epochs: int, lr: float, threads: Optional[int], worker: Optional[tuple],
        device: Optional[str] = None) -> None:
    """Under the queue lock: put run_dir's +1 epoch in line (extension.json; device: for its slots, default
    the run's). ValueError (one line) for a run that is not ended, has a +1 epoch in line or starting
    already, or no train state to go on from."""
    run_dir, name = Path(run_dir), Path(run_dir).name
    status = read_status(run_dir)
    if status is None or status["status"] == UNREADABLE:
        raise ValueError(f"run {name} cannot be extended: {status['reason'] if status else 'it has no status'}")
    if status["status"] not in ENDED_STATUSES:
        raise ValueError(f"run {name} is {status['status']}; extend it once it has ended")
    pending = look(run_dir)
    if pending is not None and pending.state != FAILED:
        where = "in line" if pending.state == WAITING else "starting"
        raise ValueError(f"run {name} has a +1 epoch {where} already")
    if not (run_dir / TRAIN_STATE).is_file():
        raise ValueError(f"run {name} has no saved train state ({TRAIN_STATE}): it finished no epoch")
    RunRequest(model="residual", epochs=int(epochs), lr=float(lr), threads=threads)  # RequestError: one line
    config = read_json(run_dir / CONFIG, refused_as_missing=True) or {}  # its device: the slots it takes
    now, device = time.time(), str(device or config.get("device", "cpu"))
    try:
        write_json(run_dir / EXTENSION, {"epochs": int(epochs), "lr": float(lr), "threads": threads, "device": device,
                                         "order": now, "submitted": now, **({"worker": [*worker]} if worker else {})})
    except OSError as e:
        raise RunDirError(f"cannot write to the run folder {run_dir}: {e.strerror or e}") from e


def holding(run_dir: Path, config: dict) -> tuple[int, int]:
    """In a pump: the slots an ended run's started +1 epoch holds until its process takes the run over. One
    whose process ended before is marked failed, its reason kept for the page (its slots are free)."""
    pending = look(run_dir)
    if pending is not None and pending.state == STARTED:
        return held(config, pending.record)
    if pending is not None and pending.state == FAILED and "failed" not in pending.record:
        fail(run_dir, pending.reason)
    return 0, 0


def check(record: dict) -> None:
    """A waiting +1 epoch as ask() writes it; ValueError (one line) otherwise (anyone who can write the run
    folder can write one)."""
    epochs, lr, threads = record.get("epochs"), record.get("lr"), record.get("threads")
    if epochs is None or lr is None:
        raise ValueError(f"{EXTENSION} names no epochs or no rate")
    RunRequest(model="residual", epochs=epochs, lr=lr, threads=threads)  # each option's type and range
    worker = record.get("worker")
    if worker is not None and not (isinstance(worker, list) and len(worker) == 2 and isinstance(worker[0], int)):
        raise ValueError(f"{EXTENSION}: its worker is not [pid, start time]")


def start(run_dir: Path, record: dict) -> bool:
    """In a pump: start a waiting +1 epoch. A terminal's `train --extend` (its `worker`) is told to train it
    itself; else its training process is started (netlib/runs/training.py). The file records the process
    before the queue lock goes, so no other pump starts it again; written first with the pump's own pid
    (a file that cannot be written starts nothing). The child waits for the lock (await_pump), so it finds
    its own pid there."""
    worker, proc = record.get("worker"), None
    if worker:
        if not same_process(*worker):
            fail(run_dir, f"+1 epoch could not start: the process that asked for it ({worker[0]}) has ended")
            return False
        return _record(run_dir, {**record, "pid": worker[0], "started": worker[1]})
    if not _record(run_dir, {**record, "pid": os.getpid(), "started": start_time(os.getpid()), "launcher": True}):
        return False
    try:
        log = (Path(run_dir) / PROCESS_LOG).stat().st_size if (Path(run_dir) / PROCESS_LOG).is_file() else 0
        proc = spawn.start_training(run_dir, extend=True)
        write_json(Path(run_dir) / EXTENSION, {**record, "pid": proc.pid, "started": start_time(proc.pid),
                                               "log": log, "updated": time.time()})
        return True
    except Exception as e:  # noqa: BLE001  a FIFO for its log, a full disk, no fork: never twice
        if proc is not None:
            proc.kill()  # it still waits for our lock: it has not trained or written anything
            proc.wait()
            spawn.forget(run_dir)
        fail(run_dir, f"+1 epoch could not start: {e}")
        return False


def _record(run_dir: Path, record: dict) -> bool:
    try:
        write_json(Path(run_dir) / EXTENSION, {**record, "updated": time.time()})
        return True
    except OSError:
        return False  # it waits for the next pump


def order_of(run_dir: Path) -> float:
    """Where what waits in run_dir stands in line: its order (a queued run's status.json, a +1 epoch's
    extension.json); now when it has none."""
    status = read_status(run_dir) or {}
    order = (status if status.get("status") == QUEUED else waiting_extension(run_dir) or {}).get("order")
    return order if isinstance(order, (int, float)) and not isinstance(order, bool) else time.time()


def reorder(run_dir: Path, order: float) -> bool:
    """Under the queue lock: a waiting +1 epoch's new place in line ("to front"); False when none waits."""
    record = waiting_extension(run_dir)
    return record is not None and _record(run_dir, {**record, "order": order})


def fail(run_dir: Path, reason: str) -> None:
    """The +1 epoch ended before it took the run over: the reason, kept until said (take_failure)."""
    try:
        write_json(Path(run_dir) / EXTENSION, {"failed": reason.splitlines()[0][:300] if reason else "failed"})
    except OSError:
        pass  # a folder that cannot be written: look() still derives the failure from the dead process


def cancel(run_dir: Path) -> bool:
    """Under the queue lock: a waiting +1 epoch leaves the line (the run stays as it was); False if none waits."""
    pending = look(run_dir)
    if pending is None or pending.state != WAITING:
        return False
    remove(run_dir)
    return True


def remove(run_dir: Path) -> None:
    try:
        (Path(run_dir) / EXTENSION).unlink(missing_ok=True)
    except OSError:
        pass


def withdraw(run_dir: Path) -> None:
    """Under the queue lock: remove the +1 epoch this process asked for to train itself (its worker), waiting
    or given its turn. One a pump started a process for stays: if that process fails, its log says why."""
    record = read_json(Path(run_dir) / EXTENSION, refused_as_missing=True) or {}
    if record.get("worker") == list(this_process()):
        remove(run_dir)


def take_failure(run_dir: Path) -> Optional[str]:
    """Under the queue lock: why the run's last +1 epoch could not start, once (the file goes), or None."""
    pending = look(run_dir)
    if pending is None or pending.state != FAILED:
        return None
    remove(run_dir)
    return pending.reason


def taken_over(run_dir: Path) -> None:
    """In the extension's process, once its status says "running": the run is its, the request is done."""
    record = read_json(Path(run_dir) / EXTENSION, refused_as_missing=True) or {}
    if [record.get("pid"), record.get("started")] == list(this_process()):
        remove(run_dir)

