"""Why a network read a digit: gradient x input, Grad-CAM, Inception's branch strengths, doubt in words.

Everything here treats the model as shared and read-only (the dashboard caches one model for all
sessions): no hooks, no .grad, no requires_grad or mode changes. Gradients are taken with respect to
a clone of the input and one stage's activations only, by torch.autograd.grad in a single pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..data import MEAN, STD
from ..models import BRANCHES, InceptionA
from .predict import UNSURE_BELOW
from .preprocess import SIZE

METHODS = {
    "Gradient x input": "Each inked pixel's push towards the digit (red) or away from it (blue): the score's "
                        "gradient times the ink, so empty pixels count zero.",
    "Grad-CAM": "Where the last convolution stage found the evidence for the digit: its 4 x 4 grid of cells, "
                "each seeing a wide patch, weighted by how much the digit's score depends on it.",
}
BRANCH_NAMES = tuple(name for name, _ in BRANCHES)
BRANCH_HELP = ("Each bar is how much a branch's output changes when your digit replaces an empty canvas "
               "(mean absolute change per channel and pixel), as a share of its block's four branches. "
               "Tall 5x5 or 3x3 bars: the wide-context branches carry this digit; a tall 1x1 bar: mostly "
               "what is under each pixel.")

CONFIDENT = UNSURE_BELOW  # below this top probability a network's answer is called unsure


@dataclass(frozen=True)
class BranchStrength:
    """How strongly one Inception block's four branches respond to a digit."""

    block: str  # the stage's name, e.g. "incep1"
    size: int  # its feature maps are size x size
    strength: tuple[float, float, float, float]  # mean |branch(x) - branch(empty)|, per branch
    share: tuple[float, float, float, float]  # strength / sum: the four add up to 1


@dataclass(frozen=True)
class Explanation:
    target: int  # the digit explained (the predicted one unless asked otherwise)
    probs: np.ndarray  # 10 softmax probabilities
    gradient_x_input: np.ndarray  # 28x28 float32, signed: d logit / d ink x ink
    grad_cam: np.ndarray  # 28x28 float32, >= 0
    cam_layer: str
    branches: list[BranchStrength]  # one per Inception block; empty for other networks


# ---------------------------------------------------------------- one pass through the stages
def last_conv_stage(model: nn.Module) -> str:
    """The last stage with spatial maps: the one before the first Flatten (incep2, rblock2)."""
    last = None
    for name, stage in model.named_children():
        if isinstance(stage, nn.Flatten):
            break
        last = name
    if last is None:
        raise ValueError(f"{type(model).__name__} has no convolution stage before a Flatten")
    return last


def _walk(model: nn.Module, x: torch.Tensor, layer: Optional[str]):
    """Run the stages in order (a StagedNet's forward, written out).

    Returns logits, the activation of `layer` (or None), Inception branch outputs per block, and the
    geometry of `layer`'s grid: cell k's centre sits at input pixel a * k + b.
    """
    act, branches, geometry = None, {}, None
    a, b = 1.0, 0.0
    for name, stage in model.named_children():
        n_in = x.shape[-1] if x.dim() == 4 else None
        if isinstance(stage, InceptionA):
            parts = stage.branches(x)
            branches[name] = parts
            x = torch.cat(parts, dim=1)  # exactly InceptionA.forward
        else:
            x = stage(x)
        if n_in is not None and x.dim() == 4:
            if isinstance(stage, nn.Conv2d):
                s, k, p, d = stage.stride[0], stage.kernel_size[0], stage.padding[0], stage.dilation[0]
                sa, sb = float(s), (k - 1) / 2 * d - p
            else:  # pooling or a same-size block: a centred n_in -> n_out resampling
                sa = n_in / x.shape[-1]
                sb = (sa - 1) / 2
            a, b = a * sa, b + a * sb
        if name == layer:
            act, geometry = x, (a, b)
    return x, act, branches, geometry


