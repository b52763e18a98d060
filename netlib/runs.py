"""A run directory: config.json, append-only metrics.jsonl, checkpoint.pt, status.json, and a stop file."""

from __future__ import annotations

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

CONFIG, METRICS, STATUS, CHECKPOINT, STOP = (
    "config.json", "metrics.jsonl", "status.json", "checkpoint.pt", "STOP")
FINAL_STATUSES = ("done", "stopped", "failed", "diverged", "interrupted")


def default_runs_dir() -> Path:
    return Path(os.environ.get("NETLIB_RUNS_DIR", "runs"))


def write_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda f: f.write((json.dumps(obj, indent=1) + "\n").encode()))


def safe_run_name(text: str) -> str:
    """A name that is one plain path component: letters, digits, '-', '_' and '.' only."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip(".-")[:80]
    return name or "run"


def new_run_name(model: str, recipe: str) -> str:
    return safe_run_name(f"{time.strftime('%Y%m%d-%H%M%S')}-{model}-{recipe}-{os.getpid() % 1000:03d}")


class RunWriter:
    """The training process's side of a run directory: an event listener plus checkpointing."""

    def __init__(self, run_dir: Path, config: dict):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / STOP).unlink(missing_ok=True)
        write_json(self.dir / CONFIG, config)
        self.config = config
        self._metrics = open(self.dir / METRICS, "a", encoding="utf-8")
        self._status("running", "", epoch=0)

    def _status(self, status: str, reason: str, **extra) -> None:
        write_json(self.dir / STATUS, {"status": status, "reason": reason, "pid": os.getpid(),
                                       "updated": time.time(), **extra})

    def on_event(self, event: dict) -> None:
        self._metrics.write(json.dumps(event) + "\n")
        self._metrics.flush()  # readers (the UI) see each event as it happens
        if event["event"] == "epoch":
            os.fsync(self._metrics.fileno())
            self._status("running", "", epoch=event["epoch"])
        elif event["event"] == "end":
            os.fsync(self._metrics.fileno())
            self._status(event["status"], event.get("reason", ""),
                         epoch=event.get("epochs_completed", 0))

    def should_stop(self) -> bool:
        return (self.dir / STOP).exists()

    def save(self, model, epoch_event: dict) -> None:
        c = self.config
        metrics = {k: v for k, v in epoch_event.items() if k != "event"}
        save_checkpoint(self.dir / CHECKPOINT, model, c["model"], c.get("model_kwargs", {}),
                        c["recipe"], metrics, extra={"recipe_name": c["recipe_name"]})

    def fail(self, reason: str) -> None:
        self.on_event({"event": "end", "status": "failed", "reason": reason})

    def close(self) -> None:
        self._metrics.close()


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
        return self.status == "running"


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
    if status["status"] == "running" and not _process_alive(status.get("pid")):
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
    return RunInfo(run_dir, config, status["status"], status["reason"], read_events(run_dir / METRICS))


def list_runs(runs_dir: Optional[Path] = None) -> list[RunInfo]:
    root = Path(runs_dir or default_runs_dir())
    if not root.is_dir():
        return []
    runs = [read_run(d) for d in sorted(root.iterdir(), reverse=True) if d.is_dir()]
    return [r for r in runs if r is not None]


def start_run(run_dir: Path, args: list[str], threads: Optional[int] = None) -> subprocess.Popen:
    """Launch `python -m netlib train ARGS --run-dir DIR` as its own process (DESIGN §3)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "netlib", "train", *args, "--run-dir", str(run_dir), "--quiet"]
    if threads:
        cmd += ["--threads", str(threads)]
    log = open(run_dir / "process.log", "ab")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, cwd=Path(__file__).resolve().parent.parent)


def request_stop(run_dir: Path) -> None:
    """Cooperative stop: the engine sees the file at its next batch boundary."""
    (Path(run_dir) / STOP).touch()


def kill_run(run_dir: Path) -> None:
    """Hard stop, for a process that did not honour the stop file in time."""
    status = read_status(run_dir)
    if status and status["status"] == "running":  # read_status: "running" means its pid is alive
        os.kill(status["pid"], signal.SIGKILL)
