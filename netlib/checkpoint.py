"""Self-describing checkpoints: saved atomically, loaded with weights_only=True, refused clearly when wrong."""

from __future__ import annotations

import io
import pickle
import re
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from .atomic import atomic_write
from .bounded import FileRefused, read_bounded
from .models import MODELS, build_model

FORMAT = "netlib-checkpoint"
VERSION = 1
# Far above any network here (Inception: 0.4 MB); a larger file is refused before it is read.
MAX_CHECKPOINT_BYTES = 256 * 2**20


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with a message fit for a person."""


def save_checkpoint(path: Path, model: nn.Module, model_name: str, model_kwargs: dict,
                    recipe: dict, metrics: dict, extra: Optional[dict] = None) -> None:
    # contiguous() drops channels_last strides so the file is the same whatever trained it.
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "version": VERSION, "model": model_name,
               "model_kwargs": dict(model_kwargs), "recipe": dict(recipe),
               "metrics": dict(metrics), "state_dict": state, **(extra or {})}
    atomic_write(Path(path), lambda f: torch.save(payload, f))


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's dict, validated; never runs code from the file (weights_only=True)."""
    path = Path(path)
    try:  # one bounded read of a regular file: a FIFO, a device or a huge file is refused, not loaded
        data = read_bounded(path, MAX_CHECKPOINT_BYTES)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint file") from None
    except FileRefused as e:
        raise CheckpointError(str(e)) from None
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read it ({e.strerror or e})") from None
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message suggests weights_only=False, exactly the advice not to pass on: name the
        # callable the file wanted to run instead.
        found = re.search(r"GLOBAL (\S+)", str(e))
        if found:
            raise CheckpointError(f"{path.name}: refused — loading it would call "
                                  f"{_clean(found.group(1))}; a checkpoint holds only weights") from None
        raise CheckpointError(f"{path.name}: not a readable checkpoint (truncated, corrupted or "
                              f"not a PyTorch file)") from None
    except Exception:  # torch's loader raises many types on garbage (KeyError, IndexError, ...)
        raise CheckpointError(f"{path.name}: not a readable checkpoint (truncated, corrupted or "
                              f"not a PyTorch file)") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path.name}: not a netlib checkpoint (no '{FORMAT}' header)")
    if not isinstance(payload.get("version"), int) or payload["version"] > VERSION:
        raise CheckpointError(f"{path.name}: written by a newer netlib (format version "
                              f"{payload.get('version')}, this one reads up to {VERSION})")
    if payload.get("model") not in MODELS:
        raise CheckpointError(f"{path.name}: unknown network {payload.get('model')!r}")
    return payload


def load_checkpoint(path: Path, expect_model: Optional[str] = None) -> tuple[nn.Module, dict]:
    """(model in eval mode, the checkpoint dict without its weights)."""
    payload = read_checkpoint(path)
    name = payload["model"]
    if expect_model is not None and name != expect_model:
        raise CheckpointError(f"{Path(path).name}: a checkpoint of the {name} network, "
                              f"not of {expect_model}")
    try:
        model = build_model(name, **payload.get("model_kwargs", {}))
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, KeyError) as e:
        detail = [ln.strip() for ln in str(e).splitlines() if ln.strip()][1:2] or [_first_line(e)]
        raise CheckpointError(f"{Path(path).name}: weights do not fit the {name} network: "
                              f"{_clean(detail[0])}") from None
    model.eval()
    meta = {k: v for k, v in payload.items() if k != "state_dict"}
    return model, meta


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return _clean(text[0]) if text else type(e).__name__


def _clean(text: str) -> str:
    """One short line without terminal escape codes (messages end up on web pages too)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)[:200]
