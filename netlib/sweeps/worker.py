"""A sweep worker: takes the sweep's trials one at a time until none is left. Each trial is a run that
waits its turn in the run queue like any other, then trains in this process (torch and MNIST stay
loaded between trials) and reports every epoch's test accuracy to the study; a pruned run ends "pruned"."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Optional

from ..runs import queue
from ..runs.files import PRUNED
from ..runs.processes import start_time
from ..runs.turn import wait_for_turn
from ..runs.reader import read_status
from . import trials as T
from .space import SweepSpec
from .storage import beats, describe, retry_lost

_DATA: dict = {}  # (device, synthetic) -> Dataset


def work(study, spec: SweepSpec, runs_dir: Path, storage_url: Optional[str], max_trials: Optional[int] = None,
         should_stop: Callable[[], bool] = lambda: False, on_trial: Callable[[T.TrialRow], None] = lambda r: None) -> int:
    """Take trials until none is left, max_trials are finished or should_stop(); the number finished."""
    if T.progress(study).get("WAITING"):
        _warm_up(spec)
    done = 0
    while not should_stop() and (max_trials is None or done < max_trials):
        T.reap_lost(study)
        trial = T.take(study)
        if trial is None:
            break
        run_trial(study, spec, trial, Path(runs_dir), storage_url, should_stop)
        done += 1
        on_trial(next(r for r in T.rows(study) if r.number == trial.number))
    return done


def suggest(trial, spec: SweepSpec) -> dict:
    """The trial's parameters (an enqueued grid point's are fixed; the sampler draws the others)."""
    params = {}
    for axis, values in spec.axes().items():
        if axis == "lr" and spec.lr_range:
            params[axis] = trial.suggest_float("lr", values[0], values[1], log=True)
        else:
            params[axis] = trial.suggest_categorical(axis, values)
    return params


def run_trial(study, spec: SweepSpec, trial, runs_dir: Path, storage_url: Optional[str],
              should_stop: Callable[[], bool] = lambda: False) -> str:
    """One trial from start to its state in the study; the run's final status."""
    from optuna.exceptions import UpdateFinishedTrialError

    from ..engine.setup import train_config

    pid = os.getpid()
    try:
        T.claim(trial, Path(runs_dir).resolve())
    except UpdateFinishedTrialError:
        return "failed"  # ended meanwhile by a reaper that took it for lost: its retry runs it
    beat = _Heartbeat(study, trial)
    run_dir = None
    try:
        req = spec.request(suggest(trial, spec))
        config = train_config(req)
        sweep = {"name": spec.name, "trial": trial.number, "storage": describe(storage_url, runs_dir)}
        submission = queue.Submission.of(req, config, f"sweep-{spec.name}-t{trial.number}", sweep=sweep)
        req = submission.request  # its device resolved
        run_dir = queue.submit(runs_dir, [submission], worker=(pid, start_time(pid)))[0]
        trial.set_user_attr("run", run_dir.name)
        status, reason, value = _train_when_started(run_dir, config, req, sweep, trial,
                                                     should_stop)
    except Exception as e:  # noqa: BLE001  a trial that cannot run is a failed trial, never a lost worker
        status, reason, value = "failed", str(e).splitlines()[0] if str(e) else type(e).__name__, None
        if run_dir is not None:
            queue.end_claimed(run_dir, reason)  # never left "starting" under this live worker's pid
    finally:
        beat.stop()
    lost = status in ("stopped", "cancelled") and should_stop()  # the worker was stopped, not the trial
    finish_trial(study, trial, status, "its worker was stopped mid-trial" if lost else reason, value, lost)
    return status


def finish_trial(study, trial, status: str, reason: str, value, lost: bool) -> None:
    """The trial's end in the study; one a reaper ended meanwhile (taken for lost) is left as it is."""
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    try:
        trial.set_user_attr("status", status)
        if reason:
            trial.set_user_attr("reason", reason)
    except UpdateFinishedTrialError:
        return
    if status == "done" and value is not None:
        study.tell(trial, round(100 * value, 4), skip_if_finished=True)
    else:
        study.tell(trial, state=TrialState.PRUNED if status == PRUNED else TrialState.FAIL, skip_if_finished=True)
    if lost:
        retry_lost(study, study._storage.get_trial(trial._trial_id))


