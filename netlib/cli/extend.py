"""`train --extend RUN_DIR`: train an ended run further from its own config, data and saved train state, when
the run queue gives it its turn."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Optional

from ..bounded import FileRefused, check_folder, read_bounded
from ..runs.files import CONFIG, LIVE_STATUSES, TRAIN_STATE, RunDirError

MAX_TRAIN_STATE_BYTES = 256 << 20  # weights, their average and the optimizer's moments: ~4x a checkpoint


def extend_setup(args):
    """Train a finished run further: its own config and data, its saved train state, its run dir."""
    import dataclasses

    import torch

    from ..engine.loop import TrainConfig, resolve_device
    from ..recipes import Recipe, validate_recipe
    from ..runs.writer import RunWriter, check_run_files

    run_dir = Path(args.extend)
    saved, status = _ended_run(run_dir)
    if status is None or status["status"] in LIVE_STATUSES:
        raise ValueError(f"run {run_dir.name} is still {status['status'] if status else 'starting'}; "
                         "extend it once it has ended")
    # The run's own device unless asked otherwise (a CPU run stays on the CPU on a GPU machine).
    own = saved.get("device", "auto").split(":")[0]
    if own == "cuda" and not torch.cuda.is_available():
        own = "cpu"  # trained on a GPU, extended here: the state loads onto the CPU
    device = resolve_device(own if args.device in (None, "auto") else args.device)
    state = _train_state(run_dir, device)
    from ..lab.steering import extension_rate

    # --lr, else the rate the Train page's +1 epoch proposes (not where a onecycle schedule ended)
    state["lr"] = args.lr or extension_rate(saved, state.get("lr")).lr
    try:  # config.json is a file a person can edit: its recipe is checked like a command line's
        recipe = dataclasses.replace(Recipe.from_dict(saved["recipe"]), epochs=args.epochs or 1)
        validate_recipe(recipe)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"run {run_dir.name} has a recipe that cannot train ({e}) in its {CONFIG}") from None
    config = TrainConfig(model=saved["model"], recipe_name=saved["recipe_name"], recipe=recipe,
                         model_kwargs=saved.get("model_kwargs", {}), seed=saved.get("seed", 0),
                         device=str(device), threads=args.threads or saved.get("threads"),
                         limit=saved.get("limit"), record_grads=saved.get("record_grads", True),
                         finetune=saved.get("finetune"))  # a fine-tuning run goes on with its set
    data_dir, synthetic = _first_data(saved)
    check_run_files(run_dir)  # a FIFO for its metrics log, say: refused before anything is in line
    _take_turn(run_dir, config, state["lr"], args)
    try:
        holds = {"threads": config.threads, "device": config.device}
        writer = RunWriter(run_dir, saved, extending=True,
                           holds=holds if holds != {k: saved.get(k) for k in holds} else None)
    except BaseException:
        _withdraw(run_dir)  # its turn given back: the run stays as it was, its slots free
        raise
    return config, state, (args.data_dir or data_dir, synthetic), writer


def _take_turn(run_dir: Path, config, lr: float, args) -> None:
    """Wait for the run queue's word that this process may take the run over. The process a pump started
    for the run's +1 epoch finds its own pid in extension.json; `train --extend` typed in a terminal puts
    its +1 epoch in line first, as a worker that trains it itself (like `train`: commands._new_run), and
    waits for its turn: it says so, and Ctrl-C then cancels it. Every refusal has come before."""
    from ..runs import extension, queue
    from ..runs.processes import this_process

    queue.await_pump(run_dir)  # the pump that started this process has recorded it by now
    pending = extension.look(run_dir)
    if pending is not None and pending.mine:
        return
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
            with queue.locked(run_dir.parent):
                return extension.take_failure(run_dir) or pending.reason
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


def _first_data(saved: dict) -> tuple:
    """The original data: the data folder and synthetic digits of the run's request (an older run: of its
    train command; MNIST when config.json holds neither: edited by hand, or written by an older version)."""
    from ..request import trained_on

    data_dir, synthetic = trained_on(saved)
    return Path(data_dir) if data_dir else None, synthetic


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
    except Exception:  # noqa: BLE001 - any unreadable file gets the same one-line answer
        # A damaged file, not a usage mistake: exit 1 like a damaged checkpoint (a growing file read before
        # it passes the bound lands here, past it in FileRefused: the same exit either way). torch's own
        # message advises weights_only=False, exactly the advice not to pass on.
        raise RunDirError(f"cannot read {path}: not a readable train state (truncated, corrupted or not a "
                          "PyTorch file)") from None
