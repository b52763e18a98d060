"""The lesion test (Veit, Wilber and Belongie, 2016): remove one residual block at test time, measure what is left."""

from __future__ import annotations

import copy
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..data import normalize
from ..models import MODELS, ResidualBlock
from ..names import network_title, title

NONE = "none"  # the first row: nothing removed
BATCH = 1000
# A drop under this many points reads as "barely noticed" in describe(); Plain ×3 drops ~90.
SMALL_DROP = 5.0


def residual_blocks(model: nn.Module) -> list[str]:
    """Module names of every ResidualBlock in forward order ("rblock1.0", ... or "rblock1", "rblock2")."""
    # named_modules() walks children in registration order, which is the StagedNets' forward order.
    return [name for name, m in model.named_modules() if isinstance(m, ResidualBlock)]


def _require_blocks(model: nn.Module) -> list[str]:
    names = residual_blocks(model)
    if not names:
        name = next((title(n) for n, cls in MODELS.items() if type(model) is cls), type(model).__name__)
        raise ValueError(f"the lesion test removes residual blocks, and {name} has none: it applies to "
                         "Residual and Plain networks")
    return names


@contextmanager
def lesioned(model: nn.Module, name: str) -> Iterator[nn.Module]:
    """Within the block, `model` runs without its block `name`; afterwards it is exactly as before.

    Residual (skip=True): only the skip path remains, out = relu(x). Plain (skip=False): there is no
    skip to keep, so the block becomes the identity (its input and output shapes are the same).
    A forward hook replaces the block's output, so the weights are never touched and a model shared
    between dashboard sessions is left whole once the hook is removed.
    """
    block = dict(model.named_modules()).get(name)
    if not isinstance(block, ResidualBlock):
        raise ValueError(f"{name!r} is not a residual block of this network; its blocks are: "
                         f"{', '.join(residual_blocks(model)) or 'none'}")

    def without_block(module, args, output):
        x = args[0]
        return F.relu(x) if module.skip else x

    handle = block.register_forward_hook(without_block)
    try:
        yield model
    finally:
        handle.remove()


def _steps(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The network's forward pass as a flat list of (name, module): its stages in order, a stage that is
    an nn.Sequential of blocks opened into its blocks (a StagedNet's forward is exactly this chain)."""
    steps = []
    for name, stage in model.named_children():
        if isinstance(stage, nn.Sequential):
            steps += [(f"{name}.{i}", block) for i, block in enumerate(stage)]
        else:
            steps.append((name, stage))
    return steps


def _lesion_correct(steps, names: list[str], xb: torch.Tensor, yb: torch.Tensor) -> list[int]:
    """Right answers on one batch: with every block, then without each named block in turn.

    One pass records each block's input; a lesion then runs only what follows its block, from that input
    (relu(x) for a residual block, x for a plain one: what lesioned() makes the block return). Nothing
    before the block is computed twice: on the shipped ×3 networks the seven answers take 11.9 M multiply-adds
    per digit instead of 27.5 M (2.3x fewer), since the first stage's blocks carry most of the work."""
    inputs, h = {}, xb
    for name, module in steps:
        if name in names:
            inputs[name] = h
        h = module(h)
    correct = [int((h.argmax(1).cpu() == yb).sum())]
    order = [name for name, _ in steps]
    for name in names:
        k = order.index(name)
        block = steps[k][1]
        h = F.relu(inputs[name]) if block.skip else inputs[name]
        for _, module in steps[k + 1:]:
            h = module(h)
        correct.append(int((h.argmax(1).cpu() == yb).sum()))
    return correct


@torch.no_grad()
def lesion_test(model: nn.Module, x: torch.Tensor, y, batch_size: int = BATCH) -> list[tuple[str, float]]:
    """[("none", accuracy), (block, accuracy without that block), ...] on normalised N x 1 x 28 x 28 x.

    The test runs on a copy in eval mode: a model that other sessions use at the same moment is never
    touched, and its own train/eval mode is left as it was. The answers are those of lesioned(), computed
    without repeating the layers in front of each removed block (_lesion_correct).
    """
    names = _require_blocks(model)
    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y).long().cpu()
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"the lesion test needs as many labels as images, at least one: "
                         f"{len(x)} images, {len(y)} labels")
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    steps = _steps(copy.deepcopy(model).eval())
    if sorted(names) != sorted(name for name, m in steps if isinstance(m, ResidualBlock)):
        raise ValueError(f"the lesion test needs a network of stages and blocks, not {type(model).__name__}")
    right = [0] * (1 + len(names))
    for start in range(0, len(x), batch_size):
        batch = _lesion_correct(steps, names, x[start:start + batch_size].to(device), y[start:start + batch_size])
        right = [a + b for a, b in zip(right, batch)]
    return [(name, r / len(x)) for name, r in zip([NONE, *names], right)]


