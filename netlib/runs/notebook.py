"""The lab notebook's listing: one row per run from its small files only (config, status, meta, a log tail)."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..bounded import FileRefused, open_regular
from .files import CONFIG, LIVE_STATUSES, METRICS, QUEUED, STATUS, UNREADABLE, default_runs_dir
from .labels import network_label, recipe_label
from .groups import accuracy_words, group_key, partition, stats
from .meta import Meta, read_meta
from .reader import read_status, run_index

TAIL_BYTES = 64 << 10  # of a metrics log, for runs whose status.json keeps no scores (older runs)


@dataclass
class Row:
    """One run as the notebook lists it."""

    name: str
    dir: Path
    status: str
    model: str = "?"
    network: str = "?"
    recipe: str = "?"
    meta: Meta = field(default_factory=Meta)
    final_acc: Optional[float] = None
    best_acc: Optional[float] = None
    epochs: int = 0
    seconds: Optional[float] = None
    started: Optional[datetime] = None
    ended: Optional[float] = None  # when status.json was last written (seconds since the epoch)
    queue_position: Optional[int] = None
    bytes: int = 0
    group: str = ""  # groups.group_key of its config: runs that differ only in seed share it
    seed: int = 0

    @property
    def label(self) -> str:
        return self.meta.label or self.name

    @property
    def archived(self) -> bool:
        return self.meta.archived


def tail_epochs(path: Path, most: int = TAIL_BYTES) -> tuple[list[dict], bool]:
    """(the epoch events in the last `most` bytes of a metrics log, whether that was the whole log)."""
    try:
        fd = open_regular(path)
    except (FileNotFoundError, FileRefused, PermissionError):
        return [], True
    try:
        size = os.fstat(fd).st_size
        os.lseek(fd, max(0, size - most), os.SEEK_SET)
        data = os.read(fd, most)
    finally:
        os.close(fd)
    lines = data.split(b"\n")[(1 if size > most else 0):]  # the first line of a tail is cut in two
    out = []
    for line in lines:
        if b'"epoch"' not in line:
            continue
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(event, dict) and event.get("event") == "epoch":
            out.append(event)
    return out, size <= most


def _number(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def scores(run_dir: Path, status: dict) -> tuple[Optional[float], Optional[float], Optional[float]]:
    """(final test accuracy, best test accuracy, training seconds): status.json keeps them for runs of
    this version; for older ones a tail of the log gives the final one, and the best only if the tail
    is the whole log (else None: nothing is claimed that was not read)."""
    final, best, seconds = (_number(status.get(k)) for k in ("test_acc", "best_test_acc", "elapsed"))
    if final is not None and best is not None:
        return final, best, seconds
    epochs, whole = tail_epochs(run_dir / METRICS)
    accs = [a for a in (_number(e.get("test_acc")) for e in epochs) if a is not None]
    if final is None and epochs:
        final, seconds = _number(epochs[-1].get("test_acc")), _number(epochs[-1].get("elapsed"))
    if best is None and whole and accs:
        best = max(accs)
    return final, best, seconds


def disk_bytes(path: Path) -> int:
    """What a folder takes on disk (links not followed: a link costs only itself)."""
    total = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                st = e.stat(follow_symlinks=False)
                total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
                if stat.S_ISDIR(st.st_mode):
                    total += disk_bytes(Path(e.path))
    except OSError:
        pass
    return total


def _mtime(path: Path) -> Optional[float]:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def make_row(entry) -> Row:
    """A run_index entry as a notebook row; a config or status that cannot be read leaves "?" and None."""
    d, config = entry.dir, entry.config if isinstance(entry.config, dict) else {}
    row = Row(entry.name, d, entry.status, meta=read_meta(d), bytes=disk_bytes(d))
    started = _mtime(d / CONFIG)  # written once, when the run started (an extension keeps it)
    row.started = datetime.fromtimestamp(started) if started else None
    row.ended = _mtime(d / STATUS)
    if entry.status == UNREADABLE:
        return row
    try:
        row.model, row.network, row.recipe = str(config.get("model", "?")), network_label(config), recipe_label(config, 6)
        seed = config.get("seed", 0)
        row.group, row.seed = group_key(config), seed if isinstance(seed, int) and not isinstance(seed, bool) else 0
    except (TypeError, ValueError, AttributeError, KeyError):  # a hand-edited config.json: still listed
        row.network = row.recipe = "?"
    status = read_status(d) or {}
    row.final_acc, row.best_acc, row.seconds = scores(d, status)
    epoch = status.get("epoch")
    row.epochs = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0
    row.queue_position = entry.queue_position  # run_index numbers the queue's line (None: not queued)
    return row


def notebook_rows(runs_dir: Optional[Path] = None, include_archived: bool = False) -> list[Row]:
    """Every run under runs_dir, newest first; archived ones only when asked."""
    rows = [make_row(e) for e in run_index(Path(runs_dir or default_runs_dir()))]
    return [r for r in rows if include_archived or not r.archived]


def total_bytes(runs_dir: Optional[Path] = None) -> int:
    """What the whole runs folder takes on disk, runs that are not listed included."""
    root = Path(runs_dir or default_runs_dir())
    return disk_bytes(root) if root.is_dir() else 0


def matches(row: Row, network: str = "", status: str = "", tag: str = "", text: str = "") -> bool:
    """A row the notebook's filters keep: "" for a filter means any."""
    if (network and row.network != network) or (status and row.status != status) or (tag and tag not in row.meta.tags):
        return False
    if not text:
        return True
    hay = " ".join([row.label, row.name, row.network, row.recipe, row.status, row.meta.notes, *row.meta.tags])
    return text.lower() in hay.lower()


def status_text(row: Row) -> str:
    """'queued, position 2' (1 = next to start), 'running', 'done'."""
    if row.status == QUEUED and row.queue_position:
        return f"{QUEUED}, position {row.queue_position}"
    return row.status


def is_live(row: Row) -> bool:
    return row.status in LIVE_STATUSES


def seed_groups(rows: list[Row]) -> list[list[Row]]:
    """The rows as groups of runs that differ only in seed (one rule with Compare: groups.partition); a
    row whose config could not be read stands alone."""
    groups = partition(rows, lambda r: r.group or f"{r.name} alone", lambda r: r.seed)
    return [sorted(g, key=lambda r: r.seed) for g in groups]


def group_summary(rows: list[Row]) -> dict:
    """One line for a group of seeds: its label, statuses, and the final test accuracy over the seeds
    that finished ('done'): mean, and in words with its band (min-max for 2, mean ± sd from 3)."""
    finals = [r.final_acc for r in rows if r.status == "done" and r.final_acc is not None]
    f = stats(0, finals) if finals else None
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {"label": f"{rows[0].network} · {rows[0].recipe} · {len(rows)} seeds",
            "status": ", ".join(f"{n} {status}" for status, n in counts.items()),
            "final_mean": f.mean if f else None, "words": accuracy_words(f, len(rows)),
            "seeds": sorted(r.seed for r in rows)}
