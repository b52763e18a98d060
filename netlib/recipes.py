"""Training recipes: every hyperparameter in one annotated place, named so runs can cite them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Optional


@dataclass(frozen=True)
class Recipe:
    optimizer: str = "adamw"  # sgd | adam | adamw
    lr: float = 5e-3  # peak lr for onecycle, the constant lr otherwise
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    batch_size: int = 128
    epochs: int = 5
    schedule: str = "onecycle"  # constant | onecycle
    warmup: float = 0.15  # onecycle: fraction of all steps spent rising to the peak lr
    augment: bool = True  # light random affine: drawn digits are rarely as tidy as MNIST's
    label_smoothing: float = 0.0
    ema: float = 0.995  # >0: evaluate and save an exponential moving average of the weights (decay)
    # Uploaded digits (thick/thin pens, blur, low resolution, irregular hands): the probability each of
    # the four degradations in engine/augment.degrade is applied to a training digit, after the affine:
    # one number for all four, or per kind as "lowres=0.25,blur=0.1" (kinds not named: 0).
    degrade: float | str = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Recipe":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


RECIPES: dict[str, Recipe] = {
    # The published recipe, kept exactly so its ~98% / ~99% can be reproduced.
    "seed": Recipe(optimizer="sgd", lr=0.01, momentum=0.5, batch_size=64, epochs=10,
                   schedule="constant", augment=False, ema=0.0),
    # The default: AdamW + OneCycle reaches 99% within the first epoch or two; the light affine
    # augmentation costs a little test accuracy but makes the shipped networks read mouse-drawn digits.
    "fast": Recipe(),
}

# Per-network adjustments of a recipe, measured (docs/benchmarks.md, "Accuracy"): Inception, twice as wide as
# Residual, ends 0.05-0.1% higher at a lower peak lr (99.34 vs 99.29% mean of 3 seeds at epoch 5),
# while Residual needs the higher peak to pass 99% within its first epoch.
MODEL_ADJUSTMENTS: dict[str, dict[str, dict]] = {
    "fast": {"inception": {"lr": 3e-3}, "naive": {"lr": 3e-3}},  # Naive: Inception's family, its recipe
}

# Per-device batch sizes of a recipe. On CUDA a batch of 128 is expected to leave a big GPU launch-bound:
# these networks are so small that a step's time would be its kernel launches, not its arithmetic, so a
# bigger batch costs little more per step and an epoch takes far fewer steps. 1024 = 8 x 128 still gives
# 59 steps per epoch, enough for OneCycle's 15% warm-up. Unverified on a GPU (none was at hand;
# scripts/bench_gpu.py measures it); the accuracy of the same math on the CPU is in docs/benchmarks.md
# ("The GPU recipe").
DEVICE_BATCH: dict[str, dict[str, int]] = {"fast": {"cuda": 1024}}

DEFAULT_RECIPE = "fast"

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "onecycle")


DEGRADATIONS = ("thickness", "blur", "lowres", "elastic")  # engine/augment.degrade's keywords


def parse_degrade(text: str) -> float | str:
    """`--degrade`'s value: a probability for every kind, or "kind=P,..." in a canonical order; ValueError
    with a one-line reason otherwise."""
    text = str(text).strip()
    try:
        value = float(text)
    except ValueError:
        probs = degrade_probabilities(text)
        return ",".join(f"{k}={probs[k]:g}" for k in DEGRADATIONS if probs[k] > 0) or 0.0
    degrade_probabilities(value)
    return value


def degrade_probabilities(value: float | str) -> dict[str, float]:
    """kind -> probability for a recipe's degrade (a number: every kind; "kind=P,...": those named)."""
    if isinstance(value, str) and "=" in value:
        probs = dict.fromkeys(DEGRADATIONS, 0.0)
        for part in value.split(","):
            kind, _, p = part.partition("=")
            if kind.strip() not in probs:
                raise ValueError(f"unknown degradation {kind.strip()!r}: choose from {', '.join(DEGRADATIONS)}")
            probs[kind.strip()] = _probability(p, kind.strip())
        return probs
    return dict.fromkeys(DEGRADATIONS, _probability(value, "degrade"))


