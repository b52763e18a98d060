"""Fine-tuning in the training loop: start weights, frozen layers, batches of a set's digits and MNIST replay.

It starts from a checkpoint's weights, freezes all but the final layer for "last", and mixes a handwriting
set's training digits with MNIST replay in every batch.

How the pieces fit (docs/design.md, "Fine-tuning on your handwriting"): a batch of B holds
k = B - round(B * replay) of the set's training digits and the rest drawn at random from MNIST's training
digits. An epoch is at least one pass over the set and at least MIN_STEPS steps: a set of 50 digits in
batches of 32 would be 2 steps, too few for a learning rate to act on between two evaluations, so small
sets get MIN_STEPS steps an epoch, going round the set (freshly shuffled each round). With replay 0.9 a
batch holds 3 of the set's digits; MIN_STEPS keeps it learning them as long as the variants without
replay. The held-out digits are never trained on; they are tested every epoch beside MNIST's test set.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import nn

from ..checkpoint import read_checkpoint
from ..data import Dataset
from ..request import TUNES, RunRequest, parse_replay
from .evaluate import evaluate

MIN_STEPS = 40  # per epoch, whatever the set's size and the replay share: every variant takes as many steps
# The fine-tuning defaults where the request leaves them to the recipe: a short run at a constant rate
# (no warm-up to wait for), no weight average (it would lag 100 steps behind), batches of 32.
DEFAULTS = {"epochs": 3, "batch_size": 32, "schedule": "constant"}
# Measured on the shipped networks and the example writer (docs/benchmarks.md): at 5e-4 the whole network
# lost 0.6-1 point of MNIST even with replay; at 1e-4 it keeps it and still learns the set.
LR = {"last": 1e-3, "all": 1e-4}


@dataclass(frozen=True)
class FineTune:
    """What a fine-tuning run trains from and on, as TrainConfig.finetune (and config.json) keeps it."""

    start_from: str  # the checkpoint's path, resolved
    handwriting: str  # the set's name (netlib/handwriting/data.py loads it beside the MNIST data)
    tune: str = "last"
    replay: float = 0.0

    @classmethod
    def from_dict(cls, d) -> "FineTune":
        """A stored (perhaps hand-edited) config.json's fine-tuning, checked; ValueError in one line."""
        if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in ("start_from", "handwriting")):
            raise ValueError("the run's finetune settings are not what a fine-tuning run writes")
        if d.get("tune", "last") not in TUNES:
            raise ValueError(f"the run's finetune tune is {str(d.get('tune'))[:20]!r}, not one of {', '.join(TUNES)}")
        return cls(d["start_from"], d["handwriting"], d.get("tune", "last"), parse_replay(d.get("replay", 0.0)))


@dataclass
class TuneData(Dataset):
    """MNIST (the replay digits and the test set) plus a handwriting set's digits, normalised, on the device."""

    set_x: torch.Tensor = None
    set_y: torch.Tensor = None
    held_x: torch.Tensor = None  # the held-out digits: tested every epoch, never trained on
    held_y: torch.Tensor = None
    set_dir: str = ""  # where the set was read from (the start event says)
    source: object = None  # the HandwritingSet itself, for the run folder's copy (handwriting/changes.py)
    start_from: Optional[str] = None  # the copy of the start checkpoint in the run folder, loaded instead


def plan(r: RunRequest) -> tuple[Optional[dict], dict]:
    """(TrainConfig.finetune, or None; the epochs, batch size, rate and schedule to resolve the recipe with).
    ValueError (one line) for fine-tuning options without a start, a start without a set, a checkpoint of
    another network or size. The set itself is checked when it is loaded (netlib/handwriting/data.py)."""
    asked = {"epochs": r.epochs, "batch_size": r.batch_size, "lr": r.lr, "schedule": r.schedule}
    if r.start_from is None and r.handwriting is None:
        stray = [n for n in ("tune", "replay") if getattr(r, n) is not None]
        if stray:
            raise ValueError(f"--{stray[0]} is a fine-tuning option: it goes with --start-from and --handwriting")
        return None, asked
    if r.start_from is None or r.handwriting is None:
        raise ValueError("fine-tuning needs both --start-from CHECKPOINT and --handwriting SET")
    payload = read_checkpoint(Path(r.start_from))  # CheckpointError: one line
    name = Path(r.start_from).name
    if payload["model"] != r.model:
        raise ValueError(f"--start-from {name} is a checkpoint of {payload['model']}, not of {r.model}: "
                         f"give --model {payload['model']}")
    if dict(payload.get("model_kwargs") or {}) != r.shape():
        raise ValueError(f"--start-from {name} is {r.model} with {payload.get('model_kwargs') or 'the published size'}"
                         f", not {r.shape() or 'the published size'}: give the same --width/--blocks")
    tune = r.tune or "last"
    spec = FineTune(str(Path(r.start_from).resolve()), r.handwriting, tune, r.replay or 0.0)
    given = {k: (v if v is not None else DEFAULTS.get(k, LR[tune] if k == "lr" else None)) for k, v in asked.items()}
    return dataclasses.asdict(spec), given


