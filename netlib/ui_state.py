"""The dashboard's side of runs and checkpoints: launch, stop, list, pick (plain Python, no streamlit).

The pages (pages/*.py) stay thin: they read widgets, call these helpers and netlib, and draw.
netlib.run_summary describes runs (labels, progress, stats).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .charts import COLORS as COLORS_BY_MODEL
from .run_summary import network_label, recipe_label
from .runs import (CHECKPOINT, CONFIG, LIVE_STATUSES, STATUS, STOP, RunInfo, kill_run, new_run_name,
                   read_status)

REPO = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR_ENV = "NETLIB_CHECKPOINT_DIR"  # where the shipped checkpoints are (default: ./checkpoints)
SYNTHETIC_ENV = "NETLIB_LAB_SYNTHETIC"  # N: runs the UI starts train on N synthetic digits (tests, demos)
KILL_AFTER_S = 5.0  # a stop request not honoured within this long becomes a hard kill
START_GRACE_S = 90.0  # a launched run that has written no status after this long has failed

# Training processes this server started: polled so that finished ones are reaped (no zombies).
_PROCESSES: dict[str, subprocess.Popen] = {}
_EXTENSIONS: dict[str, subprocess.Popen] = {}  # the +1 epoch processes among them


# ---------------------------------------------------------------- launching and stopping runs
def train_args(model: str, recipe: str, overrides: Optional[dict] = None, limit: Optional[int] = None,
               seed: int = 0, device: str = "auto", blocks: int = 1) -> list[str]:
    """CLI arguments for `python -m netlib train` (without --run-dir, which start_run adds)."""
    args = ["--model", model, "--recipe", recipe, "--seed", str(int(seed)), "--device", device]
    if blocks and int(blocks) != 1:
        args += ["--blocks", str(int(blocks))]
    flags = {"epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr",
             "optimizer": "--optimizer", "schedule": "--schedule"}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key == "augment":
            args.append("--augment" if value else "--no-augment")
        elif key in flags:
            args += [flags[key], f"{value:g}" if isinstance(value, float) else str(value)]
    if limit:
        args += ["--limit", str(int(limit))]
    if os.environ.get(SYNTHETIC_ENV):
        args += ["--synthetic", str(int(os.environ[SYNTHETIC_ENV]))]
    return args


def launch(runs_dir: Path, model: str, recipe: str, args: list[str], threads: Optional[int] = None,
           tag: str = "") -> Path:
    """Start a training process in a fresh run directory under runs_dir; return the directory."""
    from .runs import start_run

    import shutil

    from .runs import RunDirError, ensure_runs_dir
    from .safepath import inside

    reap()
    root = ensure_runs_dir(runs_dir)  # RunDirError: "cannot write to the runs folder ...", shown as is
    name = new_run_name(model, tag or recipe)
    run_dir, n = inside(root, name), 1
    while True:  # claim the folder with mkdir: two launches in the same second never share one
        try:
            run_dir.mkdir()
            break
        except FileExistsError:
            n += 1
            run_dir = inside(root, f"{name}-{n}")
        except OSError as e:
            raise RunDirError(f"cannot write to the runs folder {root}: {e.strerror or e}") from e
    try:
        _PROCESSES[str(run_dir)] = start_run(run_dir, args, threads=threads)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing half-made is left to look like a run
        raise
    return run_dir


def reap() -> None:
    for key, proc in list(_PROCESSES.items()):
        if proc.poll() is not None:
            del _PROCESSES[key]


def process_exited(run_dir: Path) -> Optional[int]:
    """The exit code of a process this server started for run_dir, None while it runs or if unknown."""
    proc = _PROCESSES.get(str(run_dir))
    return None if proc is None else proc.poll()


def pause(run_dir: Path, paused: bool = True) -> None:
    """Hold a live run at its next batch boundary (paused=False lets it go on)."""
    from .runs import steer_run

    steer_run(run_dir, paused=paused)


def set_lr(run_dir: Path, lr: float) -> None:
    """Train a live run on at this constant learning rate from its next batch."""
    from .runs import steer_run

    steer_run(run_dir, lr=float(lr))


def back_to_schedule(run_dir: Path) -> None:
    """Undo set_lr: the run's own schedule from its next batch, where it has got to by now."""
    from .runs import steer_run

    steer_run(run_dir, schedule=True)


def can_extend(run: RunInfo) -> bool:
    """A run that has ended with a saved train state can be trained further (+1 epoch)."""
    from .runs import TRAIN_STATE

    return not run.live and (run.dir / TRAIN_STATE).is_file() and not extension_starting(run.dir)


