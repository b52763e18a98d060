"""A sweep's Optuna study: create it (every trial enqueued, so workers anywhere take disjoint ones), load
it, list its trials as rows, and fail the trials whose worker is gone (then retry them once)."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from datetime import datetime
from dataclasses import asdict, dataclass, field
from typing import Optional

from ..runs.processes import same_process, start_time
from .space import AXES, SpaceError, SweepSpec, check
from .storage import GRACE_BEATS, HEARTBEAT_ATTR, StorageError, heartbeat_ages, heartbeat_s, retry_lost

SPEC_ATTR = "netlib_sweep"  # the study's user attribute holding its SweepSpec
METRIC = "test accuracy (%)"
HOST = socket.gethostname()
WORKER_ATTR = "worker"  # a trial's user attribute: who trains it, written once, in one piece
NO_WORKER_AFTER_S = 120.0  # a running trial no worker has claimed (killed between taking and claiming)


@dataclass
class TrialRow:
    """One trial as the Sweep page, `sweep show` and the Runs page read it."""

    number: int
    state: str  # WAITING, RUNNING, COMPLETE, PRUNED, FAIL
    params: dict
    value: Optional[float]
    run: Optional[str] = None  # the run folder's name
    runs_dir: Optional[str] = None  # where it is, on `host`
    host: Optional[str] = None
    reason: str = ""
    epochs: dict = field(default_factory=dict)  # epoch -> test accuracy (%) reported so far
    seconds: Optional[float] = None
    retry_of: Optional[int] = None
    machine: Optional[str] = None  # the host name and machine id: two machines can share a host name

    @property
    def here(self) -> bool:
        """Is the trial's run folder on this machine?"""
        return bool(self.run) and (self.machine == MACHINE if self.machine else self.host == HOST)

    def to_dict(self) -> dict:
        return {**asdict(self), "epochs": {str(k): v for k, v in sorted(self.epochs.items())}}


def _machine_id() -> str:
    """This machine as a trial records it: its host name and, where there is one, its machine id."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path) as f:
                return f"{HOST}/{f.read(64).strip()[:16]}"
        except OSError:
            continue
    return HOST


MACHINE = _machine_id()


def create(spec: SweepSpec, storage) -> "object":
    """A new study for spec, every trial enqueued; SpaceError if the name is taken or the spec is bad.
    The spec is written last: a study without it is still being made, and no worker takes its trials."""
    import optuna

    check(spec)
    if _exists(storage, spec.name):
        raise SpaceError(f"a sweep named {spec.name!r} already exists there (sweep show {spec.name})")
    try:
        study = optuna.create_study(study_name=spec.name, storage=storage, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:  # made by someone else since the look above
        raise SpaceError(f"a sweep named {spec.name!r} already exists there (sweep show {spec.name})") from None
    study.set_metric_names([METRIC])
    study.set_user_attr(HEARTBEAT_ATTR, heartbeat_s())
    points = spec.grid()[:spec.total_trials()] if spec.sampler == "grid" else [{}] * spec.total_trials()
    for params in points:  # random and TPE: empty placeholders, their sampler fills them when taken
        study.enqueue_trial(params, skip_if_exists=False)
    study.set_user_attr(SPEC_ATTR, spec.to_dict())
    return study


def load(name: str, storage, with_sampler: bool = False):
    """(study, spec) of an existing sweep; SpaceError when there is none of that name."""
    import optuna

    if not _exists(storage, name):
        raise SpaceError(f"no sweep named {name!r} there (sweep list shows the sweeps)")
    study = optuna.load_study(study_name=name, storage=storage)
    attrs = study.user_attrs
    if SPEC_ATTR not in attrs:
        raise SpaceError(f"{name!r} there is not a sweep, or one still being created (sweep list shows the sweeps)")
    try:
        spec = SweepSpec.from_dict(attrs[SPEC_ATTR])
    except (KeyError, TypeError, ValueError) as e:
        raise StorageError(f"sweep {name!r} cannot be read: {e}") from None
    if with_sampler:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler(spec), pruner=pruner(spec))
    return study, spec


def _exists(storage, name: str) -> bool:
    try:
        storage.get_study_id_from_name(name)
        return True
    except KeyError:
        return False


def sampler(spec: SweepSpec):
    import optuna

    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(n_startup_trials=min(10, max(2, spec.total_trials() // 3)))
    return optuna.samplers.RandomSampler()  # a grid's trials are all enqueued: nothing is left to sample


def pruner(spec: SweepSpec):
    """Pruning on per-epoch test accuracy: from the first epoch, once two trials have finished."""
    import optuna

    if spec.prune == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0)
    if spec.prune == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    return optuna.pruners.NopPruner()


def rows(study) -> list[TrialRow]:
    """Every trial, in number order."""
    out, trials = [], study.get_trials(deepcopy=False)
    lost = {t.user_attrs.get("retry_of"): (t.number, t.user_attrs.get("lost", "")) for t in trials}
    for t in trials:
        a, w = t.user_attrs, worker_of(t)
        start, end = t.datetime_start, t.datetime_complete or datetime.now()
        seconds = (end - start).total_seconds() if start else None
        out.append(TrialRow(t.number, t.state.name, {k: t.params[k] for k in AXES if k in t.params}, t.value,
                            a.get("run"), w.get("runs_dir"), w.get("host"), _reason(t, lost),
                            dict(t.intermediate_values), seconds, a.get("retry_of"), w.get("machine")))
    return out


def claim(trial, runs_dir) -> None:
    """Record who trains the trial, in one write: a reaper never sees half of it."""
    pid = os.getpid()
    trial.set_user_attr(WORKER_ATTR, {"host": HOST, "machine": MACHINE, "pid": pid, "started": start_time(pid),
                                      "runs_dir": str(runs_dir)})


def worker_of(t) -> dict:
    """The trial's worker record ({} before one claimed it)."""
    w = t.user_attrs.get(WORKER_ATTR)
    return w if isinstance(w, dict) else {}