def _upsample(cam: np.ndarray, a: float, b: float, size: int = SIZE) -> np.ndarray:
    """A grid whose cell k is centred at pixel a*k + b -> size x size, bilinear, edges held."""
    n = cam.shape[0]
    u = np.clip((np.arange(size) - b) / a, 0.0, n - 1.0)
    lo = np.minimum(np.floor(u).astype(int), n - 2) if n > 1 else np.zeros(size, int)
    frac = u - lo
    w = np.zeros((size, n), np.float32)
    w[np.arange(size), lo] += 1.0 - frac
    if n > 1:
        w[np.arange(size), lo + 1] += frac
    return (w @ cam.astype(np.float32) @ w.T).astype(np.float32)


def _ink(x: torch.Tensor) -> torch.Tensor:
    """Normalised input -> ink in [0, 1] (0 exactly where the canvas is empty)."""
    p = (x * STD + MEAN).clamp(0.0, 1.0)
    return torch.where(p < 1e-6, torch.zeros_like(p), p)


def _check(x: torch.Tensor) -> torch.Tensor:
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if tuple(x.shape[-3:]) != (1, SIZE, SIZE) or x.shape[0] != 1:
        raise ValueError(f"expected one digit, 1 x 1 x {SIZE} x {SIZE}, got {tuple(x.shape)}")
    return x.detach().float()


def _param_device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def explain(model: nn.Module, x: torch.Tensor, target: Optional[int] = None,
            layer: Optional[str] = None) -> Explanation:
    """Everything the Draw page shows for one digit, from one forward and one backward pass.

    x: 1 x 1 x 28 x 28, normalised like training. target: the digit to explain (default: the
    predicted one). layer: Grad-CAM's stage (default: the last convolution stage).
    """
    x = _check(x).to(_param_device(model))
    layer = layer or last_conv_stage(model)
    inception = any(isinstance(m, InceptionA) for m in model.children())
    x_in = x.clone().requires_grad_(True)
    # An empty canvas rides along as a second sample (no effect on the first): the branch baseline.
    batch = torch.cat([x_in, torch.full_like(x, -MEAN / STD)]) if inception else x_in
    with torch.enable_grad():
        logits, act, parts, geometry = _walk(model, batch, layer)
        if act is None:
            raise ValueError(f"no stage named {layer!r} with a spatial output")
        logits = logits.float()
        target = int(logits[0].argmax()) if target is None else int(target)
        grad_x, grad_act = torch.autograd.grad(logits[0, target], [x_in, act])
    with torch.no_grad():
        # d logit / d ink = grad_x / STD (x = (ink - MEAN) / STD); times the ink itself.
        gxi = (grad_x / STD * _ink(x))[0, 0].cpu().numpy().astype(np.float32)
        alpha = grad_act[0].mean(dim=(1, 2), keepdim=True)  # one weight per channel
        cam = torch.relu((alpha * act[0]).sum(dim=0)).cpu().numpy()
        strengths = [_strength(name, p) for name, p in parts.items()]
        probs = torch.softmax(logits[0], dim=0).cpu().numpy()
    return Explanation(target, probs, gxi, _upsample(cam, *geometry), layer, strengths)


def _strength(block: str, parts: Sequence[torch.Tensor]) -> BranchStrength:
    s = [float((p[0] - p[1]).abs().mean()) for p in parts]
    total = sum(s)
    share = [v / total if total > 0 else 0.25 for v in s]
    return BranchStrength(block, int(parts[0].shape[-1]), tuple(s), tuple(share))


# ---------------------------------------------------------------- doubt, in words
def doubt(probs: dict[str, Sequence[float]], threshold: Optional[float] = None) -> str:
    """A plain warning when a network is unsure or the networks disagree; "" when all is clear.

    probs: network name -> its 10 probabilities.
    """
    threshold = CONFIDENT if threshold is None else threshold
    notes, reads = [], {}
    for model, p in probs.items():
        p = np.asarray(p, dtype=np.float64)
        first, second = (int(i) for i in np.argsort(-p, kind="stable")[:2])
        reads[model] = (first, p[first])
        if p[first] < threshold:
            notes.append(f"{model.capitalize()} is not sure: {100 * p[first]:.0f}% — maybe {first} or {second}.")
    if len({d for d, _ in reads.values()}) > 1:
        notes.append("The networks disagree: " + ", ".join(
            f"{m.capitalize()} reads {d} ({100 * q:.0f}%)" for m, (d, q) in reads.items()) + ".")
    return " ".join(notes)
