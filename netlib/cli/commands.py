"""What each `python -m netlib` subcommand does, once its arguments are parsed."""

from __future__ import annotations

import io
import json
import shutil
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from ..bounded import FileRefused, check_folder, read_bounded, regular_or_absent
from ..data import load_dataset
from ..runs.files import CHECKPOINT, CONFIG, LIVE_STATUSES, TRAIN_STATE, RunDirError
from .parser import UsageError, build_parser
from .printer import HumanPrinter

MAX_TRAIN_STATE_BYTES = 256 << 20  # weights, their average and the optimizer's moments: ~4x a checkpoint


def train_setup(args):
    """(TrainConfig, resume state or None, data options, writer or None) for `train` or `train --extend`."""
    from ..engine.loop import TrainConfig, resolve_device
    from ..recipes import resolve_recipe
    from ..runs.writer import RunWriter

    try:
        if args.extend:
            return extend_setup(args)
        device = resolve_device(args.device)
        if not args.model:
            raise ValueError("the following arguments are required: --model (or --extend RUN_DIR)")
        kwargs = model_kwargs(args.model, args.blocks)
        recipe = resolve_recipe(args.recipe, args.model, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, optimizer=args.optimizer, schedule=args.schedule,
                                augment=args.augment)
    except ValueError as e:
        raise UsageError(str(e)) from None
    config = TrainConfig(model=args.model, recipe_name=args.recipe, recipe=recipe, model_kwargs=kwargs,
                         seed=args.seed, device=str(device), threads=args.threads, limit=args.limit,
                         record_grads=args.record_grads)
    writer = RunWriter(args.run_dir, {**config.to_dict(), "argv": sys.argv[1:]}) if args.run_dir else None
    return config, None, (args.data_dir, args.synthetic), writer


def model_kwargs(model: str, blocks) -> dict:
    from ..models import DEPTH_MODELS, MAX_BLOCKS

    if blocks is None:
        return {}
    if model not in DEPTH_MODELS:
        raise ValueError(f"--blocks applies to {' and '.join(DEPTH_MODELS)}, not {model}")
    if blocks > MAX_BLOCKS:
        raise ValueError(f"--blocks must be 1 to {MAX_BLOCKS}, got {blocks}")
    return {"blocks": blocks}


def extend_setup(args):
    """Train a finished run further: its own config and data, its saved train state, its run dir."""
    import dataclasses

    import torch

    from ..engine.loop import TrainConfig, resolve_device
    from ..recipes import Recipe, validate_recipe
    from ..runs.writer import RunWriter

    run_dir = Path(args.extend)
    saved, status = _ended_run(run_dir)
    if status is None or status["status"] in LIVE_STATUSES:
        raise ValueError(f"run {run_dir.name} is still {status['status'] if status else 'starting'}; "
                         "extend it once it has ended")
    # The run's own device unless asked otherwise (a CPU run stays on the CPU on a GPU machine).
    own = saved.get("device", "auto").split(":")[0]
    if own == "cuda" and not torch.cuda.is_available():
        own = "cpu"  # trained on a GPU, extended here: the state loads onto the CPU
    device = resolve_device(own if args.device == "auto" else args.device)
    state = _train_state(run_dir, device)
    if args.lr:
        state["lr"] = args.lr
    try:  # config.json is a file a person can edit: its recipe is checked like a command line's
        recipe = dataclasses.replace(Recipe.from_dict(saved["recipe"]), epochs=args.epochs or 1)
        validate_recipe(recipe)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"run {run_dir.name} has a recipe that cannot train ({e}) in its {CONFIG}") from None
    config = TrainConfig(model=saved["model"], recipe_name=saved["recipe_name"], recipe=recipe,
                         model_kwargs=saved.get("model_kwargs", {}), seed=saved.get("seed", 0),
                         device=str(device), threads=args.threads or saved.get("threads"),
                         limit=saved.get("limit"), record_grads=saved.get("record_grads", True))
    # The original data: the same --synthetic / --data-dir the run was started with.
    first = build_parser().parse_args(saved.get("argv") or ["train", "--model", saved["model"]])
    writer = RunWriter(run_dir, saved, extending=True)
    return config, state, (args.data_dir or first.data_dir, first.synthetic), writer


def _ended_run(run_dir: Path) -> tuple[dict, Optional[dict]]:
    """(config, status) of a run folder to extend; RunDirError (exit 1) for a FIFO, a device or a huge
    file among them, ValueError (exit 2) for a folder that is no run."""
    from ..runs.files import UNREADABLE
    from ..runs.reader import read_json, read_status

    try:
        check_folder(run_dir, "a run folder")
        saved = read_json(run_dir / CONFIG)
    except FileRefused as e:
        raise RunDirError(str(e)) from None
    if saved is None:
        raise ValueError(f"{run_dir} is not a run directory (no readable {CONFIG})")
    from ..models import MODELS

    required, optional = {"model": str, "recipe_name": str, "recipe": dict}, {"device": str, "model_kwargs": dict}
    wrong = [k for k, kind in required.items() if not isinstance(saved.get(k), kind)]
    wrong += [k for k, kind in optional.items() if not isinstance(saved.get(k, kind()), kind)]
    if saved.get("model") not in MODELS or wrong:  # a config.json edited by hand
        raise ValueError(f"run {run_dir.name} has a {CONFIG} that cannot be used "
                         f"({', '.join(wrong) or 'model'} missing or of the wrong kind)")
    status = read_status(run_dir)
    if status and status["status"] == UNREADABLE:
        raise RunDirError(status["reason"])
    return saved, status