def freeze_all_but_last(model: nn.Module) -> nn.Module:
    """Every weight frozen except the final linear layer's (the one that turns features into 10 scores)."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in last.parameters():
        p.requires_grad_(True)
    return model


def load_start(model: nn.Module, path: str, model_name: str) -> None:
    """The checkpoint's weights into model; CheckpointError (a ValueError) if they are not of this network."""
    payload = read_checkpoint(Path(path))
    if payload["model"] != model_name:
        raise ValueError(f"{Path(path).name}: a checkpoint of {payload['model']}, not of {model_name}")
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, KeyError):
        raise ValueError(f"{Path(path).name}: its weights do not fit this {model_name} "
                         "(another width or depth?)") from None


class Tuning:
    """One fine-tuning run's data and model set-up, used by engine/loop.py's _Training."""

    def __init__(self, spec: dict, data: Dataset, model: nn.Module, model_name: str, device: torch.device,
                 limit: Optional[int] = None):
        self.spec = FineTune.from_dict(spec)
        if not isinstance(data, TuneData) or data.set_x is None:
            raise ValueError("a fine-tuning run needs its handwriting set's digits beside the MNIST data")
        load_start(model, data.start_from or self.spec.start_from, model_name)  # the copy "before" is measured on
        if self.spec.tune == "last":
            freeze_all_but_last(model)
        self.set_x, self.set_y, self.held_x, self.held_y = data.set_x, data.set_y, data.held_x, data.held_y
        self.replay_x, self.replay_y = data.train_x, data.train_y
        if limit:
            self.replay_x, self.replay_y = self.replay_x[:limit], self.replay_y[:limit]
        self.device, self.set_dir = device, data.set_dir

    def steps(self, batch_size: int) -> int:
        """Steps per epoch; sets self.k (set digits per batch) and self.r (replay digits per batch)."""
        self.r = min(batch_size - 1, round(batch_size * self.spec.replay))
        self.k = batch_size - self.r
        self.n_steps = max(MIN_STEPS, math.ceil(len(self.set_y) / self.k))
        return self.n_steps

    def order(self, gen: torch.Generator) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """One epoch's draw: the set's digits in rounds of fresh shuffles, and the MNIST replay digits."""
        n, need = len(self.set_y), self.n_steps * self.k
        rounds = [torch.randperm(n, generator=gen, device=self.device) for _ in range(math.ceil(need / n))]
        replay = None
        if self.r:
            replay = torch.randint(len(self.replay_y), (self.n_steps * self.r,), generator=gen, device=self.device)
        return torch.cat(rounds)[:need], replay

    def batch(self, order, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        mine, replay = order
        idx = mine[step * self.k:(step + 1) * self.k]
        xb, yb = self.set_x[idx], self.set_y[idx]
        if replay is not None:
            j = replay[step * self.r:(step + 1) * self.r]
            xb, yb = torch.cat([xb, self.replay_x[j]]), torch.cat([yb, self.replay_y[j]])
        return xb, yb

    def held_out(self, model: nn.Module, channels_last: bool) -> dict:
        """The accuracy (and mean loss) on the set's held-out digits: the epoch and end events carry it."""
        loss, acc = evaluate(model, self.held_x, self.held_y, channels_last)
        return {"held_out_loss": loss, "held_out_acc": acc}

    def start_fields(self, model: nn.Module, channels_last: bool) -> dict:
        """What the start event says of the fine-tuning, with the held-out accuracy before it."""
        s = self.spec
        return {"finetune": {"start_from": s.start_from, "handwriting": s.handwriting, "tune": s.tune,
                             "replay": s.replay, "set_train": len(self.set_y), "set_held_out": len(self.held_y),
                             "set_per_batch": self.k, "replay_per_batch": self.r, "set_dir": self.set_dir},
                "held_out_acc_before": self.held_out(model, channels_last)["held_out_acc"]}
