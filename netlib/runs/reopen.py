"""An ended run opened to train further (+1 epoch): its config.json checked, its saved train state read, the
TrainConfig it goes on with, and the writer that takes the run over."""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..bounded import FileRefused, check_folder, read_bounded
from .files import CONFIG, LIVE_STATUSES, TRAIN_STATE, UNREADABLE, RunDirError

MAX_TRAIN_STATE_BYTES = 256 << 20  # weights, their average and the optimizer's moments: ~4x a checkpoint


@dataclass
class Further:
    """What an ended run trains further with: its config.json, the TrainConfig, its train state (the rate
    set to the one asked) and the data it first trained on."""

    saved: dict
    config: object
    state: dict
    data_dir: Optional[Path]
    synthetic: Optional[int]


def further(run_dir: Path, epochs: Optional[int], lr: Optional[float], threads: Optional[int] = None,
            device: Optional[str] = None) -> Further:
    """An ended run's +1 epoch: `epochs` (default 1) at constant rate lr (None: the state's own, for the
    caller to set), on its own device unless another is asked. ValueError (one line) for a run that is not
    ended, has no usable config or no train state; RunDirError for a file that cannot be read."""
    import torch

    from ..engine.loop import TrainConfig, resolve_device
    from ..recipes import Recipe, validate_recipe
    from ..request import trained_on
    from .writer import check_run_files

    run_dir = Path(run_dir)
    saved, status = _ended_run(run_dir)
    if status is None or status["status"] in LIVE_STATUSES:
        raise ValueError(f"run {run_dir.name} is still {status['status'] if status else 'starting'}; "
                         "extend it once it has ended")
    # The run's own device unless asked otherwise (a CPU run stays on the CPU on a GPU machine).
    own = saved.get("device", "auto").split(":")[0]
    if own == "cuda" and not torch.cuda.is_available():
        own = "cpu"  # trained on a GPU, extended here: the state loads onto the CPU
    where = resolve_device(own if device in (None, "auto") else device)
    state = _train_state(run_dir, where)
    if lr:
        state["lr"] = lr
    try:  # config.json is a file a person can edit: its recipe is checked like a command line's
        recipe = dataclasses.replace(Recipe.from_dict(saved["recipe"]), epochs=epochs or 1)
        validate_recipe(recipe)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"run {run_dir.name} has a recipe that cannot train ({e}) in its {CONFIG}") from None
    config = TrainConfig(model=saved["model"], recipe_name=saved["recipe_name"], recipe=recipe,
                         model_kwargs=saved.get("model_kwargs", {}), seed=saved.get("seed", 0),
                         device=str(where), threads=threads or saved.get("threads"),
                         limit=saved.get("limit"), record_grads=saved.get("record_grads", True),
                         finetune=saved.get("finetune"))  # a fine-tuning run goes on with its set
    # the original data: of the run's request (an older run: of its train command; MNIST when config.json
    # holds neither: edited by hand, or written by an older version)
    data_dir, synthetic = trained_on(saved)
    check_run_files(run_dir)  # a FIFO for its metrics log, say: refused before anything is in line
    return Further(saved, config, state, Path(data_dir) if data_dir else None, synthetic)


def take_over(run_dir: Path, run: Further):
    """The RunWriter of the process that trains the run further: extend.lock held, status "running"; the
    threads and device it trains with in its statuses when they differ from the run's (its slots)."""
    from .writer import RunWriter

    holds = {"threads": run.config.threads, "device": run.config.device}
    return RunWriter(run_dir, run.saved, extending=True,
                     holds=holds if holds != {k: run.saved.get(k) for k in holds} else None)


def _ended_run(run_dir: Path) -> tuple[dict, Optional[dict]]:
    """(config, status) of a run folder to extend; RunDirError (exit 1) for a FIFO, a device or a huge
    file among them, ValueError (exit 2) for a folder that is no run."""
    from ..models import MODELS
    from .reader import read_json, read_status

    try:
        check_folder(run_dir, "a run folder")
        saved = read_json(run_dir / CONFIG)
    except FileRefused as e:
        raise RunDirError(str(e)) from None
    if saved is None:
        raise ValueError(f"{run_dir} is not a run directory (no readable {CONFIG})")
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
