"""A run directory: config.json, append-only metrics.jsonl, checkpoint.pt, status.json, and a stop file."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .checkpoint import atomic_write, save_checkpoint

CONFIG, METRICS, STATUS, CHECKPOINT, STOP, CONTROL, TRAIN_STATE, EXTEND_LOCK = (
    "config.json", "metrics.jsonl", "status.json", "checkpoint.pt", "STOP", "control.json",
    "train_state.pt", "extend.lock")
FINAL_STATUSES = ("done", "stopped", "failed", "diverged", "interrupted")
LIVE_STATUSES = ("running", "paused")  # a process is working on the run (or holding it paused)


def default_runs_dir() -> Path:
    return Path(os.environ.get("NETLIB_RUNS_DIR", "runs"))


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))


def safe_run_name(text: str) -> str:
    """A name that is one plain path component: letters, digits, '-', '_' and '.' only."""
    name = re.sub(r"(?:[^A-Za-z0-9_.-]|\.{2,})+", "-", text).strip(".-")[:80]  # "a/../b" -> "a-b"
    return name or "run"


def new_run_name(model: str, recipe: str) -> str:
    return safe_run_name(f"{time.strftime('%Y%m%d-%H%M%S')}-{model}-{recipe}-{os.getpid() % 1000:03d}")


class RunDirError(RuntimeError):
    """A runs or run folder that cannot be written (not a folder, not writable, disk full): one clear line."""


def _writes(what: str):
    """RunWriter methods: an OSError while writing becomes a RunDirError that says what and where.

    The training process then ends (fit() does not catch it) instead of going on without a record;
    atomic_write has already removed its temporary file, so the previous status/checkpoint stay valid.
    """
    def wrap(fn):
        @functools.wraps(fn)
        def inner(self, *args, **kwargs):
            try:
                return fn(self, *args, **kwargs)
            except RunDirError:
                raise
            except OSError as e:
                where = getattr(self, "dir", None) or (args[0] if args else "?")
                raise RunDirError(f"cannot write {what} to the run folder {where}: {e.strerror or e}") from e
        return inner
    return wrap


def ensure_runs_dir(root: Path) -> Path:
    """The runs folder, created if missing; RunDirError (one line) when it cannot be."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise RunDirError(f"cannot write to the runs folder {root}: it is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunDirError(f"cannot write to the runs folder {root}: {e.strerror or e}") from e
    return root