def lesion_checkpoint_test(path: Path, data_dir=None, limit: Optional[int] = None,
                           batch_size: int = BATCH) -> tuple[list[tuple[str, float]], dict]:
    """(lesion_test rows on MNIST's first `limit` test digits (all without it), checkpoint metadata with
    test_samples: how many digits were used)."""
    from ..checkpoint import load_checkpoint
    from ..data import load_mnist

    model, meta = load_checkpoint(Path(path))
    _require_blocks(model)  # before loading MNIST: an Inception checkpoint is refused at once
    images, labels = load_mnist(False, data_dir)
    if limit is not None and not 1 <= limit <= len(images):
        raise ValueError(f"--limit must be from 1 to {len(images):,} (the test set), got {limit}")
    images, labels = images[:limit], labels[:limit]
    return lesion_test(model, normalize(images), labels, batch_size), {**meta, "test_samples": len(images)}


def one_block_note(blocks: int) -> Optional[str]:
    """Why the lesion test says little about a network with one block per stage; None otherwise."""
    if blocks != 1:
        return None
    return ("With one block per stage the network has only two residual blocks, and removing one takes "
            "away half of them: there is little depth to remove, so the test says little. Train with "
            "3 or more blocks per stage (the shipped ×3 checkpoints) to see whether the network behaves "
            "like an ensemble of shallower paths.")


def describe(title: str, rows: list[tuple[str, float]]) -> str:
    """One sentence from the numbers: how much removing one block costs this network."""
    full = 100 * rows[0][1]
    lesions = [(name, 100 * acc) for name, acc in rows[1:]]
    worst_name, worst = min(lesions, key=lambda r: r[1])
    mean = sum(acc for _, acc in lesions) / len(lesions)
    if full - worst < SMALL_DROP:
        return (f"Removing any one block costs {title} at most {full - worst:.1f} points "
                f"({full:.2f}% → {worst:.2f}% without {worst_name}; {mean:.2f}% on average).")
    return (f"{title} falls from {full:.2f}% to {worst:.2f}% without {worst_name}, and to {mean:.2f}% "
            f"on average when one of its {len(lesions)} blocks is removed.")


def title_of(meta: dict) -> str:
    """'Residual ×3' from a checkpoint's metadata."""
    return network_title(meta.get("model", "?"), meta.get("model_kwargs") or {})


def format_table(rows: list[tuple[str, float]]) -> str:
    """The rows as aligned text: block, test accuracy, the change in points from nothing removed."""
    width = max(len("removed"), *(len(name) for name, _ in rows))
    full = rows[0][1]
    lines = [f"{'removed':<{width}}  {'test acc':>8}  {'vs none':>7}"]
    for name, acc in rows:
        change = "" if name == NONE else f"{100 * (acc - full):+.2f}"
        lines.append(f"{name:<{width}}  {100 * acc:>7.2f}%  {change:>7}")
    return "\n".join(lines)
