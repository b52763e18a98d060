"""What a run carries between processes: the train state for +1 epoch, and the layers whose
gradient norms describe gradient flow."""

from __future__ import annotations

import copy
from typing import Optional

import torch
from torch import nn

from .optim import WeightAverage


def grad_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The weight tensors whose gradient norms describe gradient flow: every conv and linear layer,
    input side first (biases left out: they say little about flow)."""
    return [(name.removesuffix(".weight"), p) for name, p in model.named_parameters() if p.dim() > 1]


def train_state(epoch: int, model: nn.Module, opt, ema: Optional[WeightAverage], gen: torch.Generator,
                elapsed: float) -> dict:
    """Everything +1 epoch needs, as plain tensors and numbers (loadable with weights_only=True)."""
    return {"epoch": epoch, "lr": opt.param_groups[0]["lr"], "elapsed": elapsed,
            "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "ema": None if ema is None else {k: v.clone() for k, v in ema.model.state_dict().items()},
            "ema_steps": 0 if ema is None else ema.steps,
            "optimizer": copy.deepcopy(opt.state_dict()), "generator": gen.get_state()}


def load_train_state(state: dict, model: nn.Module, opt, ema: Optional[WeightAverage], gen: torch.Generator,
                     seed: int) -> None:
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if ema is not None:
        ema.model.load_state_dict(state["ema"] if state.get("ema") else state["model"])
        ema.steps = state.get("ema_steps", 0)
    saved = state.get("generator")
    if saved is not None and saved.numel() == gen.get_state().numel():
        gen.set_state(saved.cpu())  # same kind of device: the shuffles go on exactly
    else:  # a CPU run extended on a GPU or back: a fresh stream, not epoch 1's again
        gen.manual_seed(seed * 1_000_003 + state["epoch"])
