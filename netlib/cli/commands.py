"""What each `python -m netlib` subcommand does, once its arguments are parsed."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from ..bounded import FileRefused, not_a_file
from ..names import shape_kwargs
from ..request import from_arguments
from ..runs.files import CHECKPOINT, RunDirError
from .extend import extend_setup
from .parser import UsageError
from .printer import HumanPrinter


def train_setup(args):
    """(TrainConfig, resume state or None, data options, writer or None, the config a new run records or
    None) for `train` and `train --extend`."""
    from ..engine.setup import train_config
    from ..runs.writer import RunWriter

    if args.no_record and (args.run_dir or args.extend):
        raise UsageError("--no-record keeps no run folder: it goes with neither --run-dir nor --extend")
    try:
        if args.extend:
            return (*extend_setup(args), None)  # train --extend RUN_DIR: netlib/cli/extend.py
        req, run_dir = from_arguments(args), args.run_dir
        config = train_config(req)  # the one resolution: the queue and the dashboard use it too
    except ValueError as e:
        raise UsageError(str(e)) from None
    stored = {**config.to_dict(), "request": req.to_dict(),
              **({"data_dir": str(Path(args.data_dir).resolve())} if args.data_dir else {})}  # +1 epoch: any cwd
    writer = RunWriter(run_dir, stored) if run_dir else None
    new_run = (req, stored) if not run_dir and not args.no_record else None  # every train is a run
    return config, None, (args.data_dir, req.synthetic), writer, new_run


def _new_run(req, config, stored: dict, args):
    """A `train` without --run-dir is a run like any other: a request in the run queue of the runs folder,
    announced (the pages list it), that this process trains when the queue gives it its slots (it says
    so while it waits; Ctrl-C then cancels it). Made once the data is loaded and checked, so a usage
    error leaves no run behind."""
    from ..runs import queue
    from ..runs.files import default_runs_dir
    from ..runs.processes import this_process
    from ..runs.turn import wait_for_turn
    from ..runs.writer import RunWriter

    extra = {k: stored[k] for k in ("data_dir",) if k in stored}
    (run_dir,) = queue.submit(default_runs_dir(), [queue.Submission.of(req, config, **extra)],
                              worker=this_process())
    said = {"queued": args.quiet}
    if not args.quiet:
        print(f"run {run_dir.name}: {run_dir}", file=sys.stderr, flush=True)

    def waiting(status: dict) -> None:
        if not said["queued"]:
            print("queued behind other runs: it starts when their CPU threads are free (python -m netlib "
                  "queue; Ctrl-C cancels it)", file=sys.stderr, flush=True)
            said["queued"] = True
    try:
        ended = wait_for_turn(run_dir, waiting=waiting)
    except KeyboardInterrupt:
        queue.cancel(run_dir)
        raise
    if ended:
        raise RunDirError(f"run {run_dir.name} {ended[0]} before it started: {ended[1]}")
    return RunWriter(run_dir, stored)


def cmd_train(args) -> int:
    from ..engine.loop import fit
    from ..handwriting.sets import handwriting_dir
    from ..runs.processes import signals_stop
    from ..runs.training import pump_after, train_recorded

    if args.save:
        _check_save_target(args.save)  # refused before training, not after
    config, resume, (data_dir, synthetic), writer, new_run = train_setup(args)
    # a +1 epoch's process starts in the project folder: the sets beside its run's runs folder
    sets = handwriting_dir(Path(args.extend).parent) if args.extend else None
    data = None
    if new_run:  # the data first: a usage error leaves no run behind
        data = training_data(config, data_dir, synthetic, sets)
        writer = _new_run(new_run[0], config, new_run[1], args)
    stop = {"requested": False}
    show = _printer(args)
    with signals_stop(lambda: stop.update(requested=True)):  # SIGTERM while --save copies: ignored
        if writer is None:  # --no-record: nothing kept but what --save copies
            result = fit(config, data or training_data(config, data_dir, synthetic, sets),
                         on_event=show, should_stop=lambda: stop["requested"])
        else:
            try:  # the watchdog only in its own process (python -m netlib): an in-process caller is never killed
                load = lambda: data or training_data(config, data_dir, synthetic, sets)  # noqa: E731
                result = train_recorded(writer, config, load, listen=show, resume=resume,
                                        watchdog=getattr(args, "own_process", False))
            finally:
                pump_after(writer.dir)
        if args.save:
            _save_copy(args.save, writer, result, config)
    return 0 if result["status"] in ("done", "stopped") else 1


def _printer(args):
    """What the command prints of each event (JSON lines, a person's lines, or nothing); it returns the
    event, which train_into then records."""
    say = None
    if args.json:
        say = lambda e: print(json.dumps(e), flush=True)  # noqa: E731
    elif not args.quiet:
        say = HumanPrinter()

    def show(event: dict) -> dict:
        if say is not None:
            say(event)
        return event
    return show


def training_data(config, data_dir, synthetic, sets=None):
    """The data a run trains on (runs.training.training_data); what cannot train is a usage error."""
    from ..runs import training

    try:
        return training.training_data(config, data_dir, synthetic, sets)
    except ValueError as e:  # a limit or batch larger than the training set, a set that cannot be used
        raise UsageError(str(e)) from None


def _check_save_target(path: Path) -> None:
    """--save replaces a regular file; anything else (a FIFO would make the copy wait for a reader) is
    refused in one line."""
    kind = not_a_file(path)
    if kind:
        raise FileRefused(f"{path}: refused as --save, it is {kind}, not a regular file")


def _save_copy(path: Path, writer, result: dict, config) -> None:
    """--save: the run folder's checkpoint, or (without --run-dir) the final model saved directly."""
    _check_save_target(path)  # again: it may have been swapped for a FIFO while training
    if writer and (writer.dir / CHECKPOINT).is_file():
        shutil.copyfile(writer.dir / CHECKPOINT, path)
        return
    from ..checkpoint import save_checkpoint

    save_checkpoint(path, result["model"], config.model, config.model_kwargs, config.recipe.to_dict(),
                    {"test_acc": result.get("test_acc"), "epochs": result["epochs_completed"]},
                    extra={"recipe_name": config.recipe_name})


def cmd_summary(args) -> int:
    from ..analysis import cost
    from ..analysis.inspection import format_table, layer_table
    from ..models import DEFAULT_WIDTH, WIDTH_MODELS

    try:
        kwargs = shape_kwargs(args.model, args.blocks, args.width)
    except ValueError as e:
        raise UsageError(str(e)) from None
    rows = layer_table(args.model, **kwargs)
    width = kwargs.get("width", DEFAULT_WIDTH)
    with_cost = args.model in WIDTH_MODELS  # Inception and Naive: what the 1x1 convs cost at this width
    if args.json:
        for row in rows:
            print(json.dumps({"kind": "layer", **row}))
        if with_cost:  # then the 1x1 comparison, one line per block and branch
            for row in cost.comparison_rows(width):
                print(json.dumps({"kind": "1x1 cost", "name": f"{row['block']}.{row['branch']}",
                                  "width": width, "crossover_width": cost.crossover_width(), **row}))
    else:
        print(format_table(rows))
        if with_cost:
            print("\n" + cost.format_comparison(width))
    return 0


def _device(name: str):
    """--device resolved (auto -> cuda or cpu); cuda asked for on a machine without one is a usage error."""
    from ..engine.loop import resolve_device

    try:
        return resolve_device(name)
    except ValueError as e:
        raise UsageError(str(e)) from None


def cmd_predict(args) -> int:
    from ..analysis.images import ImageError, load_image
    from ..analysis.predict import predict_image
    from ..checkpoint import load_checkpoint

    device = _device(args.device)
    model, meta = load_checkpoint(args.checkpoint)
    model = model.to(device)
    status = 0
    for path in args.images:
        try:
            result = predict_image(model, load_image(path))
        except (ImageError, OSError) as e:
            print(f"netlib: error: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps({"image": str(path), **result}))
        elif result["blank"]:
            print(f"{path}: blank (no digit drawn)")
        elif result["not_a_digit"]:
            print(f"{path}: not read: {result['hint']}")
        else:
            p = result["probs"][result["digit"]]
            print(f"{path}: {result['digit']} ({100 * p:.1f}%{', not sure' if result['unsure'] else ''})")
    return status


def cmd_evaluate(args) -> int:
    import torch

    from ..analysis.evaluation import evaluate_checkpoint, format_report

    if args.threads:
        torch.set_num_threads(args.threads)
    ev, meta = evaluate_checkpoint(args.checkpoint, args.data_dir, device=_device(args.device))
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "model": meta["model"], **ev.to_dict()}))
    else:
        print(f"{args.checkpoint}: {meta['model']} on MNIST's {ev.count:,} test digits")
        print(format_report(ev))
    return 0


def cmd_data(args) -> int:
    from ..mnist import FILES, ensure_mnist

    root = ensure_mnist(args.data_dir)
    print(f"MNIST verified (md5 of all {len(FILES)} files) in {Path(root) / 'MNIST' / 'raw'}")
    return 0
