"""Reading run folders: a run's status (a dead process reads "interrupted"), its events, the one
listing of every run under a runs folder, and the run queue's order."""

from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from ..bounded import FileRefused, chunks, open_regular, read_tail, read_text_bounded
from ..safepath import is_contained
from .files import (CHECKPOINT, CONFIG, ENDED_STATUSES, EXTENSION, LIVE_STATUSES, MAX_JSON_BYTES, METRICS,
                    PROCESS_LOG, QUEUED, STARTING, STATUS, UNREADABLE, WAITING_STATUSES, default_runs_dir)
from .labels import network_label, recipe_label
from .processes import same_process

LAUNCH_GRACE_S = 60.0  # the queue replaces its own "starting" with the child's within milliseconds
EPOCH_EVENTS = ("batch", "epoch", "lr_change", "pause", "resume")
# What one read of a metrics log takes at most: a 100-epoch Inception run logs about 5 MB.
MAX_METRICS_BYTES = 64 << 20
MAX_EVENTS = 500_000


@dataclass
class RunEntry:
    """One run folder as listed (pickers, the sidebar): read from config.json and status.json only."""

    dir: Path
    config: dict
    status: str
    queue_position: Optional[int] = field(default=None, kw_only=True)  # 1 = next to start; None: not in line
    # status.json as run_index read it (read_status's view; {} when not kept): listings reuse it, not re-read it
    status_json: dict = field(default_factory=dict, kw_only=True, repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def model(self) -> str:
        return self.config.get("model", "?")

    @property
    def recipe(self) -> str:
        return recipe_label(self.config)

    @property
    def network(self) -> str:
        """'plain ×3': the model and its depth when not as published."""
        return network_label(self.config)

    @property
    def has_checkpoint(self) -> bool:
        return (self.dir / CHECKPOINT).is_file()

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def waiting(self) -> bool:
        """Queued, or its process is being started: neither live nor ended."""
        return self.status in WAITING_STATUSES

    @property
    def label(self) -> str:
        return f"{self.name} ({self.status})"


@dataclass
class RunInfo(RunEntry):
    """What a reader (UI, CLI) knows of a run directory at one moment: its listing plus why it has its
    status and every event of its metrics log."""

    reason: str = ""
    events: list = field(default_factory=list)

    @property
    def epochs(self) -> list[dict]:
        return [e for e in self.events if e.get("event") == "epoch"]

    @property
    def batches(self) -> list[dict]:
        return [e for e in self.events if e.get("event") == "batch"]

    @property
    def start(self) -> dict:
        """The last start event: a run extended by +1 epoch has one per process, the last knows the
        total epochs and the layers whose gradients are recorded."""
        return next((e for e in reversed(self.events) if e.get("event") == "start"), {})


def read_json(path: Path, refused_as_missing: bool = False) -> Optional[dict]:
    """A small JSON object file, or None when it is missing or not (yet) a complete JSON object.

    FileRefused (a FIFO, a device, a folder, a file over MAX_JSON_BYTES) is raised, not hidden: a run
    folder holding such a thing reads as "unreadable", with the reason. refused_as_missing: None for it
    instead (the queue's own files, extension.json: a refused one is no request).
    """
    try:
        value = json.loads(read_text_bounded(path, MAX_JSON_BYTES))
    except (OSError, ValueError, RecursionError) as e:  # RecursionError: '[[[[...' nested past Python's limit
        if isinstance(e, FileRefused) and not refused_as_missing:
            raise
        return None
    return value if isinstance(value, dict) else None


def read_status(run_dir: Path) -> Optional[dict]:
    """status.json as readers should see it: a "running" run whose process is gone is "interrupted". Cheap
    (no metrics read): pickers and the sidebar call it for every run on every rerun."""
    try:
        status = read_json(Path(run_dir) / STATUS)
    except FileRefused as e:
        return {"status": UNREADABLE, "reason": str(e)}
    if status is None:
        return None
    status.setdefault("status", "failed")
    status.setdefault("reason", "")
    if status["status"] in LIVE_STATUSES and not same_process(status.get("pid"), status.get("started")):
        status["status"] = "interrupted"
        status["reason"] = "the training process ended without finishing (killed or crashed)"
    elif status["status"] == STARTING and not same_process(status.get("pid"), status.get("started")):
        # the queue started a process that ended before it opened the run (refused its arguments, killed)
        line = last_line(Path(run_dir) / PROCESS_LOG)
        status["status"] = "failed"
        status["reason"] = "the training process ended before training began" + (f": {line}" if line else "")
    elif status["status"] == STARTING and launcher_left(status):
        # the queue's own "starting", never replaced by the child's: the process could not be recorded (a
        # full disk) and was killed; its slots are free and the run can be deleted
        status["status"] = "failed"
        status["reason"] = "the training process could not be started (its status could not be written)"
    return status


def launcher_left(record: dict) -> bool:
    """A pump's own record of a process it started (a queued run's "starting", a +1 epoch's extension.json)
    that the child's pid has not replaced in LAUNCH_GRACE_S: the process could not be recorded."""
    updated = record.get("updated")
    ok = isinstance(updated, (int, float)) and not isinstance(updated, bool)
    return bool(record.get("launcher")) and ok and time.time() - updated > LAUNCH_GRACE_S


def last_line(path: Path, max_bytes: int = 4096) -> str:
    """The last non-empty line of a log (within its last max_bytes), "" when there is none."""
    try:
        data, _ = read_tail(path, max_bytes)
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").strip().splitlines()
    return lines[-1].strip()[:300] if lines else ""


def waiting_extension(run_dir: Path) -> Optional[dict]:
    """The +1 epoch of an ended run that waits in the queue (its extension.json, no process yet), or None."""
    ext = read_json(Path(run_dir) / EXTENSION, refused_as_missing=True)
    return ext if ext is not None and not {"pid", "failed"} & ext.keys() else None


def _line_key(status: Optional[dict], run_dir: Path) -> Optional[tuple]:
    """Where a run folder stands in the queue's line (None: not in it): a queued run by its status's order, an
    ended run's +1 epoch by its extension.json's (submission time; "to front" makes it the smallest)."""
    what = (status or {}).get("status")
    waits = status if what == QUEUED else waiting_extension(run_dir) if what in ENDED_STATUSES else None
    if waits is None:
        return None
    order = waits.get("order")
    ok = isinstance(order, (int, float)) and not isinstance(order, bool) and order == order
    return (order if ok else float("inf"), run_dir.name)


def queue_order(runs_dir: Path) -> list[Path]:
    """The run folders with a queued run or a waiting +1 epoch under runs_dir, first in line first."""
    root, line = Path(runs_dir), []
    if not root.is_dir():
        return []
    for d in root.iterdir():
        if d.is_dir() and not d.is_symlink() and is_contained(root, d):  # a link is no run
            key = _line_key(read_status(d), d)
            if key:
                line.append((key, d))
    return [d for _, d in sorted(line)]


def quick_status(run_dir: Path) -> Optional[str]:
    """The run's status without reading its metrics."""
    status = read_status(run_dir)
    return status["status"] if status else None


def read_events(path: Path, max_bytes: int = MAX_METRICS_BYTES, max_events: int = MAX_EVENTS) -> list[dict]:
    """The events of a metrics log as far as it is written now: at most max_bytes and max_events per
    call, never waiting for more (a live run appends while this reads). FileRefused for a FIFO or a
    device; [] when there is no log yet. A page watching a run reads it with follow.RunFollower instead:
    the same events, reading only what was appended since its last look."""
    try:
        fd = open_regular(path)
    except FileNotFoundError:
        return []
    try:
        data = b"".join(chunks(fd, max_bytes))
    finally:
        os.close(fd)
    events = (parse_event(line) for line in data.split(b"\n", max_events)[:max_events])
    return [e for e in events if e is not None]


def parse_event(line: bytes) -> Optional[dict]:
    """One line of a metrics log as an event; None for a line that is no JSON object (one being written
    right now: it is complete on the next read)."""
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


def without_redone_epochs(events: list[dict]) -> list[dict]:
    """A run stopped (or diverged) in epoch k and then extended restarts from epoch k: the events of
    the abandoned partial epoch k are dropped so charts and "the rate it ended at" skip them."""
    return functools.reduce(add_event, events, [])


def add_event(kept: list[dict], event: dict) -> list[dict]:
    """without_redone_epochs one event at a time (a follower's new events): kept, the events so far
    without redone epochs, with event added; kept itself is extended unless a restart drops some."""
    if event.get("event") == "start" and event.get("first_epoch", 1) > 1:
        first = event["first_epoch"]
        kept = [o for o in kept if not (o.get("event") in EPOCH_EVENTS and o.get("epoch", 0) >= first)]
    kept.append(event)
    return kept


def _head(run_dir: Path) -> Optional[tuple[dict, dict]]:
    """(config, status) of a run folder from its two small files; None if it is no run (yet). A config
    that is a FIFO, a device or too big makes the run "unreadable", with the reason."""
    try:
        config = read_json(run_dir / CONFIG)
    except FileRefused as e:
        return {}, {"status": UNREADABLE, "reason": str(e)}
    status = read_status(run_dir) if config is not None else None
    return None if status is None else (config, status)


def read_run(run_dir: Path) -> Optional[RunInfo]:
    """Everything about one run, its whole metrics log included; None if it is no run (yet)."""
    return read_run_with(Path(run_dir), lambda path: without_redone_epochs(read_events(path)))


def read_run_with(run_dir: Path, events_of: Callable[[Path], list[dict]]) -> Optional[RunInfo]:
    """read_run with the events (redone epochs dropped) of the metrics log at a path as events_of gives
    them: read_run reads the whole log, a follower (follow.RunFollower) only what is new."""
    head = _head(run_dir)
    if head is None:
        return None
    config, status = head
    if status["status"] == UNREADABLE:
        return RunInfo(run_dir, config, UNREADABLE, status["reason"])
    try:
        events = events_of(run_dir / METRICS)
    except OSError as e:  # FileRefused, or a log that cannot be opened (no permission)
        return RunInfo(run_dir, config, UNREADABLE, str(e) if isinstance(e, FileRefused) else
                       f"{run_dir / METRICS}: {e.strerror or e}")
    line = [d.name for d in queue_order(run_dir.parent)] if _line_key(status, run_dir) else []
    position = line.index(run_dir.name) + 1 if run_dir.name in line else None
    return RunInfo(run_dir, config, status["status"], status["reason"], events, queue_position=position)


def run_index(runs_dir: Optional[Path] = None) -> list[RunEntry]:
    """Every run under runs_dir, newest first, read from config.json and status.json only.

    Only real folders are runs: a symlink in runs_dir (to a run beside it, or leading outside) is
    skipped, never read, listed, ranked or loaded; the run it names is listed once, under its own name.
    """
    root = Path(runs_dir or default_runs_dir())
    if not root.is_dir():
        return []
    out, line = [], []
    for d in sorted((p for p in root.iterdir() if not p.is_symlink() and p.is_dir() and is_contained(root, p)),
                    reverse=True):
        head = _head(d)
        if head is not None:
            out.append(RunEntry(d, head[0], head[1]["status"], status_json=head[1]))
            key = _line_key(head[1], d)
            if key:
                line.append((key, out[-1]))
    for i, (_, entry) in enumerate(sorted(line, key=lambda item: item[0]), 1):
        entry.queue_position = i
    return out


def list_runs(runs_dir: Optional[Path] = None) -> list[RunInfo]:
    """Every run under runs_dir, newest first, with its events (the listing of run_index, read whole)."""
    runs = [read_run(entry.dir) for entry in run_index(runs_dir)]
    return [r for r in runs if r is not None]
