"""The lab notebook's listing: one row per run from its small files only (config, status, meta, a log tail)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..bounded import FileRefused, read_tail
from .files import CONFIG, METRICS, QUEUED, STATUS, UNREADABLE, WAITING_STATUSES, default_runs_dir
from .labels import network_label, recipe_label, tuned_words
from .groups import accuracy_words, group_key, group_label, partition, stats
from .meta import Meta, read_meta
from .reader import parse_event, run_index

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
    extended: bool = False  # trained further by +1 epoch: no longer its recipe's experiment, so not grouped
    sweep: str = ""  # "lr-grid · trial 3": a trial of that sweep (netlib/sweeps)

    @property
    def label(self) -> str:
        return self.meta.label or self.name

    @property
    def archived(self) -> bool:
        return self.meta.archived


def tail_epochs(path: Path, most: int = TAIL_BYTES) -> tuple[list[dict], bool]:
    """(the epoch events in the last `most` bytes of a metrics log, whether that was the whole log)."""
    try:
        data, whole = read_tail(path, most)
    except (FileNotFoundError, FileRefused, PermissionError):
        return [], True
    lines = data.split(b"\n")[(0 if whole else 1):]  # the first line of a tail is cut in two
    out = []
    for line in lines:
        if b'"epoch"' not in line:
            continue
        event = parse_event(line)
        if event is not None and event.get("event") == "epoch":
            out.append(event)
    return out, whole


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


def disk_bytes(path: Path, known: Optional[dict] = None) -> int:
    """What a folder takes on disk (links not followed: a link costs only itself). known: {name: bytes}
    of folders directly inside it whose size is already measured (not walked again)."""
    total = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                st = e.stat(follow_symlinks=False)
                total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
                if stat.S_ISDIR(st.st_mode):
                    total += known[e.name] if known and e.name in known else disk_bytes(Path(e.path))
    except OSError:
        pass
    return total


def _mtime(path: Path) -> Optional[float]:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def was_extended(config: dict, status: dict) -> bool:
    """Trained past its recipe by +1 epoch, from the small files only: status.json says so (runs of this
    version), or (runs from before) it has more epochs than its recipe gives."""
    epochs, recipe = status.get("epoch"), config.get("recipe")
    planned = recipe.get("epochs") if isinstance(recipe, dict) else None
    numbers = all(isinstance(v, int) and not isinstance(v, bool) for v in (epochs, planned))
    return status.get("extended") is True or (numbers and epochs > planned)


def make_row(entry) -> Row:
    """A run_index entry as a notebook row; a config or status that cannot be read leaves "?" and None."""
    d, config = entry.dir, entry.config if isinstance(entry.config, dict) else {}
    row = Row(entry.name, d, entry.status, meta=read_meta(d), bytes=disk_bytes(d))
    # config.json is written when the run starts (an extension keeps it); a queued run's is its submit time
    started = None if entry.status in WAITING_STATUSES else _mtime(d / CONFIG)
    row.started = datetime.fromtimestamp(started) if started else None
    row.ended = _mtime(d / STATUS)
    if entry.status == UNREADABLE:
        return row
    try:
        row.model, row.network, row.recipe = str(config.get("model", "?")), network_label(config), tuned_words(config) or recipe_label(config, 6)
        seed = config.get("seed", 0)
        row.group, row.seed = group_key(config), seed if isinstance(seed, int) and not isinstance(seed, bool) else 0
    except (TypeError, ValueError, AttributeError, KeyError):  # a hand-edited config.json: still listed
        row.network = row.recipe = "?"
    status = getattr(entry, "status_json", None) or {}  # as run_index read it: not read twice
    row.extended, row.sweep = was_extended(config, status), sweep_text(config)
    row.final_acc, row.best_acc, row.seconds = scores(d, status)
    epoch = status.get("epoch")
    row.epochs = epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else 0
    if row.extended and row.recipe != "?":  # trained past its recipe: the recipe says the epochs it reached
        row.recipe = tuned_words(config) or recipe_label(config, 6, reached=row.epochs)
    row.queue_position = entry.queue_position  # run_index numbers the queue's line (None: not queued)
    return row


def sweep_text(config: dict) -> str:
    sweep = config.get("sweep")
    ok = isinstance(sweep, dict) and isinstance(sweep.get("name"), str) and isinstance(sweep.get("trial"), int)
    return f"{sweep['name'][:64]} · trial {sweep['trial']}" if ok else ""


def notebook_rows(runs_dir: Optional[Path] = None, include_archived: bool = False) -> list[Row]:
    """Every run under runs_dir, newest first; archived ones only when asked."""
    rows = [make_row(e) for e in run_index(Path(runs_dir or default_runs_dir()))]
    return [r for r in rows if include_archived or not r.archived]


def total_bytes(runs_dir: Optional[Path] = None, rows: Optional[list[Row]] = None) -> int:
    """What the whole runs folder takes on disk, runs that are not listed included. rows: the listing
    of every run (archived too) already made, whose sizes are used instead of walking their folders again."""
    root = Path(runs_dir or default_runs_dir())
    return disk_bytes(root, {r.name: r.bytes for r in rows or ()}) if root.is_dir() else 0


def matches(row: Row, network: str = "", status: str = "", tag: str = "", text: str = "") -> bool:
    """A row the notebook's filters keep: "" for a filter means any."""
    if (network and row.network != network) or (status and row.status != status) or (tag and tag not in row.meta.tags):
        return False
    if not text:
        return True
    hay = " ".join([row.label, row.name, row.network, row.recipe, row.status, row.sweep, row.meta.notes, *row.meta.tags])
    return text.lower() in hay.lower()