def _reason(t, lost: dict) -> str:
    """Why a trial ended as it did; a lost one says which trial runs it again."""
    reason = t.user_attrs.get("reason", "")
    if t.number in lost:
        again, why = lost[t.number]
        reason = f"{reason or why}; retried as trial {again}"
    return reason


def best(study) -> Optional[TrialRow]:
    done = [r for r in rows(study) if r.state == "COMPLETE" and r.value is not None]
    return max(done, key=lambda r: (r.value, -r.number)) if done else None


def progress(study) -> dict:
    """{state: count} of the trials that count (a lost trial that was retried counts as its retry)."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    return dict(Counter(t.state.name for t in trials if t.number not in retried))


def take(study):
    """The next enqueued trial, now RUNNING and this caller's; None when none is left (workers on many
    machines pop from the same list: each trial goes to exactly one of them)."""
    import optuna

    trial_id = study._pop_waiting_trial_id()  # Optuna's own atomic pop (Study.ask uses it)
    return None if trial_id is None else optuna.Trial(study, trial_id)


def heartbeat_of(study) -> int:
    """The sweep's own heartbeat interval, recorded when it was created (a sweep made before it was
    recorded: $NETLIB_SWEEP_HEARTBEAT_S, else 10 s). Its workers beat by it, its reapers judge by it."""
    value = study.user_attrs.get(HEARTBEAT_ATTR)
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 3600
    return value if ok else heartbeat_s()


def reap_lost(study) -> list[int]:
    """Fail the running trials whose worker is gone, and retry each once: a worker on this machine by its
    process, one elsewhere by its heartbeats (database storage), silent for more than GRACE_BEATS of
    this sweep's own intervals. The trial numbers failed here."""
    from optuna.trial import TrialState

    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    every = heartbeat_of(study)
    try:
        ages = heartbeat_ages(study._storage, [t._trial_id for t in running])
    except Exception:  # noqa: BLE001  a storage hiccup: the next look tries again
        ages = {}
    failed = []
    for t in running:
        w, age = worker_of(t), ages.get(t._trial_id)
        gone = w.get("machine") == MACHINE and not same_process(w.get("pid"), w.get("started"))
        unclaimed = not w and t.datetime_start and time.time() - t.datetime_start.timestamp() > NO_WORKER_AFTER_S
        if gone:
            why = f"its worker (process {w.get('pid')} on {HOST}) ended mid-trial"
        elif unclaimed:
            why = "no worker claimed it mid-trial"
        elif age is not None and age > GRACE_BEATS * every:
            why = (f"its worker stopped sending heartbeats mid-trial (the last one {age:.0f} s ago; "
                   f"this sweep's workers beat every {every} s)")
        else:
            continue
        if _fail(study, t, why):
            failed.append(t.number)
    return failed


def _fail(study, t, reason: str) -> bool:
    import optuna
    from optuna.trial import TrialState

    storage = study._storage
    try:
        storage.set_trial_user_attr(t._trial_id, "reason", reason)
        if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False  # its worker finished it meanwhile
    retry_lost(study, storage.get_trial(t._trial_id))
    return True


def list_sweeps(storage) -> list[dict]:
    """Every sweep in a storage: name, trial counts, best value, its spec."""
    import optuna

    out = []
    for s in optuna.get_all_study_summaries(storage, include_best_trial=True):
        spec = s.user_attrs.get(SPEC_ATTR)
        if spec is None:
            continue  # a study some other tool made: not a sweep
        best_value = s.best_trial.value if s.best_trial is not None else None
        try:
            trials = SweepSpec.from_dict(spec).total_trials()  # a retried trial counts once
        except (KeyError, TypeError, ValueError):
            trials = s.n_trials
        out.append({"name": s.study_name, "trials": trials, "best": best_value,
                    "created": s.datetime_start.isoformat(timespec="seconds") if s.datetime_start else None,
                    "spec": spec})
    return out
