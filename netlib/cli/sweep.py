"""`sweep create|work|show|list`: hyperparameter sweeps on Optuna, every trial a run in the run queue."""

from __future__ import annotations

import json
import signal
import sys
import threading
from dataclasses import fields
from pathlib import Path

from ..runs.files import default_runs_dir
from ..sweeps import trials as T
from ..sweeps.space import SpaceError, SweepSpec, check, check_name
from ..sweeps.storage import StorageError, describe, open_storage, storage_failure, storage_url
from ..runs.processes import signals_stop
from .parser import UsageError

SPEC_OPTIONS = tuple(f.name for f in fields(SweepSpec) if f.name != "name")  # `sweep create`'s flags


def run(args) -> int:
    runs_dir = Path(args.runs_dir or default_runs_dir())
    url = storage_url(args.storage)
    try:
        if args.action != "list":
            check_name(args.name)
        if args.action == "create":
            spec = check(SweepSpec(name=args.name, **{k: getattr(args, k) for k in SPEC_OPTIONS
                                                      if getattr(args, k) is not None}))
        storage = open_storage(url, runs_dir)
        return {"create": _create, "work": _work, "show": _show, "list": _list}[args.action](
            args, storage, runs_dir, url, *([spec] if args.action == "create" else []))
    except SpaceError as e:
        raise UsageError(str(e)) from None
    except StorageError as e:
        print(f"netlib: error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001  only the storage's own failures are answered here
        why = storage_failure(e)
        if why is None:
            raise
        print(f"netlib: error: the sweeps in {describe(url, runs_dir)} cannot be used: {why}", file=sys.stderr)
        return 1


def _create(args, storage, runs_dir: Path, url, spec: SweepSpec) -> int:
    T.create(spec, storage)
    axes = " × ".join(f"{k} ({len(v) if k != 'lr' or not spec.lr_range else 'log range'})"
                      for k, v in spec.axes().items()) or "one setting (nothing varies)"
    where = describe(url, runs_dir)
    if args.json:
        print(json.dumps({"sweep": spec.name, "trials": spec.total_trials(), "storage": where, "spec": spec.to_dict()}))
    else:
        print(f"sweep {spec.name}: {spec.total_trials()} trial(s), {spec.sampler} over {axes}; stored in {where}")
        print(f"start a worker (on this machine or any that reaches the storage): python -m netlib sweep work {spec.name}")
    return 0


def _work(args, storage, runs_dir: Path, url) -> int:
    from ..sweeps import workers
    from ..sweeps.worker import work

    study, spec = T.load(args.name, storage, with_sampler=True)
    stop = threading.Event()

    def report(row: T.TrialRow) -> None:
        value = f"{row.value:.2f}%" if row.value is not None else row.reason or "-"
        print(f"trial {row.number}: {row.state.lower()} {value}  {_params(row.params)}  run {row.run}", flush=True)

    # SIGTERM and Ctrl-C stop the worker cleanly: the trial's run stops at its next batch, the trial is
    # failed and enqueued again for another worker (it was not the trial's fault).
    with signals_stop(stop.set, (signal.SIGTERM, signal.SIGINT)), \
            workers.registered(runs_dir, spec.name, describe(url, runs_dir)):
        try:
            done = work(study, spec, runs_dir, url, args.trials, stop.is_set, report)
        except ValueError as e:  # this machine cannot train the sweep (--device cuda without a GPU)
            print(f"netlib: error: {e}", file=sys.stderr)
            return 1
    left = T.progress(study).get("WAITING", 0)
    print(f"this worker finished {done} trial(s); {left} left in the sweep"
          + (" (stopped)" if stop.is_set() else ""), flush=True)
    return 0


def _show(args, storage, runs_dir: Path, url) -> int:
    study, spec = T.load(args.name, storage)
    T.reap_lost(study)
    rows, best = T.rows(study), T.best(study)
    if args.json:
        for r in rows:
            print(json.dumps(r.to_dict()))
        print(json.dumps({"best": best.to_dict() if best else None}))
        return 0
    print(f"sweep {spec.name} · {spec.sampler} · {spec.total_trials()} trial(s) · {describe(url, runs_dir)}")
    for r in rows:
        value = f"{r.value:6.2f}%" if r.value is not None else "      -"
        where = r.run or "" if r.here or not r.host else f"{r.run} on {r.host}"
        print(f"{r.number:>4}  {r.state.lower():<8} {value}  {_params(r.params):<40} {where}  {r.reason}".rstrip())
    print(f"best: trial {best.number}, {best.value:.2f}% ({_params(best.params)}), run {best.run}" if best
          else "best: none yet (no trial has finished)")
    return 0


def _list(args, storage, runs_dir: Path, url) -> int:
    sweeps = T.list_sweeps(storage)
    for s in sweeps:
        if args.json:
            print(json.dumps(s))
        else:
            best = f"best {s['best']:.2f}%" if s["best"] is not None else "no result yet"
            print(f"{s['name']:<24} {s['trials']:>4} trial(s)  {best}  created {s['created']}")
    if not sweeps and not args.json:
        print(f"no sweeps in {describe(url, runs_dir)}")
    return 0


def _params(params: dict) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
