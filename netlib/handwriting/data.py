"""A fine-tuning run's handwriting set as tensors beside the MNIST data, checked to be one it can learn from."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from ..data import Dataset, normalize
from ..engine.finetune import TuneData
from .base import HandwritingSet, SetError
from .sets import load_set, set_dir


def check_trainable(s: HandwritingSet) -> None:
    """SetError (one line) for a set fine-tuning cannot learn from or be tested on: empty, of one digit
    only, too small to hold a digit out, or (as an imported split can be) with no digit or one digit to train on."""
    if len(s) == 0:
        raise SetError(f"set {s.name} is empty: collect some digits first")
    digits = sorted(set(s.labels.tolist()))
    if len(digits) < 2:
        raise SetError(f"set {s.name} holds only {digits[0]}s: fine-tuning on one digit teaches the network to "
                       "answer it for everything; add at least one other digit")
    if not s.held_out.any():
        raise SetError(f"set {s.name} is too small to hold a digit out for testing: add a second example of "
                       "at least one digit")
    trained = sorted(set(s.train_labels.tolist()))  # an imported set.json may hold out any of its digits
    if not trained:
        raise SetError(f"set {s.name} holds every digit out for testing: no digit left to train on (its set.json "
                       "says so); add some digits to it")
    if len(trained) < 2:
        raise SetError(f"set {s.name} trains on {trained[0]}s only (every other digit is held out): fine-tuning "
                       "on one digit teaches the network to answer it for everything; add other digits to it")


def trainable_set(name: str, root: Optional[Path] = None) -> HandwritingSet:
    """The set `name`, loaded and checked (check_trainable); SetError in one line otherwise."""
    s = load_set(root, name)
    check_trainable(s)
    return s


def with_set(data: Dataset, finetune: dict, root: Optional[Path] = None) -> TuneData:
    """data plus the set a fine-tuning config names (TrainConfig.finetune), on data's device."""
    name = finetune.get("handwriting") if isinstance(finetune, dict) else None
    if not isinstance(name, str):
        raise SetError("the run's finetune settings name no handwriting set")
    s = trainable_set(name, root)
    return tune_data(data, s, "shipped (synthetic)" if s.synthetic else str(set_dir(root, name).resolve()))


def tune_data(data: Dataset, s: HandwritingSet, where: str = "") -> TuneData:
    """data plus set s's training and held-out digits, normalised, on data's device."""
    check_trainable(s)
    device = data.test_x.device
    return TuneData(data.train_x, data.train_y, data.test_x, data.test_y,
                    set_x=normalize(s.train_images).to(device), set_y=torch.from_numpy(s.train_labels).to(device),
                    held_x=normalize(s.test_images).to(device), held_y=torch.from_numpy(s.test_labels).to(device),
                    set_dir=where, source=s)
