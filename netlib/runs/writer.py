"""The training process's side of a run folder: config, the metrics log, status, checkpoints, train state."""

from __future__ import annotations

import errno
import functools
import io
import json
import os
import stat
import time
from pathlib import Path

import torch

from ..bounded import FileRefused, check_folder, describe, not_a_file, read_text_bounded
from ..checkpoint import atomic_write, save_checkpoint
from ..engine.steering import NO_STEERING, Steering
from .control import read_control
from .files import (CHECKPOINT, CONFIG, CONTROL, EXTEND_LOCK, METRICS, STATUS, STOP, TRAIN_STATE, RunBusy,
                    RunDirError, write_json)
from .processes import process_alive, start_time
from .reader import read_status

SCORES = ("test_acc", "best_test_acc", "elapsed")  # the last epoch's and the best test accuracy, its clock


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


class RunWriter:
    """The training process's side of a run directory: an event listener plus checkpointing.

    extending=True: a process that trains a finished run further; its config stays, the metrics log
    goes on where it ended.
    """

    @_writes("the run's files")
    def __init__(self, run_dir: Path, config: dict, extending: bool = False):
        self.dir = Path(run_dir)
        try:
            check_folder(self.dir, "a run folder")
        except FileRefused as e:
            raise RunDirError(str(e)) from None
        for name in (CONFIG, METRICS, STATUS, CONTROL, CHECKPOINT, TRAIN_STATE, EXTEND_LOCK):
            kind = not_a_file(self.dir / name)  # checked before anything is written
            if kind:
                raise RunDirError(f"{self.dir / name}: refused, it is {kind}, not a regular file")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._before, self._epochs_here, self._locked, self._scores, self._best_known = None, 0, False, {}, True
        self._extended = False  # trained past where it ended (+1 epoch): in status.json, so listings group it alone
        self._started = start_time(os.getpid())  # with the pid, names this process (pid reuse)
        if extending:
            self._lock()  # one extension of a run at a time (two tabs, the CLI and a tab)
            self._before = read_status(self.dir)
            before = self._before or {}
            self._scores = {k: v for k, v in before.items() if k in SCORES}
            # a run from before scores were kept: its best epoch is in its log only, so none is claimed
            self._best_known = "best_test_acc" in before or not before.get("epoch")
            self._extended = before.get("extended") is True
        # A stop or pause meant for an earlier process of this run is not meant for this one.
        (self.dir / STOP).unlink(missing_ok=True)
        (self.dir / CONTROL).unlink(missing_ok=True)
        if not extending:
            write_json(self.dir / CONFIG, config)
        self.config = config
        self._control_stamp, self._steering = None, None
        self._metrics = open_log(self.dir / METRICS, text=True)
        self._epoch = (self._before or {}).get("epoch", 0)
        self._status("running", "", epoch=self._epoch)

    def _lock(self) -> None:
        path = self.dir / EXTEND_LOCK
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    holder = int(read_text_bounded(path, 64).strip() or 0)
                except FileRefused as e:
                    raise RunDirError(str(e)) from None
                except (OSError, ValueError):
                    holder = 0
                if process_alive(holder):
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
                                       "started": self._started, "updated": time.time(), **self._scores,
                                       **({"extended": True} if self._extended else {}), **extra})

    @_writes("the metrics log")
    def on_event(self, event: dict) -> None:
        self._metrics.write(json.dumps(event) + "\n")
        self._metrics.flush()  # readers (the UI) see each event as it happens
        kind = event["event"]
        if kind == "start":
            self._epoch = event.get("first_epoch", 1) - 1
            self._extended = self._extended or self._epoch > 0  # Compare's rule: a start with first_epoch > 1
            self._status("running", "", epoch=self._epoch)
        elif kind == "epoch":
            os.fsync(self._metrics.fileno())
            self._epoch = event["epoch"]
            self._epochs_here += 1
            self._score(event)
            self._status("running", "", epoch=self._epoch)
        elif kind in ("pause", "resume"):
            self._status("paused" if kind == "pause" else "running", "", epoch=self._epoch)
        elif kind == "end":
            os.fsync(self._metrics.fileno())
            self._status(event["status"], event.get("reason", ""),
                         epoch=event.get("epochs_completed", 0))

    def _score(self, event: dict) -> None:
        """The run's accuracy so far, kept in status.json: the notebook lists 500 runs without reading
        500 metrics logs."""
        acc, best = event.get("test_acc"), self._scores.get("best_test_acc")
        self._scores.update(test_acc=acc, elapsed=event.get("elapsed"))
        better = not isinstance(best, (int, float)) or (isinstance(acc, (int, float)) and acc > best)
        if self._best_known and isinstance(acc, (int, float)) and better:
            self._scores["best_test_acc"] = acc

    def should_stop(self) -> bool:
        return (self.dir / STOP).exists()

    def steering(self):
        """The latest pause / learning-rate request (control.json), re-read only when it changes."""
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
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write(self.dir / TRAIN_STATE, lambda f: f.write(buf.getvalue()))

    @_writes("the checkpoint")
    def save(self, model, epoch_event: dict) -> None:
        c = self.config
        metrics = {k: v for k, v in epoch_event.items() if k != "event"}
        save_checkpoint(self.dir / CHECKPOINT, model, c["model"], c.get("model_kwargs", {}),
                        c["recipe"], metrics, extra={"recipe_name": c["recipe_name"]})

    def fail(self, reason: str, status: str = "failed") -> None:
        if self._before is not None and self._epochs_here == 0:
            # +1 epoch that trained nothing: the run is what it was; say what went wrong, lose nothing
            try:
                self.on_event({"event": "extend_failed", "reason": reason})
                self._status(self._before["status"], f"+1 epoch {status}: {reason}",
                             epoch=self._before.get("epoch", 0))
                return
            except RunDirError:
                pass
        try:
            self.on_event({"event": "end", "status": status, "reason": reason})
        except RunDirError:  # no room for the metrics log (disk full): the small status may still fit
            try:
                self._status(status, reason, epoch=getattr(self, "_epoch", 0))
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

    def record_forced_stop(self, after_s: float) -> None:
        """The stop watchdog's last word before the process ends itself: the run reads "stopped" (as
        asked), not "interrupted"; an extension that trained nothing leaves the run as it was."""
        self.fail(f"stopped by request: the run did not reach a batch boundary within {after_s:g} s, "
                  "so its process was ended", status="stopped")


def open_log(path: Path, text: bool = False):
    """A log opened to append: created if missing, refused (RunDirError) if something other than a
    regular file is in its place. O_NONBLOCK: a FIFO without a reader fails at once, never waits."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    except OSError as e:
        if e.errno == errno.ENXIO:  # a FIFO nobody reads, or a socket
            raise RunDirError(f"{path}: refused, it is a FIFO or a socket, not a regular file") from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise RunDirError(f"{path}: refused, it is {describe(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8") if text else os.fdopen(fd, "ab")
    except BaseException:
        os.close(fd)
        raise
