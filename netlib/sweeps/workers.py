"""The sweep workers of this machine: each registers itself under the runs folder while it works, so the
Sweep page can say who is taking trials; the page starts new ones as their own processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import netlib as _package

from ..bounded import read_text_bounded
from ..runs.processes import same_process, start_time
from .storage import JOURNAL, STORAGE_ENV

FOLDER = JOURNAL.parent / "workers"  # under the runs folder: PID.json while a worker runs, its log


@contextmanager
def registered(runs_dir: Path, sweep: str, storage: str):
    """While the block runs, this process is listed as a worker of `sweep` on this machine."""
    folder = Path(runs_dir) / FOLDER
    path = folder / f"{os.getpid()}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"sweep": sweep, "pid": os.getpid(), "started": start_time(os.getpid()),
                                    "since": time.time(), "storage": storage}))
    except OSError:
        path = None  # a worker that cannot register still works; the page just does not list it
    try:
        yield
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def alive(runs_dir: Path, sweep: Optional[str] = None) -> list[dict]:
    """The workers running on this machine (of one sweep, or all); a dead one's file is removed."""
    out = []
    folder = Path(runs_dir) / FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            info = json.loads(read_text_bounded(path, 4096))
        except (OSError, ValueError):
            continue
        if not isinstance(info, dict) or not same_process(info.get("pid"), info.get("started")):
            path.unlink(missing_ok=True)
            continue
        if sweep is None or info.get("sweep") == sweep:
            out.append(info)
    return out


def start(runs_dir: Path, sweep: str, storage_url: Optional[str] = None) -> subprocess.Popen:
    """`python -m netlib sweep work SWEEP` in its own process, its output in the workers folder. The
    storage URL travels in the environment: a password is never on a command line others can read."""
    from ..runs.files import open_log

    folder = Path(runs_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **({STORAGE_ENV: storage_url} if storage_url else {})}
    cmd = [sys.executable, "-m", "netlib", "sweep", "work", sweep, "--runs-dir", str(Path(runs_dir).resolve())]
    with open_log(folder / f"{sweep}.log") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True, cwd=Path(_package.__path__[0]).resolve().parent)
