"""The one place that starts training processes (`python -m netlib.runs.training RUN_DIR`: a queued run's, or
an ended run's +1 epoch), and the one registry of the ones this process started: polled so that ended
ones are reaped (no zombies), their exit kept."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import netlib as _package

from .files import PROCESS_LOG, RunDirError, open_log

PROJECT_ROOT = Path(_package.__path__[0]).resolve().parent


@dataclass(frozen=True)
class Child:
    """A training process this process started for a run folder; extend: a +1 epoch of an ended run."""

    proc: subprocess.Popen
    extend: bool


_CHILDREN: dict[str, Child] = {}


def start_training(run_dir: Path, words: Optional[list[str]] = None, extend: bool = False) -> subprocess.Popen:
    """Start the training process of run_dir in its own session, its output in the run's process.log;
    recorded until it ends. Without words: the process for what waits there in the queue, a run or its +1
    epoch (extend; netlib/runs/training.py); with words: `python -m netlib train WORDS`. RunDirError (one
    line) when the folder cannot be written."""
    run_dir = Path(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        log = open_log(run_dir / PROCESS_LOG)
    except RunDirError:
        raise
    except OSError as e:
        raise RunDirError(f"cannot write to the runs folder {run_dir.parent}: {e.strerror or e}") from e
    command = ["netlib", "train", *words] if words is not None else ["netlib.runs.training", os.path.abspath(run_dir)]
    with log:  # the child has its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", *command], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=PROJECT_ROOT)
    _CHILDREN[_key(run_dir)] = Child(proc, extend)
    return proc


def _key(run_dir: Path) -> str:
    """One key per run folder however it is named (relative, absolute, through a link): a page's
    relative runs folder asks for the process a pump registered under the real path."""
    return os.path.realpath(run_dir)


def child(run_dir: Path) -> Optional[Child]:
    """The training process this process started last for run_dir, ended or not (until reaped)."""
    return _CHILDREN.get(_key(run_dir))


def exit_code(run_dir: Path) -> Optional[int]:
    """The exit code of the process started for run_dir, None while it runs or if there is none."""
    c = child(run_dir)
    return None if c is None else c.proc.poll()


def forget(run_dir: Path) -> None:
    """No longer track run_dir's process (its end has been reported)."""
    _CHILDREN.pop(_key(run_dir), None)


def reap() -> None:
    """Collect the ended processes: polling one reaps it. Their entries stay (a few hundred bytes each), so
    a page can still say how a run's process ended; safe from several threads (a second page view)."""
    for c in list(_CHILDREN.values()):
        c.proc.poll()


def children() -> dict[str, subprocess.Popen]:
    """Every training process this process started, ended or not, by run folder (its real path)."""
    return {key: c.proc for key, c in list(_CHILDREN.items())}


def running() -> dict[str, subprocess.Popen]:
    """The training processes this process started that have not ended, by run folder (its real path)."""
    return {key: c.proc for key, c in list(_CHILDREN.items()) if c.proc.poll() is None}
