"""What updates the weights: the recipe's optimizer, its learning-rate schedule, and the weight average."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..recipes import OPTIMIZERS, Recipe


def make_optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    if r.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum,
                               weight_decay=r.weight_decay)
    if r.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)
    if r.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {r.optimizer!r}")


def make_scheduler(opt, r: Recipe, steps_per_epoch: int):
    total = r.epochs * steps_per_epoch
    if r.schedule != "onecycle" or total < 4:  # too few steps for a warm-up and a decay
        return None
    # OneCycleLR divides by (warm-up steps - 1): keep at least two warm-up steps.
    pct = min(max(r.warmup, 2.5 / total), 0.5)
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=r.lr, total_steps=total, pct_start=pct, div_factor=10, final_div_factor=100)


class WeightAverage:
    """An exponential moving average of a model's weights, the model that is evaluated and saved.

    Mid-schedule weights are noisy at a high learning rate; their average is not (Polyak averaging).
    """

    def __init__(self, model: nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.steps = decay, 0
        self._ema = list(self.model.parameters())

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        # Warm-up: a short memory at first, so the average is not dragged by the random init.
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self._ema, list(model.parameters()), 1 - d)
