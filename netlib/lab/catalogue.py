"""The checkpoint catalogue: shipped checkpoints, runs' and uploaded ones, what a page may load, and the
Home page's recorded runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from ..models import build_model
from ..names import LESION_BLOCKS, LESION_MODELS, lesion_file, network_title, title
from ..runs.files import CHECKPOINT, default_runs_dir
from ..runs.labels import person_label, recipe_phrase, tuned_words
from ..runs.reader import RunEntry, read_events
from ..safepath import UnsafePath, is_contained
from .link_values import checkpoint_id
from .uploads import list_uploads, uploads_dir

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding netlib/, app.py and checkpoints/
CHECKPOINT_DIR_ENV = "NETLIB_CHECKPOINT_DIR"  # where the shipped checkpoints are (default: ./checkpoints)
STORY_DIR = "gradient_flow"  # under the shipped checkpoints: scripts/record_gradient_flow.sh writes it
LESION_DIR = "lesion"  # under the shipped checkpoints: scripts/train_lesion_checkpoints.sh writes it


@dataclass
class CheckpointChoice:
    label: str
    path: Path
    model: str
    shipped: bool
    uploaded: bool = False


def shipped_dir() -> Path:
    return Path(os.environ.get(CHECKPOINT_DIR_ENV) or PROJECT_ROOT / "checkpoints")


def shipped_checkpoint(model: str) -> Path:
    return shipped_dir() / f"{model}.pt"


def lesion_checkpoint(model: str) -> Path:
    """The shipped checkpoint of "residual" or "plain" at LESION_BLOCKS blocks per stage."""
    if model not in LESION_MODELS:
        raise ValueError(f"lesion checkpoints are shipped for {' and '.join(LESION_MODELS)}, not {model}")
    return shipped_dir() / LESION_DIR / lesion_file(model)


def checkpoint_choices(model: str, runs: list[RunEntry]) -> list[CheckpointChoice]:
    """The shipped checkpoints of `model` (if present), every run of it that saved one, then its uploads."""
    out = []
    if shipped_checkpoint(model).is_file():
        out.append(CheckpointChoice(f"shipped {model}.pt", shipped_checkpoint(model), model, True))
    if model in LESION_MODELS and lesion_checkpoint(model).is_file():
        path = lesion_checkpoint(model)
        out.append(CheckpointChoice(f"shipped {LESION_DIR}/{path.name} (×{LESION_BLOCKS})", path, model, True))
    for r in runs:
        if r.model == model and r.has_checkpoint and is_contained(r.dir, r.dir / CHECKPOINT):
            # a network sized other than published says so (Inception w64, Residual ×3)
            sized = f" · {r.network}" if r.network != title(model) else ""
            named = person_label(r.dir)  # the label saved on the Runs page names the run here too
            tuned = tuned_words(r.config)
            sized += f" · {tuned}" if tuned else ""
            out.append(CheckpointChoice(f"{named + ' · ' if named else ''}run {r.name}{sized} ({r.status})",
                                        r.dir / CHECKPOINT, model, False))
    for u in list_uploads():
        if u.model == model:
            out.append(CheckpointChoice(u.label, u.path, model, False, uploaded=True))
    return out


def choice_index(choices: list[CheckpointChoice], path) -> Optional[int]:
    """Where the checkpoint at `path` is among choices (paths compared resolved); None if not listed."""
    try:
        wanted = Path(path).resolve()
    except (OSError, RuntimeError, TypeError):
        return None
    for i, c in enumerate(choices):
        if c.path.resolve() == wanted:
            return i
    return None


def choice_id(choices: list[CheckpointChoice], path) -> Optional[str]:
    """The id (link_values.checkpoint_id) of the checkpoint at `path` among choices; None if not listed.
    Pickers keep ids, not places in the list, which change when a run saves its first checkpoint."""
    i = choice_index(choices, path)
    return None if i is None else checkpoint_id(choices[i])


def checkpoint_roots() -> list[Path]:
    """The folders a checkpoint chosen in the UI may come from: shipped, runs, uploads."""
    return [shipped_dir(), default_runs_dir(), uploads_dir()]


def allowed_checkpoint(path) -> Path:
    """path, if it lies (symlinks followed) inside one of checkpoint_roots(); else UnsafePath.

    The pages call it before loading any checkpoint chosen in the UI (app_pages/_common.load_model).
    """
    path = Path(path)
    if any(is_contained(root, path) for root in checkpoint_roots()):
        return path
    raise UnsafePath(f"{path.name}: refused, it is not inside the checkpoints, runs or uploads folders")


def checkpoint_summary(meta: dict) -> str:
    """One line about a checkpoint: its network as sized, then its training, from its metrics."""
    m = meta.get("metrics", {})
    acc = m.get("test_acc")
    kwargs = meta.get("model_kwargs")
    parts = [network_title(str(meta.get("model", "?")), kwargs if isinstance(kwargs, dict) else {})]
    if acc is not None:
        parts.append(f"test accuracy {100 * acc:.2f}%")
    if m.get("epoch") or m.get("epochs"):
        parts.append(f"after {m.get('epoch') or m.get('epochs')} epoch(s)")
    if meta.get("recipe_name"):  # a recipe changed from a named one says how, never just its name
        parts.append(f"trained with {recipe_phrase(meta)}")
    return ", ".join(parts if len(parts) > 1 else parts + ["no metrics recorded"])


def untrained_model(model: str, seed: int = 0, **model_kwargs) -> nn.Module:
    """The network with its initial random weights for `seed`, in eval mode; torch's global random
    state is left as it was (a page must not reseed every other user of it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(model, **model_kwargs).eval()


def recorded_story(colors: dict) -> list[dict]:
    """The Home page's pre-recorded Residual-vs-Plain runs: one dict per run with model, label,
    colour, recipe, batches, epochs, grad_layers and start (its start event; empty when the files are missing)."""
    out = []
    for model in ("residual", "plain"):
        try:
            events = read_events(shipped_dir() / STORY_DIR / f"{model}-3.metrics.jsonl")
        except OSError:  # FileRefused: not a regular file; the Home page tells the story without it
            events = []
        if not events:
            continue
        start = next((e for e in events if e.get("event") == "start"), {})
        out.append({"model": model, "label": f"{model} ×3", "color": colors.get(model),
                    "recipe": start.get("recipe", "?"), "grad_layers": start.get("grad_layers", []), "start": start,
                    "batches": [e for e in events if e.get("event") == "batch"],
                    "epochs": [e for e in events if e.get("event") == "epoch"]})
    return out


def file_stamp(path: Path) -> float:
    """mtime, to key caches of files that a live run rewrites (its checkpoint after every epoch)."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0
