"""`submit` (enqueue a training run) and `queue` (the queued runs in order; cancel one; move one first)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..runs import queue
from ..runs.files import QUEUED, default_runs_dir
from ..runs.manage import RunRefused, run_dir as named_run
from ..runs.reader import run_index, waiting_extension
from .parser import UsageError

# Options a queued run cannot carry: it trains in its own new folder, on the data of the process that
# starts it (NETLIB_DATA_DIR), and a queued.json holds no paths (netlib/runs/queue.py).
NOT_QUEUED = ("run_dir", "extend", "save", "data_dir", "no_record", "queued")


def submit(args) -> int:
    """Enqueue `train` with these options in a new folder under the runs folder; print the folder."""
    from ..engine.setup import train_config
    from ..request import from_arguments

    for option in NOT_QUEUED:
        if getattr(args, option, None):
            raise UsageError(f"submit takes no --{option.replace('_', '-')}: a queued run trains in its own "
                             "new folder under the runs folder (the data folder: NETLIB_DATA_DIR)")
    try:
        req = from_arguments(args)
        config = train_config(req)
        if config.finetune:  # its set is checked now, not when the queue starts it
            from ..handwriting.data import trainable_set
            from ..handwriting.sets import handwriting_dir

            trainable_set(req.handwriting, handwriting_dir(Path(args.runs_dir or default_runs_dir())))  # the run's
        run_dir = queue.submit(Path(args.runs_dir or default_runs_dir()), [queue.Submission.of(req, config)])[0]
    except ValueError as e:  # QueueRefused too
        raise UsageError(str(e)) from None
    print(run_dir)
    return 0


def show(args) -> int:
    """`queue`: list the queued runs and +1 epochs in line; `queue cancel NAME`, `queue front NAME`."""
    root = Path(args.runs_dir or default_runs_dir())
    if args.action != "list":
        return _act(root, args.action, args.name)
    if args.name:
        raise UsageError(f"unexpected argument {args.name!r} (queue cancel NAME, queue front NAME)")
    line = sorted((e for e in run_index(root) if e.queue_position), key=lambda e: e.queue_position)
    for e in line:  # queued runs, and ended runs whose +1 epoch waits (extend: its epochs)
        more = waiting_extension(e.dir) if e.status != QUEUED else None
        row = {"position": e.queue_position, "name": e.name, "model": e.model, "network": e.network,
               "recipe": e.recipe, "threads": e.config.get("threads"), "device": e.config.get("device")}
        if more:
            row.update(extend=more.get("epochs"), threads=more.get("threads") or row["threads"],
                       device=more.get("device") or row["device"])
        if args.json:
            print(json.dumps(row))
        else:
            threads = f"{row['threads']} thread(s)" if row["threads"] else "all CPU threads"
            what = f"+{row['extend']} epoch(s) of " if more else ""
            print(f"{e.queue_position:>3}  {e.name}  {what}{e.network or e.model} · {e.recipe} · "
                  f"{threads if not str(row['device']).startswith('cuda') else 'cuda'}")
    if not line and not args.json:
        print(f"no queued runs in {root} ({queue.cpu_slots()} CPU slots)")
    return 0


def _act(root: Path, action: str, name) -> int:
    if not name:
        raise UsageError(f"queue {action} needs a run name (a folder name in {root})")
    try:  # the runs commands' check: ".", "..", "/", "\\", a link leading out are no run names
        run_dir = named_run(root, name)
    except (ValueError, RunRefused) as e:
        raise UsageError(str(e)) from None
    done = queue.cancel(run_dir) if action == "cancel" else queue.to_front(run_dir)
    if not done:
        status = next((e.status for e in run_index(root) if e.name == name), "not a run")
        print(f"netlib: error: run {name} is not queued, nor its +1 epoch (it is {status})", file=sys.stderr)
        return 1
    place = queue.position(run_dir)
    print(f"{name}: " + ("cancelled" if action == "cancel" else f"position {place}" if place else "started"))
    return 0