class RunWriter:
    """The training process's side of a run directory: an event listener plus checkpointing.

    extending=True: a process that trains a finished run further; its config stays, the metrics log
    goes on where it ended.
    """

    @_writes("the run's files")
    def __init__(self, run_dir: Path, config: dict, extending: bool = False):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._before, self._epochs_here, self._locked = None, 0, False
        if extending:
            self._lock()  # one extension of a run at a time (two tabs, the CLI and a tab)
            self._before = read_status(self.dir)
        # A stop or pause meant for an earlier process of this run is not meant for this one.
        (self.dir / STOP).unlink(missing_ok=True)
        (self.dir / CONTROL).unlink(missing_ok=True)
        if not extending:
            write_json(self.dir / CONFIG, config)
        self.config = config
        self._control_stamp, self._steering = None, None
        self._metrics = open(self.dir / METRICS, "a", encoding="utf-8")
        self._epoch = (self._before or {}).get("epoch", 0)
        self._status("running", "", epoch=self._epoch)

    def _lock(self) -> None:
        path = self.dir / EXTEND_LOCK
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = int(path.read_text().strip() or 0)
                except (OSError, ValueError):
                    holder = 0
                if _process_alive(holder):
                    raise RunBusy(f"run {self.dir.name} is already being extended (process {holder})") from None
                path.unlink(missing_ok=True)  # left by a killed extension
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            self._locked = True
            return
        raise RunBusy(f"run {self.dir.name} is already being extended")

    @_writes("status.json")
    def _status(self, status: str, reason: str, **extra) -> None:
        write_json(self.dir / STATUS, {"status": status, "reason": reason, "pid": os.getpid(),
                                       "updated": time.time(), **extra})

    @_writes("the metrics log")
    def on_event(self, event: dict) -> None:
        self._metrics.write(json.dumps(event) + "\n")
        self._metrics.flush()  # readers (the UI) see each event as it happens
        kind = event["event"]
        if kind == "start":
            self._epoch = event.get("first_epoch", 1) - 1
            self._status("running", "", epoch=self._epoch)
        elif kind == "epoch":
            os.fsync(self._metrics.fileno())
            self._epoch = event["epoch"]
            self._epochs_here += 1
            self._status("running", "", epoch=self._epoch)
        elif kind in ("pause", "resume"):
            self._status("paused" if kind == "pause" else "running", "", epoch=self._epoch)
        elif kind == "end":
            os.fsync(self._metrics.fileno())
            self._status(event["status"], event.get("reason", ""),
                         epoch=event.get("epochs_completed", 0))

    def should_stop(self) -> bool:
        return (self.dir / STOP).exists()

    def steering(self):
        """The latest pause / learning-rate request (control.json), re-read only when it changes."""
        from .train import NO_STEERING, Steering

        try:
            st = (self.dir / CONTROL).stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)  # write_json renames: a new inode each time
        except OSError:
            return self._steering or NO_STEERING
        if stamp != self._control_stamp:
            self._control_stamp = stamp
            wanted = read_control(self.dir)
            self._steering = Steering(bool(wanted.get("paused")), wanted.get("lr"))
        return self._steering

    @_writes("the train state")
    def save_train_state(self, state: dict) -> None:
        import io

        import torch

        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write(self.dir / TRAIN_STATE, lambda f: f.write(buf.getvalue()))

    @_writes("the checkpoint")
    def save(self, model, epoch_event: dict) -> None:
        c = self.config
        metrics = {k: v for k, v in epoch_event.items() if k != "event"}
        save_checkpoint(self.dir / CHECKPOINT, model, c["model"], c.get("model_kwargs", {}),
                        c["recipe"], metrics, extra={"recipe_name": c["recipe_name"]})

    def fail(self, reason: str) -> None:
        if self._before is not None and self._epochs_here == 0:
            # +1 epoch that trained nothing: the run is what it was; say what went wrong, lose nothing
            try:
                self.on_event({"event": "extend_failed", "reason": reason})
                self._status(self._before["status"], f"+1 epoch failed: {reason}",
                             epoch=self._before.get("epoch", 0))
                return
            except RunDirError:
                pass
        try:
            self.on_event({"event": "end", "status": "failed", "reason": reason})
        except RunDirError:  # no room for the metrics log (disk full): the small status may still fit
            try:
                self._status("failed", reason, epoch=getattr(self, "_epoch", 0))
            except RunDirError:
                pass  # status.json keeps its last complete version; readers see "interrupted"

    def close(self) -> None:
        try:
            self._metrics.close()
        except OSError:  # a final flush on a full disk: the lines already written stay valid
            pass
        if self._locked:
            (self.dir / EXTEND_LOCK).unlink(missing_ok=True)
            self._locked = False


class RunBusy(ValueError):
    """A run that another process is already extending."""


@dataclass
class RunInfo:
    """What a reader (UI, CLI) knows of a run directory at one moment."""

    dir: Path
    config: dict
    status: str
    reason: str
    events: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def epochs(self) -> list[dict]:
        return [e for e in self.events if e.get("event") == "epoch"]

    @property
    def batches(self) -> list[dict]:
        return [e for e in self.events if e.get("event") == "batch"]

    @property
    def has_checkpoint(self) -> bool:
        return (self.dir / CHECKPOINT).is_file()

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def start(self) -> dict:
        """The last start event: a run extended by +1 epoch has one per process, the last knows the
        total epochs and the layers whose gradients are recorded."""
        return next((e for e in reversed(self.events) if e.get("event") == "start"), {})


