"""`train --extend RUN_DIR`: train an ended run further from its own config, data and saved train state, when
the run queue gives it its turn."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

from ..runs.files import RunDirError


def extend_setup(args):
    """Train a finished run further (netlib/runs/reopen.py) once the queue gives this process its turn: (its
    TrainConfig, its train state, its data, the writer that has taken the run over)."""
    from ..lab.steering import extension_rate
    from ..runs import reopen

    run_dir = Path(args.extend)
    run = reopen.further(run_dir, args.epochs, args.lr, args.threads, args.device)
    if not args.lr:  # the rate the Train page's +1 epoch proposes (not where a onecycle schedule ended)
        run.state["lr"] = extension_rate(run.saved, run.state.get("lr")).lr
    _take_turn(run_dir, run.config, run.state["lr"], args)
    try:
        writer = reopen.take_over(run_dir, run)
    except BaseException:
        _withdraw(run_dir)  # its turn given back: the run stays as it was, its slots free
        raise
    return run.config, run.state, (args.data_dir or run.data_dir, run.synthetic), writer


def _take_turn(run_dir: Path, config, lr: float, args) -> None:
    """Wait for the run queue's word that this process may take the run over: `train --extend` typed in a
    terminal puts its +1 epoch in line first, as a worker that trains it itself (like `train`:
    commands._new_run), and waits for its turn: it says so, and Ctrl-C then cancels it. Every refusal
    has come before."""
    from ..runs import queue
    from ..runs.processes import this_process

    try:
        queue.extend(run_dir, config.recipe.epochs, lr, args.threads, worker=this_process(), device=config.device)
        why = _wait_for_turn(run_dir, args.quiet)
    except KeyboardInterrupt:  # while it asks, waits, or was just given its turn: out of the line
        _withdraw(run_dir)
        raise
    if why:
        raise RunDirError(f"run {run_dir.name}: {why}")


def _withdraw(run_dir: Path) -> None:
    """This process's own +1 epoch (waiting, or given its turn) leaves the line; the run stays as it was."""
    from ..runs import extension, queue

    with queue.locked(run_dir.parent):
        extension.withdraw(run_dir)
    queue.pump(run_dir.parent)


def _wait_for_turn(run_dir: Path, quiet: bool) -> Optional[str]:
    """None once the queue has given this process the +1 epoch's slots; else why it will not start."""
    from ..runs import extension, queue
    from ..runs.turn import POLL_S, PUMP_EVERY_S

    said, last_pump = quiet, time.monotonic()
    while True:
        pending = extension.look(run_dir)
        if pending is None:
            return "its +1 epoch was cancelled before it started"
        if pending.mine:
            return None
        if pending.state == extension.FAILED:
            return queue.take_failure(run_dir) or pending.reason
        if pending.state == extension.STARTED:
            return "another +1 epoch of the run has started"
        if not said:
            print("queued behind other runs: the +1 epoch starts when their CPU threads are free (python -m "
                  "netlib queue; Ctrl-C cancels it)", file=sys.stderr, flush=True)
            said = True
        if time.monotonic() - last_pump > PUMP_EVERY_S:  # no other process may pump meanwhile
            queue.pump(run_dir.parent)
            last_pump = time.monotonic()
        time.sleep(POLL_S)
