"""What a person does to runs by name: label, note, tag, archive, delete and prune; nothing outside the runs folder."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Iterable, Optional

from ..safepath import UnsafePath, inside, is_contained
from . import extension, queue
from .files import CONFIG, ENDED_STATUSES, LIVE_STATUSES, PROCESS_LOG, QUEUED, STATUS, UNREADABLE, RunDirError
from .meta import META, Meta, clean_label, clean_notes, clean_tag, clean_tags, read_meta, write_meta
from .notebook import Row, disk_bytes, notebook_rows
from .reader import read_status

# A folder without status.json may be a run whose process is still importing torch: left alone this long.
STARTING_GRACE_S = 300.0
DAY_S = 86_400.0


class RunRefused(Exception):
    """An operation not done (no such run, a live or queued run, unreadable metadata): one line, nothing changed."""


def shown(name) -> str:
    text = name if isinstance(name, str) else repr(name)
    return repr(text[:60] + ("…" if len(text) > 60 else ""))


def run_dir(runs_dir: Path, name: str, link_ok: bool = False) -> Path:
    """The folder of run `name`: a plain folder name directly inside runs_dir (UnsafePath otherwise, and
    nothing is touched), that exists and holds a run (RunRefused otherwise). Only real folders are runs:
    a link in runs_dir is refused (edits name the run itself), or with link_ok returned as the link
    (delete removes it, and only it)."""
    root = Path(runs_dir)
    if not isinstance(name, str):
        raise UnsafePath("a run name must be text")
    if "/" in name or "\\" in name or name.strip() in (".", ".."):
        raise UnsafePath(f"{shown(name)}: a run name is one folder name inside {root}, not a path")
    if link_ok and "\0" not in name and (root / name).is_symlink():
        return root / name  # the link itself (one name inside root), wherever it leads: delete unlinks it
    path = inside(root, name)  # NUL, absolute, '..', a link leading outside: refused
    if not os.path.lexists(path):
        raise RunRefused(f"no run named {shown(name)} in {root}")
    if path.is_symlink():
        if link_ok:
            return path
        raise RunRefused(f"{shown(name)} in {root} is a link to {shown(link_target(path))}, not a run: "
                         "name the run itself")
    if not path.is_dir():
        raise RunRefused(f"{shown(name)} in {root} is not a run folder")
    if not any(os.path.lexists(path / f) for f in (CONFIG, STATUS, PROCESS_LOG)):
        raise RunRefused(f"{shown(name)} in {root} is no run (no {CONFIG}, {STATUS} or {PROCESS_LOG}): left alone")
    return path


def _edit(runs_dir: Path, name: str, change) -> Meta:
    d = run_dir(runs_dir, name)
    meta = read_meta(d)
    if meta.problem:
        raise RunRefused(f"run {name}: {meta.problem}; nothing was changed (move {d / META} aside to start afresh)")
    new = change(meta)
    try:
        write_meta(d, new)
    except FileNotFoundError:
        raise RunRefused(f"run {name} is gone (deleted meanwhile?): nothing was written") from None
    return new


def set_label(runs_dir: Path, name: str, text: str) -> Meta:
    label = clean_label(text)
    return _edit(runs_dir, name, lambda m: dataclasses.replace(m, label=label))


def set_notes(runs_dir: Path, name: str, text: str) -> Meta:
    notes = clean_notes(text)
    return _edit(runs_dir, name, lambda m: dataclasses.replace(m, notes=notes))


def add_tags(runs_dir: Path, name: str, tags: Iterable[str]) -> Meta:
    new = [clean_tag(t) for t in tags]
    return _edit(runs_dir, name, lambda m: dataclasses.replace(m, tags=clean_tags([*m.tags, *new])))


def remove_tags(runs_dir: Path, name: str, tags: Iterable[str]) -> Meta:
    gone = {clean_tag(t) for t in tags}
    return _edit(runs_dir, name, lambda m: dataclasses.replace(m, tags=tuple(t for t in m.tags if t not in gone)))


def set_archived(runs_dir: Path, name: str, archived: bool = True) -> Meta:
    return _edit(runs_dir, name, lambda m: dataclasses.replace(m, archived=bool(archived)))


def link_target(link: Path) -> str:
    """What a link in the runs folder leads to: the run's folder name (the whole path when elsewhere)."""
    target = Path(os.path.realpath(link))
    return target.name if target.parent == Path(os.path.realpath(link.parent)) else str(target)