def _train_state(run_dir: Path, device):
    """The run's train_state.pt, read bounded from one handle, loaded with weights_only=True."""
    import torch

    path = run_dir / TRAIN_STATE
    try:
        data = read_bounded(path, MAX_TRAIN_STATE_BYTES)
    except FileNotFoundError:
        raise ValueError(f"run {run_dir.name} has no saved train state ({TRAIN_STATE}): it finished no "
                         "epoch, or was made by an older version") from None
    except FileRefused as e:
        raise RunDirError(str(e)) from None
    try:
        return torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        raise ValueError(f"cannot read {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None


def cmd_train(args) -> int:
    from ..engine.loop import fit
    from ..engine.steering import NO_STEERING
    from ..runs.processes import KILL_AFTER_S, StopWatchdog

    if args.save and not regular_or_absent(args.save):  # refused before training, not after
        raise FileRefused(f"{args.save}: refused as --save, it is not a regular file")
    config, resume, (data_dir, synthetic), writer = train_setup(args)
    stop = {"requested": False}
    listeners = _listeners(writer, args)
    # In its own process (python -m netlib), a stop not answered within KILL_AFTER_S ends the process,
    # whether or not a page watches; an in-process caller (a notebook, a test) is never killed.
    watchdog = None
    if writer and getattr(args, "own_process", False):
        watchdog = StopWatchdog(writer.dir, lambda: writer.record_forced_stop(KILL_AFTER_S)).start()
    with _sigterm_stops(stop):
        try:
            data = _training_data(config, data_dir, synthetic)
            result = fit(config, data,
                         on_event=lambda e: [listen(e) for listen in listeners],
                         should_stop=lambda: stop["requested"] or (writer is not None and writer.should_stop()),
                         on_checkpoint=writer.save if writer else None,
                         steer=writer.steering if writer else lambda: NO_STEERING,
                         on_train_state=writer.save_train_state if writer else None,
                         resume=resume)
        except BaseException as e:
            if watchdog:
                watchdog.close()  # before fail(): its status is the last word
            if writer:
                reason = str(e).splitlines()[0] if str(e) else type(e).__name__
                writer.fail(reason if not isinstance(e, KeyboardInterrupt) else "interrupted")
            raise
        finally:
            if watchdog:
                watchdog.close()
            if writer:
                writer.close()
        if args.save:
            _save_copy(args.save, writer, result, config)
    return 0 if result["status"] in ("done", "stopped") else 1


def _listeners(writer, args) -> list:
    out = [writer.on_event] if writer else []
    if args.json:
        out.append(lambda e: print(json.dumps(e), flush=True))
    elif not args.quiet:
        out.append(HumanPrinter())
    return out


@contextmanager
def _sigterm_stops(stop: dict):
    """While training, SIGTERM (a shutdown, kill PID) becomes a clean stop at the next batch; the
    caller's own handler is put back afterwards. Python lets only the main thread set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _training_data(config, data_dir, synthetic):
    data = load_dataset(config.device, data_dir, synthetic)
    n_train = len(data.train_x)
    if config.limit and config.limit > n_train:
        raise UsageError(f"--limit {config.limit} is larger than the training set ({n_train:,})")
    if config.recipe.batch_size > min(n_train, config.limit or n_train):
        raise UsageError(f"batch size {config.recipe.batch_size} is larger than the training set "
                         f"({min(n_train, config.limit or n_train):,} images)")
    return data


def _save_copy(path: Path, writer, result: dict, config) -> None:
    """--save: the run folder's checkpoint, or (without --run-dir) the final model saved directly."""
    if not regular_or_absent(path):  # swapped for a FIFO while training: shutil would wait for a reader
        raise FileRefused(f"{path}: refused as --save, it is not a regular file")
    if writer and (writer.dir / CHECKPOINT).is_file():
        shutil.copyfile(writer.dir / CHECKPOINT, path)
        return
    from ..checkpoint import save_checkpoint

    save_checkpoint(path, result["model"], config.model, config.model_kwargs, config.recipe.to_dict(),
                    {"test_acc": result.get("test_acc"), "epochs": result["epochs_completed"]},
                    extra={"recipe_name": config.recipe_name})


def cmd_summary(args) -> int:
    from ..analysis.inspection import format_table, layer_table

    rows = layer_table(args.model)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_table(rows))
    return 0


def cmd_predict(args) -> int:
    from ..analysis.images import ImageError, load_image
    from ..analysis.predict import predict_image
    from ..checkpoint import load_checkpoint

    model, meta = load_checkpoint(args.checkpoint)
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
    ev, meta = evaluate_checkpoint(args.checkpoint, args.data_dir)
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


def cmd_bench(args) -> int:
    from . import bench

    return bench.run(args)