def _probability(text, name: str) -> float:
    try:
        p = float(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a probability in [0, 1], got {text!r}") from None
    if not 0 <= p <= 1:  # NaN fails this too
        raise ValueError(f"{name} must be a probability in [0, 1], got {text}")
    return p


def recorded_values(recipe):
    """A recipe dict as a run recorded it, with the fields added since filled in with their defaults (what
    it trained with), so an older run compares equal to a newer one trained alike; a non-dict as given."""
    return {**Recipe().to_dict(), **recipe} if isinstance(recipe, dict) else recipe


def scaled_batch(r: Recipe, batch_size: int) -> Recipe:
    """r at another batch size, its learning rate scaled by the square root of the batch ratio, to 3
    significant figures. Square root, not linear: for Adam-family optimizers the square-root rule keeps
    the update's noise scale (Malladi et al. 2022, "On the SDEs and Scaling Rules for Adaptive Gradient
    Algorithms"); the linear rule is SGD's (Goyal et al. 2017) and at 8x would put AdamW's peak at 0.04,
    where these networks diverge. OneCycle's warm-up is the warm-up large batches want."""
    lr = float(f"{r.lr * math.sqrt(batch_size / r.batch_size):.3g}")
    return replace(r, batch_size=batch_size, lr=lr)


def device_batch(name: str, device: Optional[str]) -> Optional[int]:
    """The batch size the named recipe takes on this device ("cuda", "cuda:0", "cpu"), None for its own."""
    kind = str(device).split(":")[0] if device else ""
    return DEVICE_BATCH.get(name, {}).get(kind)


def recipe_for(name: str, model: Optional[str] = None, device: Optional[str] = None,
               limit: Optional[int] = None) -> Recipe:
    """The named recipe as it applies to one network (with that network's adjustments) on one device
    (its device batch, never more than `limit` training images and never below the recipe's own)."""
    if name not in RECIPES:
        raise KeyError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}")
    recipe = replace(RECIPES[name], **MODEL_ADJUSTMENTS.get(name, {}).get(model, {}))
    batch = device_batch(name, device)
    if batch and limit:
        batch = min(batch, int(limit))
    return scaled_batch(recipe, batch) if batch and batch > recipe.batch_size else recipe


def resolve_recipe(name: str, model: Optional[str] = None, device: Optional[str] = None,
                   limit: Optional[int] = None, **overrides) -> Recipe:
    """The named recipe for a network on a device, with the given fields replaced (None keeps the
    recipe's). A batch size or a learning rate of the person's own turns the device batch off: the
    scaled rate belongs to the scaled batch, and an explicit choice always wins."""
    changes = {k: v for k, v in overrides.items() if v is not None}
    if "batch_size" in changes or "lr" in changes:
        device = None
    recipe = replace(recipe_for(name, model, device, limit), **changes)
    validate_recipe(recipe)
    return recipe


def validate_recipe(r: Recipe) -> None:
    """Raise ValueError with a one-line reason for values that cannot train."""
    if r.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {r.optimizer!r}")
    if r.schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {r.schedule!r}")
    if not (r.lr > 0 and r.lr <= 10):
        raise ValueError(f"learning rate must be in (0, 10], got {r.lr}")
    if not 1 <= r.epochs <= 1000:
        raise ValueError(f"epochs must be between 1 and 1000, got {r.epochs}")
    if not 1 <= r.batch_size <= 60000:
        raise ValueError(f"batch size must be between 1 and 60000, got {r.batch_size}")
    if not 0 <= r.momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {r.momentum}")
    if not 0 < r.warmup < 1:
        raise ValueError(f"warmup must be a fraction in (0, 1), got {r.warmup}")
    if not 0 <= r.ema < 1:
        raise ValueError(f"ema decay must be in [0, 1), got {r.ema}")
    if not 0 <= r.weight_decay < 1:
        raise ValueError(f"weight decay must be in [0, 1), got {r.weight_decay}")
    degrade_probabilities(r.degrade)
