"""The training process's side of a run folder: config, the metrics log, status, checkpoints, train state."""

from __future__ import annotations

import functools
import io
import json
import os
import time
from pathlib import Path
from typing import Optional

import torch

from ..bounded import FileRefused, check_folder, not_a_file
from ..atomic import atomic_write
from ..checkpoint import save_checkpoint
from ..engine.steering import NO_STEERING, Steering
from .control import read_control
from .extension import taken_over
from .files import (CHECKPOINT, CONFIG, CONTROL, EXTEND_LOCK, EXTENSION, LIVE_STATUSES, METRICS, PROCESS_LOG, STARTING,
                    STATUS, STOP, TRAIN_STATE, RunBusy, RunDirError, open_log, write_json)
from ..embedding.epochs import EPOCHS, epoch_file
from ..request import keeps_epochs
from .processes import HeldLock, read_holder, same_process, start_time, this_process
from .reader import read_json, read_status

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
    goes on where it ended. holds: the threads and device this process trains with, in its statuses when
    they are not config.json's (a +1 epoch asked for other threads): the queue counts its slots by them.
    """

    @_writes("the run's files")
    def __init__(self, run_dir: Path, config: dict, extending: bool = False, holds: Optional[dict] = None):
        self.dir, self._holds = Path(run_dir), holds
        try:
            check_folder(self.dir, "a run folder")
        except FileRefused as e:
            raise RunDirError(str(e)) from None
        check_run_files(self.dir)  # before anything is written
        if not extending:
            check_run_dir_free(self.dir)  # one process per run folder, refused before anything is touched
        self.dir.mkdir(parents=True, exist_ok=True)
        self._before, self._epochs_here, self._lock, self._scores, self._best_known = None, 0, None, {}, True
        self._extended = False  # trained past where it ended (+1 epoch): in status.json, so listings group it alone
        self._training = False  # this process's fit() has started (a "start" event)
        self._started = start_time(os.getpid())  # with the pid, names this process (pid reuse)
        self._metrics, self._created = None, False
        try:
            self._open(config, extending)
            self._status("running", "", epoch=self._epoch)
        except BaseException:
            self._undo_open()
            raise
        if extending:  # the run is this process's now (extend.lock held, its status says so): out of the queue
            taken_over(self.dir)

    def _open(self, config: dict, extending: bool) -> None:
        if extending:
            self._take_extend_lock()  # one extension of a run at a time (two tabs, the CLI and a tab)
            self._scores = {k: v for k, v in self._before.items() if k in SCORES}
            # a run from before scores were kept: its best epoch is in its log only, so none is claimed
            self._best_known = "best_test_acc" in self._before or not self._before.get("epoch")
            self._extended = self._before.get("extended") is True
        else:  # created here, exclusively: of two processes that found the folder free, one goes on
            try:
                os.close(os.open(self.dir / METRICS, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            except FileExistsError:
                raise RunDirError(f"{self.dir}: refused, another process has just started a run in it") from None
            self._created = True
        # A stop or pause meant for an earlier process of this run is not meant for this one.
        (self.dir / STOP).unlink(missing_ok=True)
        (self.dir / CONTROL).unlink(missing_ok=True)
        if not extending:
            write_json(self.dir / CONFIG, config)
        self.config = config
        self._control_stamp, self._steering = None, None
        self._metrics = open_log(self.dir / METRICS, text=True)
        self._log_size = os.fstat(self._metrics.fileno()).st_size  # where an extended run ended: _keep_before
        self._epoch = self._before.get("epoch", 0) if self._before else 0

    def _undo_open(self) -> None:
        """The constructor failed: the lock is let go, a metrics log made here removed (the folder stays free)."""
        if self._metrics is not None:
            self._metrics.close()
        if self._created:
            (self.dir / METRICS).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.release(remove=False)

    def _take_extend_lock(self) -> None:
        """extend.lock's flock, held until close(): an extension killed any way leaves a file that holds
        nothing, and of two extensions finding it only one gets it. The file says "pid start-time" for
        people; its content (an older version's bare pid included) decides nothing."""
        try:
            self._lock = HeldLock.take(self.dir / EXTEND_LOCK)
        except OSError as e:
            raise RunDirError(f"cannot lock {self.dir / EXTEND_LOCK}: {e.strerror or e}") from None
        if self._lock is None:
            holder = read_holder(self.dir / EXTEND_LOCK).split()[:1]
            raise RunBusy(f"run {self.dir.name} is already being extended"
                          + (f" (process {holder[0]})" if holder else ""))
        self._before = read_status(self.dir) or {}
        pid = self._before.get("pid")
        if self._before.get("status") in (*LIVE_STATUSES, STARTING) and pid != os.getpid():
            # read_status judged its process alive: a run in training (its first process, another user's)
            raise RunBusy(f"run {self.dir.name} is being trained by process {pid}; extend it once it has ended")
        self._lock.note("%d %s\n" % this_process())

    @_writes("status.json")
    def _status(self, status: str, reason: str, **extra) -> None:
        write_json(self.dir / STATUS, {"status": status, "reason": reason, "pid": os.getpid(),
                                       "started": self._started, "updated": time.time(), **self._scores,
                                       **({"extended": True} if self._extended else {}),
                                       **({"holds": self._holds} if self._holds else {}), **extra})

    @_writes("the metrics log")
    def on_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "end" and self._before and self._epochs_here == 0:
            self._keep_before(event["status"], event.get("reason", ""))
            return
        self._metrics.write(json.dumps(event) + "\n")
        self._metrics.flush()  # readers (the UI) see each event as it happens
        if kind == "start":
            self._training = True
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
            if self.config.get("finetune") and event["status"] in ("done", "stopped") and event.get("epochs_completed"):
                from ..handwriting.changes import record  # what fine-tuning changed, measured once for the pages

                record(self.dir)
            self._status(event["status"], event.get("reason", ""),
                         epoch=event.get("epochs_completed", 0))

    @_writes("the metrics log")
    def _keep_before(self, status: str, reason: str) -> None:
        """+1 epoch that ended before it completed an epoch: the run is what it was (status, epochs,
        accuracy, and so its seed group); the log drops the partial epoch's events (its weights were not
        kept either) and says what happened. One completed epoch and the run is extended for good."""
        try:
            self._metrics.flush()
            os.ftruncate(self._metrics.fileno(), self._log_size)  # O_APPEND: the next line goes at the new end
            self._metrics.write(json.dumps({"event": "extend_failed", "status": status, "reason": reason}) + "\n")
            self._metrics.flush()
            os.fsync(self._metrics.fileno())
        except OSError:  # a full disk: the status below is what readers go by, the log line is a note
            pass
        self._extended = self._before.get("extended") is True
        reason = f"+1 epoch {status}{' before its epoch ended, not kept' if self._training else ''}: {reason}"
        self._status(self._before.get("status", "failed"), reason, epoch=self._before.get("epoch", 0))

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
        paths = [self.dir / CHECKPOINT]
        if keeps_epochs(c):  # the Map page's epoch slider reads these
            (self.dir / EPOCHS).mkdir(exist_ok=True)
            paths.append(self.dir / EPOCHS / epoch_file(metrics.get("epoch", self._epoch)))
        for path in paths:
            save_checkpoint(path, model, c["model"], c.get("model_kwargs", {}), c["recipe"], metrics,
                            extra={"recipe_name": c["recipe_name"]})

    def fail(self, reason: str, status: str = "failed") -> None:
        """The run ends `status` (an exception, a forced stop); +1 epoch that completed no epoch leaves the
        run as it was (_keep_before)."""
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
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def record_forced_stop(self, after_s: float) -> None:
        """The stop watchdog's last word before the process ends itself: the run reads "stopped" (as
        asked), not "interrupted"; an extension that trained nothing leaves the run as it was."""
        self.fail(f"stopped by request: the run did not reach a batch boundary within {after_s:g} s, "
                  "so its process was ended", status="stopped")


def check_run_files(run_dir: Path) -> None:
    """RunDirError (one line) when a run folder's file is something other than a regular file (a FIFO, a
    device, a folder): `train --extend` checks before its +1 epoch goes in line, the writer before it writes."""
    for name in (CONFIG, METRICS, STATUS, CONTROL, CHECKPOINT, TRAIN_STATE, EXTEND_LOCK, EXTENSION):
        kind = not_a_file(Path(run_dir) / name)
        if kind:
            raise RunDirError(f"{Path(run_dir) / name}: refused, it is {kind}, not a regular file")


def check_run_dir_free(run_dir: Path) -> None:
    """A new run (not +1 epoch) trains only into a folder that does not exist, an empty one (a launcher's
    process.log, a stop or steering asked before the run began aside), or a queued run's that is
    "starting" with no live process but this one or the one that started it. Anything else (a run's
    files, whatever its status; other files) is refused with RunDirError before anything is written:
    two processes never write one folder."""
    try:
        names = set(os.listdir(run_dir)) - {PROCESS_LOG, STOP, CONTROL}
    except FileNotFoundError:
        return
    except OSError as e:
        raise RunDirError(f"cannot read the run folder {run_dir}: {e.strerror or e}") from None
    if not names:
        return
    try:
        status = read_json(Path(run_dir) / STATUS) or {}
    except FileRefused as e:
        raise RunDirError(str(e)) from None
    what, pid = status.get("status"), status.get("pid")
    if what == STARTING:
        # the queue writes "starting" with its own pid, then its child's; a sweep worker, its own. The
        # recorded process is this one, its parent (the pump), or gone (what it started died unused).
        if pid in (os.getpid(), os.getppid()) or not same_process(pid, status.get("started")):
            return
        raise RunDirError(f"{run_dir}: refused, its queued run is being started by process {pid}")
    if what in LIVE_STATUSES and same_process(pid, status.get("started")):
        raise RunDirError(f"{run_dir}: refused, its run is being trained by process {pid}")
    if isinstance(what, str):
        raise RunDirError(f"{run_dir}: refused, it holds a run ({what}); train into a new folder "
                          "(or train --extend it)")
    shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
    raise RunDirError(f"{run_dir}: refused, the folder is not empty ({shown}); a run needs a new or empty folder")