def read_control(run_dir: Path) -> dict:
    """control.json: {"paused": bool, "lr": float or null}; {} when absent or unreadable."""
    try:
        wanted = json.loads((Path(run_dir) / CONTROL).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    if not isinstance(wanted, dict):
        return {}
    lr = wanted.get("lr")
    ok_lr = isinstance(lr, (int, float)) and not isinstance(lr, bool) and 0 < lr < float("inf")
    return {"paused": wanted.get("paused") is True, "lr": float(lr) if ok_lr else None}


def steer_run(run_dir: Path, paused: Optional[bool] = None, lr: Optional[float] = None,
              schedule: bool = False) -> dict:
    """Ask a live run to pause/resume, to train on at learning rate lr, or (schedule=True) to go back
    to its recipe's schedule; applied at its next batch."""
    if lr is not None and not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
        raise ValueError(f"the learning rate must be a number greater than 0, not {lr!r}")
    wanted = read_control(run_dir) or {"paused": False, "lr": None}
    if paused is not None:
        wanted["paused"] = bool(paused)
    if lr is not None:
        wanted["lr"] = float(lr)
    if schedule:
        wanted["lr"] = None
    write_json(Path(run_dir) / CONTROL, wanted)
    return wanted


def read_events(path: Path) -> list[dict]:
    events = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    pass  # a line being written right now; it is complete on the next read
    except FileNotFoundError:
        pass
    return events


def _process_alive(pid: Optional[int]) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a zombie (killed, not yet reaped) is not a live trainer
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return True


def read_status(run_dir: Path) -> Optional[dict]:
    """status.json as readers should see it: a "running" run whose process is gone is "interrupted".

    Cheap (no metrics read): pickers and the sidebar call it for every run on every rerun.
    """
    try:
        status = json.loads((Path(run_dir) / STATUS).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    status.setdefault("status", "failed")
    status.setdefault("reason", "")
    if status["status"] in LIVE_STATUSES and not _process_alive(status.get("pid")):
        status["status"] = "interrupted"
        status["reason"] = "the training process ended without finishing (killed or crashed)"
    return status


def read_run(run_dir: Path) -> Optional[RunInfo]:
    run_dir = Path(run_dir)
    try:
        config = json.loads((run_dir / CONFIG).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    status = read_status(run_dir)
    if status is None:
        return None
    return RunInfo(run_dir, config, status["status"], status["reason"],
                   without_redone_epochs(read_events(run_dir / METRICS)))


def without_redone_epochs(events: list[dict]) -> list[dict]:
    """A run stopped (or diverged) in epoch k and then extended restarts from epoch k: the events of
    the abandoned partial epoch k are dropped so charts and "the rate it ended at" skip them."""
    out: list[dict] = []
    for e in events:
        if e.get("event") == "start" and e.get("first_epoch", 1) > 1:
            first = e["first_epoch"]
            out = [o for o in out if not (o.get("event") in EPOCH_EVENTS and o.get("epoch", 0) >= first)]
        out.append(e)
    return out


EPOCH_EVENTS = ("batch", "epoch", "lr_change", "pause", "resume")


def list_runs(runs_dir: Optional[Path] = None) -> list[RunInfo]:
    root = Path(runs_dir or default_runs_dir())
    if not root.is_dir():
        return []
    from .safepath import is_contained

    # A symlinked run folder that leads outside runs_dir is not listed (nor read, nor loaded).
    runs = [read_run(d) for d in sorted(root.iterdir(), reverse=True) if d.is_dir() and is_contained(root, d)]
    return [r for r in runs if r is not None]


def start_run(run_dir: Path, args: list[str], threads: Optional[int] = None) -> subprocess.Popen:
    """Launch `python -m netlib train ARGS --run-dir DIR` as its own process (DESIGN §3)."""
    run_dir = Path(run_dir)
    ensure_runs_dir(run_dir.parent)
    cmd = [sys.executable, "-m", "netlib", "train", *args, "--run-dir", str(run_dir), "--quiet"]
    if threads:
        cmd += ["--threads", str(threads)]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        log = open(run_dir / "process.log", "ab")
    except OSError as e:
        raise RunDirError(f"cannot write to the runs folder {run_dir.parent}: {e.strerror or e}") from e
    with log:  # the child has its own copy of the descriptor
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=Path(__file__).resolve().parent.parent)


def request_stop(run_dir: Path) -> None:
    """Cooperative stop: the engine sees the file at its next batch boundary."""
    (Path(run_dir) / STOP).touch()


def _is_trainer(pid: int) -> bool:
    """Is pid a `python -m netlib train` process (the ones runs are trained by)?"""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # no /proc here: trust the pid, as read_status does
    return b"netlib" in argv and b"train" in argv


def kill_run(run_dir: Path) -> None:
    """Hard stop, for a process that did not honour the stop file in time."""
    status = read_status(run_dir)
    if status and status["status"] in LIVE_STATUSES:  # read_status: live means its pid is alive
        if not _is_trainer(status["pid"]):
            return  # the pid was reused by another program since: never kill that
        try:
            os.kill(status["pid"], signal.SIGKILL)
        except ProcessLookupError:  # it ended between the two calls (or another tab killed it)
            pass
