"""The training process the queue starts (`python -m netlib.runs.training RUN_DIR`: a queued run, or an ended
run's +1 epoch), the data a run trains on, and the one function that trains a config into a run folder
(that process, `train` and a sweep worker use it)."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Optional

from .files import QUEUE_LOCK, RunDirError, default_runs_dir, first_line
from .reader import read_status


def main(argv: list[str]) -> int:
    """The process the queue starts for a run folder: it waits until the pump that started it has recorded
    it, trains what waits there (a queued run's request, or the run's +1 epoch the pump gave this process)
    into the folder, then pumps (its slots are free). What stops it before training is one line in the
    run's process.log; exit 2 for what cannot train."""
    run_dir = Path(argv[0])
    from .extension import look
    from .queue import await_pump

    await_pump(run_dir)
    try:
        pending = look(run_dir)
        return _train_further(run_dir, pending.record) if pending and pending.mine else _train_queued(run_dir)
    except (Exception, KeyboardInterrupt) as e:  # one line, last in process.log (what the pages show)
        from ..mnist import DataError

        if not isinstance(e, (ValueError, OSError, RunDirError, DataError, KeyboardInterrupt)):
            traceback.print_exc()  # a bug: its traceback too, above the line
        interrupted = isinstance(e, KeyboardInterrupt)
        print(f"netlib: {'' if interrupted else 'error: '}{first_line(e)}", file=sys.stderr)
        _not_trained(run_dir, first_line(e))
        return 130 if interrupted else 2 if isinstance(e, ValueError) else 1
    finally:
        pump_after(run_dir)


def _not_trained(run_dir: Path, why: str) -> None:
    """What this process was started for ended before training, or failed before its writer could say so:
    said where the queue reads it, so the pump after it counts this process's slots free."""
    from . import extension, queue

    pending = extension.look(run_dir)
    if pending is not None and pending.mine:  # a +1 epoch: the run stays as it was
        extension.fail(run_dir, f"+1 epoch could not start: {why}")
    elif (read_status(run_dir) or {}).get("pid") == os.getpid():  # "starting": the writer never opened
        queue.end_claimed(run_dir, f"the training process ended before training began: {why}")


def _train_queued(run_dir: Path) -> int:
    from ..engine.setup import train_config
    from .command import queued_request
    from .writer import RunWriter

    req = queued_request(run_dir)
    config = train_config(req)  # the one resolution: the queue made the same when it took the request
    writer = RunWriter(run_dir, {**config.to_dict(), "request": req.to_dict()})
    return _train(writer, config, lambda sets: training_data(config, None, req.synthetic, sets))


def _train_further(run_dir: Path, record: dict) -> int:
    """An ended run's +1 epoch, as extension.json asks (its own device; the queue counted its slots)."""
    from . import reopen
    from .extension import check

    check(record)  # as the pump did: the file may have been written again since
    run = reopen.further(run_dir, record["epochs"], record["lr"], record.get("threads"))
    writer = reopen.take_over(run_dir, run)
    return _train(writer, run.config, lambda sets: training_data(run.config, run.data_dir, run.synthetic, sets),
                  resume=run.state)


def _train(writer, config, data, resume: Optional[dict] = None) -> int:
    """train_recorded in this process of its own (its watchdog on); data(sets) loads the data from the
    sets folder beside the run's runs folder."""
    from ..handwriting.sets import handwriting_dir

    sets = handwriting_dir(writer.dir.parent)
    result = train_recorded(writer, config, lambda: data(sets), resume=resume)
    return 0 if result["status"] in ("done", "stopped") else 1


def train_recorded(writer, config, load: Callable, listen: Optional[Callable[[dict], dict]] = None,
                   resume: Optional[dict] = None, watchdog: bool = True) -> dict:
    """train_into guarded as a training process is: SIGTERM stops the run at the next batch, and (watchdog)
    a stop not answered within KILL_AFTER_S ends the process, whether or not a page watches (off for an
    in-process caller, a notebook or a test, which is never killed). load() loads the data; a fine-tuning
    run keeps a snapshot of what it trains from. fit's result."""
    from ..handwriting.changes import keep_snapshot
    from .processes import KILL_AFTER_S, StopWatchdog, signals_stop

    guard = StopWatchdog(writer.dir, lambda: writer.record_forced_stop(KILL_AFTER_S)).start() if watchdog else None
    stop = {"requested": False}
    with signals_stop(lambda: stop.update(requested=True)):
        return train_into(writer, config, lambda: keep_snapshot(writer.dir, load(), config.finetune), listen=listen,
                          should_stop=lambda: stop["requested"], resume=resume,
                          before_end=guard.close if guard else lambda: None)


def training_data(config, data_dir=None, synthetic=None, sets=None):
    """The data a run trains on (MNIST, or N synthetic digits; a fine-tuning run's handwriting set beside
    them, from the sets folder `sets`); ValueError (one line) for a limit or a batch larger than the
    training set, or a set that cannot be used (gone, empty, of one digit, hostile)."""
    from ..data import load_dataset

    data = load_dataset(config.device, data_dir, synthetic)
    n_train = len(data.train_x)
    if config.limit and config.limit > n_train:
        raise ValueError(f"--limit {config.limit} is larger than the training set ({n_train:,})")
    if config.recipe.batch_size > min(n_train, config.limit or n_train):
        raise ValueError(f"batch size {config.recipe.batch_size} is larger than the training set "
                         f"({min(n_train, config.limit or n_train):,} images)")
    if config.finetune:
        from ..handwriting.data import with_set

        return with_set(data, config.finetune, sets)
    return data


def pump_after(run_dir: Path) -> None:
    """A run's slots are free: start the queued runs that fit now, when the run is in a runs folder (the
    default one, or one the queue has used). Never fails the training process."""
    from .queue import pump

    root = Path(run_dir).parent
    try:
        if (root / QUEUE_LOCK).is_file() or (default_runs_dir().is_dir() and root.samefile(default_runs_dir())):
            pump(root)
    except Exception:  # noqa: BLE001  a queue problem is the next pump's to report, not this run's
        pass


def train_into(writer, config, data, listen: Optional[Callable[[dict], dict]] = None,
               should_stop: Callable[[], bool] = lambda: False, resume: Optional[dict] = None,
               before_end: Callable[[], None] = lambda: None) -> dict:
    """fit() with every event recorded by writer (a RunWriter), its checkpoints, train state and steering
    (pause, a new rate, stop) through the run folder; fit's result. data: a Dataset, or a function that
    loads it (a failure to load fails the run like one in training). listen(event) sees each event first
    and returns the event to record (a sweep marks a stopped trial "pruned"). An exception fails the run
    with its first line and is raised again; before_end runs first (a watchdog: the failure is the last
    word). The writer is closed in every case."""
    from ..engine.loop import fit

    def on_event(event: dict) -> None:
        writer.on_event(listen(event) if listen else event)

    try:
        data = data() if callable(data) else data
        return fit(config, data, on_event=on_event, should_stop=lambda: should_stop() or writer.should_stop(),
                   on_checkpoint=writer.save, steer=writer.steering, on_train_state=writer.save_train_state,
                   resume=resume)
    except BaseException as e:
        before_end()
        writer.fail(first_line(e))
        raise
    finally:
        before_end()
        writer.close()


if __name__ == "__main__":  # the module by its own name: one registry, one set of classes
    from netlib.runs.training import main as _main

    sys.exit(_main(sys.argv[1:]))
