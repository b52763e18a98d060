"""The dashboard's side of starting runs: the request a page's settings make, the batch and rate it will
train with, +1 epoch of an ended run (through the run queue), and what a launched process that has not
written its status yet is doing (no streamlit)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..bounded import read_tail
from ..runs.files import PROCESS_LOG, STATUS, TRAIN_STATE, UNREADABLE, RunDirError
from ..runs import extension, queue, spawn
from ..runs.reader import RunInfo, read_status
from ..names import DEFAULT_WIDTH, DEPTH_MODELS, WIDTH_MODELS
from ..request import RunRequest

SYNTHETIC_ENV = "NETLIB_LAB_SYNTHETIC"  # N: runs the UI starts train on N synthetic digits (tests, demos)
START_GRACE_S = 90.0  # a launched run that has written no status after this long has failed



def request_for(model: str, recipe: str, overrides: Optional[dict] = None, limit: Optional[int] = None,
                seed: int = 0, device: str = "auto", blocks: int = 1, width: int = DEFAULT_WIDTH,
                threads: Optional[int] = None) -> RunRequest:
    """The request a page's settings make: the shape options its network takes (a page keeps both
    sliders), the person's recipe overrides, and NETLIB_LAB_SYNTHETIC's digits (tests, demos)."""
    shape = {"blocks": int(blocks)} if model in DEPTH_MODELS else {"width": int(width)} if model in WIDTH_MODELS else {}
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    return RunRequest(model=model, recipe=recipe, seed=int(seed), device=device, limit=int(limit) if limit else None,
                      threads=threads, synthetic=synthetic_from_env(), **shape, **given)


def synthetic_from_env() -> Optional[int]:
    """N when $NETLIB_LAB_SYNTHETIC asks the UI's runs to train on N synthetic digits (tests, demos)."""
    try:
        return int(os.environ[SYNTHETIC_ENV]) or None
    except (KeyError, ValueError):
        return None


def device_note(model: str, recipe: str, overrides: Optional[dict], device: str, limit: Optional[int] = None) -> str:
    """What a run started with these settings trains with on `device` (auto resolved here): its batch and
    rate, and why (the recipe's CUDA batch, the person's own values, or the recipe as it is)."""
    from ..engine.loop import resolve_device
    from ..recipes import DEVICE_BATCH, recipe_for, resolve_recipe

    try:
        where = resolve_device(device).type
    except ValueError as e:
        return str(e)
    chosen = {k: v for k, v in (overrides or {}).items() if v is not None}
    r = resolve_recipe(recipe, model, device=where, limit=limit, **chosen)
    words = f"On {where}: batch {r.batch_size}, {'peak ' if r.schedule == 'onecycle' else ''}lr {r.lr:g}"
    base = recipe_for(recipe, model)
    if (r.batch_size, r.lr) != (base.batch_size, base.lr) and "batch_size" not in chosen and "lr" not in chosen:
        capped = " (capped by the training images)" if r.batch_size < DEVICE_BATCH[recipe][where] else ""
        return (f"{words}: the {recipe} recipe's {where.upper()} batch{capped} instead of {base.batch_size}, its "
                "rate scaled by the square root of the batch ratio (not yet measured on a GPU).")
    if recipe in DEVICE_BATCH and ("batch_size" in chosen or "lr" in chosen):
        return f"{words}: your own values (on CUDA, the {recipe} recipe alone takes a bigger batch)."
    return f"{words}, as the recipe says."


def can_extend(run: RunInfo) -> bool:
    """A run that has ended with a saved train state can be trained further (+1 epoch), unless its +1 epoch
    is in line or starting already."""
    pending = extension.look(run.dir)
    return (not run.live and not run.waiting and run.status != UNREADABLE and (run.dir / TRAIN_STATE).is_file()
            and (pending is None or pending.state == extension.FAILED))


def extension_error(run_dir: Path) -> Optional[str]:
    """What went wrong with the last +1 epoch of run_dir, once (then forgotten), or None: a sentence for
    the page. One that could not start (whichever process's pump started it) is in its extension.json;
    one this server started that ended before it completed an epoch left the run as it was, with the
    reason in its status ("+1 epoch diverged before its epoch ended, not kept: ...")."""
    said = _take_failure(run_dir)
    c = spawn.child(run_dir)
    if c is None or not c.extend or c.proc.poll() is None:
        return said
    spawn.forget(run_dir)
    reason = (read_status(run_dir) or {}).get("reason", "")
    if said is None and c.proc.returncode != 0 and reason.startswith("+1 epoch "):
        return reason
    return said  # else it trained an epoch and then ended badly: the run's own status says how


def _take_failure(run_dir: Path) -> Optional[str]:
    """queue.take_failure, looked at first without the lock (a page asks every tick)."""
    pending = extension.look(run_dir)
    if pending is None or pending.state != extension.FAILED:
        return None
    try:
        return queue.take_failure(run_dir)
    except RunDirError:  # a runs folder it cannot lock cannot lose the file either: said every time
        return pending.reason


def extension_starting(run_dir: Path) -> bool:
    """True while a +1 epoch's process has been started (by any pump) but has not taken the run over yet
    (the run still reads as ended: its status.json is the previous process's)."""
    pending = extension.look(run_dir)
    return pending is not None and pending.state == extension.STARTED


@dataclass
class Pending:
    """A launched run that has not written its status yet (the process is importing torch, loading data)."""

    dir: Path
    failed: bool
    message: str


def pending(run_dir: Path) -> Pending:
    """For a run directory without a readable status: still starting, or failed before it began?"""
    run_dir = Path(run_dir)
    code = spawn.exit_code(run_dir)
    log = tail(run_dir / PROCESS_LOG)
    try:
        age = time.time() - run_dir.stat().st_mtime
    except OSError:
        age = 0.0
    if code is not None:
        return Pending(run_dir, True, log or f"the training process exited with status {code}")
    if age > START_GRACE_S and not (run_dir / STATUS).exists() and spawn.child(run_dir) is None:
        return Pending(run_dir, True, log or "the training process never started")
    return Pending(run_dir, False, "starting the training process (loading torch and MNIST)...")


def tail(path: Path, lines: int = 6, max_bytes: int = 64 * 1024) -> str:
    """The last lines of a log (at most its last max_bytes), "" when it cannot be read; a FIFO or a
    device in its place is refused, never read."""
    try:
        data, _ = read_tail(path, max_bytes)
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").strip().splitlines()[-lines:])