def _train_when_started(run_dir: Path, config, req, sweep: dict, trial, should_stop) -> tuple:
    """(status, reason, final test accuracy): waits for the queue to give this worker the run's slots."""
    ended = wait_for_turn(run_dir, should_stop)
    if ended is not None:
        status, reason = ended
        return status, "the worker was stopped before the run started" if status == "cancelled" else reason, None
    try:
        return _train(run_dir, config, req, sweep, trial, should_stop)
    finally:
        queue.pump(run_dir.parent)  # this run's slots are free


def _train(run_dir: Path, config, req, sweep: dict, trial, should_stop) -> tuple:
    from ..runs.training import train_into
    from ..runs.writer import RunWriter

    writer = RunWriter(run_dir, {**config.to_dict(), "request": req.to_dict(), "sweep": sweep})
    pruned: dict = {}

    def listen(event: dict) -> dict:
        if event["event"] == "epoch" and not pruned:
            report_epoch(trial, event, config.recipe.epochs, pruned)
        elif event["event"] == "end" and pruned.get("ended") and event["status"] == "stopped":
            event = {**event, "reason": "the sweep had already ended this trial (its worker was taken for "
                     "lost); its retry trains these parameters again"}
        elif event["event"] == "end" and pruned and event["status"] == "stopped":
            event = {**event, "status": PRUNED, "reason": f"pruned by the sweep after epoch {pruned['epoch']}: "
                     f"test accuracy {100 * pruned['acc']:.2f}% was behind the other trials at that epoch"}
        return event

    result = train_into(writer, config, lambda: _dataset(config.device, req.synthetic), listen=listen,
                        should_stop=lambda: bool(pruned) or should_stop())
    status = PRUNED if pruned and not pruned.get("ended") and result["status"] == "stopped" else result["status"]
    return status, (read_status(run_dir) or {}).get("reason", ""), result.get("test_acc")


def report_epoch(trial, event: dict, epochs: int, pruned: dict) -> None:
    """An epoch's test accuracy to the study, and its verdict. A storage that fails a moment costs this
    epoch's point, not the run; a trial the study has ended meanwhile (taken for lost) stops training."""
    from optuna.exceptions import UpdateFinishedTrialError

    try:
        trial.report(round(100 * event["test_acc"], 4), event["epoch"])
        if event["epoch"] < epochs and trial.should_prune():
            pruned.update(epoch=event["epoch"], acc=event["test_acc"])
    except UpdateFinishedTrialError:
        pruned.update(epoch=event["epoch"], acc=event["test_acc"], ended=True)
    except Exception:  # noqa: BLE001  a storage hiccup
        pass


def _warm_up(spec: SweepSpec) -> None:
    """What every trial needs, loaded once per worker before a trial's clock starts: the data, and the
    module torch loads when a process makes its first optimizer (torch._dynamo, about 2 s here)."""
    import torch

    _dataset(spec.device, spec.synthetic)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def _dataset(device: str, synthetic: Optional[int]):
    """MNIST (or N synthetic digits) on the device, loaded once per worker."""
    from ..data import load_dataset
    from ..engine.loop import resolve_device

    key = (str(resolve_device(device)), synthetic)
    if key not in _DATA:
        _DATA[key] = load_dataset(key[0], None, synthetic)
    return _DATA[key]


class _Heartbeat:
    """Optuna's sign of life for a trial in a database storage, every heartbeat interval, in a thread."""

    def __init__(self, study, trial):
        self._done = threading.Event()
        self._thread = None
        storage = study._storage
        if beats(storage):
            storage.record_heartbeat(trial._trial_id)
            every = T.heartbeat_of(study)  # the sweep's own: its reapers judge by the same
            self._thread = threading.Thread(target=self._beat, args=(storage, trial._trial_id, every), daemon=True)
            self._thread.start()

    def _beat(self, storage, trial_id: int, every: int) -> None:
        while not self._done.wait(every):
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # noqa: BLE001  a missed beat; three in a row fail the trial (and retry it)
                pass

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