def last_lr(run: RunInfo) -> Optional[float]:
    """The learning rate a run ended at (the default rate for +1 epoch)."""
    for e in reversed(run.events):
        if e.get("event") in ("batch", "epoch", "lr_change"):
            return e.get("lr", e.get("to"))
    return None


def extend(run_dir: Path, epochs: int, lr: float, threads: Optional[int] = None) -> None:
    """Train an ended run `epochs` more epochs at constant rate lr from its saved train state, in its
    own run directory (the training process refuses, in one line, if another process has it)."""
    from .runs import LIVE_STATUSES, start_run

    reap()
    status = read_status(run_dir)
    if status is None or status["status"] in LIVE_STATUSES or extension_starting(run_dir):
        raise ValueError(f"run {Path(run_dir).name} is training already")
    args = ["--extend", str(run_dir), "--epochs", str(int(epochs)), "--lr", f"{float(lr):.8g}"]
    _PROCESSES[str(run_dir)] = _EXTENSIONS[str(run_dir)] = start_run(run_dir, args, threads=threads)


def extension_error(run_dir: Path) -> Optional[str]:
    """Why the last +1 epoch of run_dir failed before training an epoch, once (then forgotten), or None."""
    proc = _EXTENSIONS.get(str(run_dir))
    if proc is None or proc.poll() in (None, 0):
        return None
    del _EXTENSIONS[str(run_dir)]
    status = read_status(run_dir) or {}
    if status.get("reason", "").startswith("+1 epoch failed"):
        return status["reason"].removeprefix("+1 epoch failed: ")
    if proc.returncode == 2:  # refused before it began (see netlib.cli)
        return tail(Path(run_dir) / "process.log", 1) or "the training process refused to start"
    return None  # it trained and then ended badly: the run's own status says how


def extension_starting(run_dir: Path) -> bool:
    """True while a +1 epoch process this server started for run_dir has not taken the run over yet
    (the run still reads as ended: its status.json is the previous process's)."""
    proc = _EXTENSIONS.get(str(run_dir))
    if proc is None or proc.poll() is not None:
        return False
    return (read_status(run_dir) or {}).get("pid") != proc.pid


def stop(run_dir: Path) -> None:
    from .runs import request_stop

    request_stop(run_dir)


def stop_requested_at(run_dir: Path) -> Optional[float]:
    try:
        return (Path(run_dir) / STOP).stat().st_mtime
    except OSError:
        return None


def enforce_stop(run: RunInfo) -> bool:
    """Hard-kill a live run whose stop request is older than KILL_AFTER_S; True if it was killed."""
    asked = stop_requested_at(run.dir)
    if run.live and asked is not None and time.time() - asked > KILL_AFTER_S:
        kill_run(run.dir)
        return True
    return False


@dataclass
class Pending:
    """A launched run that has not written its status yet (the process is importing torch, loading data)."""

    dir: Path
    failed: bool
    message: str


def pending(run_dir: Path) -> Pending:
    """For a run directory without a readable status: still starting, or failed before it began?"""
    run_dir = Path(run_dir)
    code = process_exited(run_dir)
    log = tail(run_dir / "process.log")
    try:
        age = time.time() - run_dir.stat().st_mtime
    except OSError:
        age = 0.0
    if code is not None:
        return Pending(run_dir, True, log or f"the training process exited with status {code}")
    if age > START_GRACE_S and not (run_dir / STATUS).exists() and str(run_dir) not in _PROCESSES:
        return Pending(run_dir, True, log or "the training process never started")
    return Pending(run_dir, False, "starting the training process (loading torch and MNIST)...")


def tail(path: Path, lines: int = 6) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


# ---------------------------------------------------------------- reading runs cheaply
def quick_status(run_dir: Path) -> Optional[str]:
    """The run's status without reading its metrics."""
    status = read_status(run_dir)
    return status["status"] if status else None


@dataclass
class RunEntry:
    """One run directory as listed in pickers: name, network, recipe label, status."""

    dir: Path
    model: str
    recipe: str
    status: str
    has_checkpoint: bool
    network: str = ""  # 'plain ×3': the model and its depth when not as published

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def label(self) -> str:
        return f"{self.name} ({self.status})"


def run_index(runs_dir: Path) -> list[RunEntry]:
    """Every run under runs_dir, newest first, read from config.json and status.json only."""
    from .safepath import is_contained

    root = Path(runs_dir)
    if not root.is_dir():
        return []
    out = []
    # A run folder that is a symlink leading outside runs_dir is skipped: never read, listed or loaded.
    for d in sorted((p for p in root.iterdir() if p.is_dir() and is_contained(root, p)), reverse=True):
        try:
            config = json.loads((d / CONFIG).read_text())
        except (OSError, json.JSONDecodeError):
            continue
        status = quick_status(d)
        if status is None:
            continue
        out.append(RunEntry(d, config.get("model", "?"), recipe_label(config), status,
                            (d / CHECKPOINT).is_file(), network_label(config)))
    return out