def why_kept(path: Path) -> Optional[str]:
    """Why the run at path may not be deleted now (live, queued, starting), or None when it may (a
    link may always go: removing it leaves the run it leads to as it is)."""
    if path.is_symlink():
        return None
    status = read_status(path)
    name = path.name
    if status is None:
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            age = 0.0
        return None if age > STARTING_GRACE_S else f"run {name} has no status yet (starting?): try again later"
    state = status["status"]
    if state in LIVE_STATUSES:
        return f"run {name} is {state}: stop it first"
    if state == QUEUED:
        return f"run {name} is queued: cancel it first"
    if state not in ENDED_STATUSES:
        return f"run {name} is {state}, not ended: cancel or stop it first"
    pending = extension.look(path)  # a +1 epoch whose process will train into this folder
    if pending is not None and pending.state == extension.WAITING:
        return f"run {name} has a +1 epoch in line: cancel it first"
    if pending is not None and pending.state == extension.STARTED:
        return f"run {name} has a +1 epoch starting: stop it once it runs"
    return None


def delete(runs_dir: Path, name: str) -> int:
    """Remove run `name`'s folder (a link: the link only); the bytes freed. RunRefused for a run that is
    live, queued or starting, with the reason."""
    path = run_dir(runs_dir, name, link_ok=True)
    try:
        with queue.locked(path.parent):  # no pump starts it (a queued run, a +1 epoch) between check and removal
            reason = why_kept(path)
            if reason:
                raise RunRefused(reason)
            return remove(path)
    except RunDirError as e:
        raise RunRefused(str(e)) from None


def remove(path: Path) -> int:
    """Remove a run folder, or a link (the link only, 0 bytes freed: what it leads to stays); the bytes
    freed. The links beside it that this leaves dangling (to the run, or through the link) go too."""
    link = path.is_symlink()
    size = 0 if link else disk_bytes(path)
    before = leading_links(path.parent)
    try:
        if link:
            path.unlink()
        else:
            shutil.rmtree(path)  # never follows a link inside (fd-based; refuses a folder swapped for a link)
    except FileNotFoundError:
        raise RunRefused(f"run {path.name} is gone already (deleted meanwhile?)") from None
    except OSError as e:
        raise RunRefused(f"could not delete run {path.name} completely: {e.strerror or e}") from None
    for other in before:
        if not other.exists():  # it led to what was just removed
            try:
                other.unlink()
            except FileNotFoundError:
                pass
    return size


def leading_links(root: Path) -> list[Path]:
    """The links directly inside root that lead somewhere inside root now (other names for its runs)."""
    try:
        with os.scandir(root) as it:
            links = [Path(e.path) for e in it if e.is_symlink()]
    except OSError:
        return []
    return [p for p in links if p.exists() and is_contained(root, p)]


@dataclasses.dataclass
class Doomed:
    row: Row
    reason: str


def prune_plan(runs_dir: Path, keep_best: Optional[int] = None, older_than_days: Optional[float] = None,
               now: Optional[float] = None) -> list[Doomed]:
    """The runs prune would delete. Only ended, unarchived runs whose files and metadata can be read are
    candidates (an unreadable run has no accuracy to rank: deleting it is a person's call); a run goes
    when every rule given selects it: outside the keep_best best (final test accuracy) of its network as
    built, and/or ended more than older_than_days ago."""
    if keep_best is None and older_than_days is None:
        raise ValueError("say what to prune: --keep-best N, --older-than DAYS, or both")
    now = time.time() if now is None else now
    rows = [r for r in notebook_rows(runs_dir, include_archived=True)
            if r.status in ENDED_STATUSES and r.status != UNREADABLE and not r.archived and not r.meta.problem]
    reasons: dict[str, list[str]] = {r.name: [] for r in rows}
    if keep_best is not None:
        by_network: dict[str, list[Row]] = {}
        for r in rows:
            by_network.setdefault(r.network, []).append(r)
        for network, group in by_network.items():
            group.sort(key=lambda r: (r.final_acc if r.final_acc is not None else -1.0, r.name), reverse=True)
            for r in group[keep_best:]:
                acc = f"{100 * r.final_acc:.2f}%" if r.final_acc is not None else "no accuracy"
                reasons[r.name].append(f"not among the {keep_best} best {network} runs ({acc})")
    if older_than_days is not None:
        for r in rows:
            when = r.ended or (r.started.timestamp() if r.started else now)
            if now - when > older_than_days * DAY_S:
                reasons[r.name].append(f"ended {(now - when) / DAY_S:.0f} days ago")
    wanted = (keep_best is not None) + (older_than_days is not None)
    return [Doomed(r, " and ".join(reasons[r.name])) for r in rows if len(reasons[r.name]) == wanted]


def prune(runs_dir: Path, plan: list[Doomed]) -> tuple[list[str], int, list[str]]:
    """Delete the planned runs, each checked again as it goes; (deleted names, bytes freed, refusals)."""
    deleted, freed, refused = [], 0, []
    for d in plan:
        try:
            freed += delete(runs_dir, d.row.name)
            deleted.append(d.row.name)
        except (RunRefused, UnsafePath) as e:
            refused.append(str(e))
    return deleted, freed, refused