def place_in_line(status: str, position: Optional[int]) -> Optional[str]:
    """'queued, position 2' for a queued run, '+1 epoch queued, position 1' for an ended run whose +1 epoch
    waits in line (1 = next to start); None when nothing of the run waits."""
    if not position:
        return None
    return f"{QUEUED}, position {position}" if status == QUEUED else f"+1 epoch queued, position {position}"


def status_text(row: Row) -> str:
    """'queued, position 2', 'running', 'done', 'done, +1 epoch queued, position 1'."""
    place = place_in_line(row.status, row.queue_position)
    return row.status if place is None else place if row.status == QUEUED else f"{row.status}, {place}"


def seed_groups(rows: list[Row]) -> list[list[Row]]:
    """The rows as groups of runs that differ only in seed (one rule with Compare's groups.group_runs):
    a run extended by +1 epoch, an unreadable one, or one whose config could not be read stands alone."""
    def key_of(r: Row) -> str:
        return f"{r.name} alone" if r.status == UNREADABLE or r.extended or not r.group else r.group

    groups = partition(rows, key_of, lambda r: r.seed)
    return [sorted(g, key=lambda r: r.seed) for g in groups]


def statuses_text(rows: list[Row]) -> str:
    """A group's statuses, queued runs with their places in line: '1 done, 2 queued (positions 1 and 3)'."""
    by_status: dict[str, list[Row]] = {}
    for r in rows:
        by_status.setdefault(r.status, []).append(r)
    parts = []
    for state, runs in by_status.items():
        places = sorted(r.queue_position for r in runs if r.queue_position)
        where = ""
        if state == QUEUED and len(places) == len(runs):
            where = (f" (position {places[0]})" if len(places) == 1 else
                     f" (positions {', '.join(map(str, places[:-1]))} and {places[-1]})")
        parts.append(f"{len(runs)} {state}{where}")
    return ", ".join(parts)


def group_summary(rows: list[Row]) -> dict:
    """One line for a group of seeds: its label, statuses, the best test accuracy of any of its runs
    (None when a run that trained did not record its best: no best is claimed that was not seen), and
    the final test accuracy over the seeds that finished ('done'): mean, and in words with its band."""
    finals = [r.final_acc for r in rows if r.status == "done" and r.final_acc is not None]
    f = stats(0, finals) if finals else None
    bests = [r.best_acc for r in rows if r.best_acc is not None]
    unknown = any(r.best_acc is None and (r.epochs or r.final_acc is not None) for r in rows)
    return {"label": group_label(rows[0].network, rows[0].recipe, len(rows)), "status": statuses_text(rows),
            "best": max(bests) if bests and not unknown else None,
            "final_mean": f.mean if f else None, "words": accuracy_words(f, len(rows)),
            "seeds": sorted(r.seed for r in rows)}