# ---------------------------------------------------------------- checkpoints
@dataclass
class CheckpointChoice:
    label: str
    path: Path
    model: str
    shipped: bool
    uploaded: bool = False


def shipped_dir() -> Path:
    return Path(os.environ.get(CHECKPOINT_DIR_ENV) or REPO / "checkpoints")


def shipped_checkpoint(model: str) -> Path:
    return shipped_dir() / f"{model}.pt"


def checkpoint_choices(model: str, runs: list[RunEntry]) -> list[CheckpointChoice]:
    """The shipped checkpoint of `model` (if present), every run of it that saved one, then its uploads."""
    from .safepath import is_contained
    from .uploads import list_uploads

    out = []
    if shipped_checkpoint(model).is_file():
        out.append(CheckpointChoice(f"shipped {model}.pt", shipped_checkpoint(model), model, True))
    for r in runs:
        if r.model == model and r.has_checkpoint and is_contained(r.dir, r.dir / CHECKPOINT):
            out.append(CheckpointChoice(f"run {r.name} ({r.status})", r.dir / CHECKPOINT, model, False))
    for u in list_uploads():
        if u.model == model:
            out.append(CheckpointChoice(u.label, u.path, model, False, uploaded=True))
    return out


def choice_index(choices: list[CheckpointChoice], path) -> Optional[int]:
    """Where the checkpoint at `path` is among choices (paths compared resolved); None if not listed."""
    try:
        wanted = Path(path).resolve()
    except (OSError, RuntimeError, TypeError):
        return None
    for i, c in enumerate(choices):
        if c.path.resolve() == wanted:
            return i
    return None


def checkpoint_roots() -> list[Path]:
    """The folders a checkpoint chosen in the UI may come from: shipped, runs, uploads."""
    from .runs import default_runs_dir

    roots = [shipped_dir(), default_runs_dir()]
    try:
        from .uploads import uploads_dir

        roots.append(uploads_dir())
    except ImportError:
        pass
    return roots


def allowed_checkpoint(path) -> Path:
    """path, if it lies (symlinks followed) inside one of checkpoint_roots(); else UnsafePath.

    The pages call it before loading any checkpoint chosen in the UI (pages/_common.load_model).
    """
    from .safepath import UnsafePath, is_contained

    path = Path(path)
    if any(is_contained(root, path) for root in checkpoint_roots()):
        return path
    raise UnsafePath(f"{path.name}: refused, it is not inside the checkpoints, runs or uploads folders")


def checkpoint_summary(meta: dict) -> str:
    """One line about a checkpoint's training, from its metrics."""
    m = meta.get("metrics", {})
    acc = m.get("test_acc")
    parts = []
    if acc is not None:
        parts.append(f"test accuracy {100 * acc:.2f}%")
    if m.get("epoch") or m.get("epochs"):
        parts.append(f"after {m.get('epoch') or m.get('epochs')} epoch(s)")
    if meta.get("recipe_name"):
        parts.append(f"{meta['recipe_name']} recipe")
    return ", ".join(parts) or "no metrics recorded"


STORY_DIR = "gradient_flow"  # under the shipped checkpoints: scripts/record_gradient_flow.sh writes it


def recorded_story() -> list[dict]:
    """The Home page's pre-recorded Residual-vs-Plain runs: one dict per run with model, label,
    config-like network label, batches, epochs and grad_layers (empty when the files are missing)."""
    from .runs import read_events

    out = []
    for model in ("residual", "plain"):
        events = read_events(shipped_dir() / STORY_DIR / f"{model}-3.metrics.jsonl")
        if not events:
            continue
        start = next((e for e in events if e.get("event") == "start"), {})
        out.append({"model": model, "label": f"{model} ×3", "color": COLORS_BY_MODEL.get(model),
                    "recipe": start.get("recipe", "?"), "grad_layers": start.get("grad_layers", []),
                    "batches": [e for e in events if e.get("event") == "batch"],
                    "epochs": [e for e in events if e.get("event") == "epoch"]})
    return out


def file_stamp(path: Path) -> float:
    """mtime, to key caches of files that a live run rewrites (its checkpoint after every epoch)."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


def configure_server_torch() -> None:
    """The dashboard's server only runs batch-1 inference: one thread is fastest for that (no
    thread-pool handoffs, ~6 ms for both networks) and leaves the cores to training processes."""
    import torch

    torch.set_num_threads(1)


def device_label() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda · {torch.cuda.get_device_name(0)}"
    return f"cpu · {os.cpu_count()} cores"
