"""Look inside a network: per-layer table (shape, parameters, multiply-adds) and feature maps via hooks."""

from __future__ import annotations

from typing import Optional

import torch
from torch import nn

from ..models import InceptionA, branches_text, build_model
from .cost import channel_verb, one_by_one_note


def _macs(module: nn.Module, out: torch.Tensor) -> int:
    """Multiply-adds per sample of one leaf layer (convolutions and linear layers; others are ~free)."""
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return (out[0].numel()) * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return module.in_features * module.out_features
    return 0


def _set_fused(model: nn.Module, fused: bool) -> None:
    # Unfused, every branch conv runs as its own module, so its hook fires.
    for m in model.modules():
        if isinstance(m, InceptionA):
            m.fuse_1x1 = fused


def layer_table(model_name: str, model: Optional[nn.Module] = None, **model_kwargs) -> list[dict]:
    """One row per stage (depth 0) and per layer inside a block (depth 1+), for a batch of 1."""
    model = model if model is not None else build_model(model_name, **model_kwargs)
    outputs: dict[str, tuple] = {}
    macs: dict[str, int] = {}
    modules = dict(model.named_modules())
    hooks = []
    for name, module in modules.items():
        if not name:
            continue

        def hook(mod, inp, out, name=name):
            outputs[name] = tuple(out.shape)
            macs[name] = _macs(mod, out)
        hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        _set_fused(model, False)
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 1, 28, 28))
    finally:
        _set_fused(model, True)
        model.train(was_training)
        for h in hooks:
            h.remove()

    def total_macs(prefix: str) -> int:
        return sum(v for k, v in macs.items() if k == prefix or k.startswith(prefix + "."))

    # Stages in forward order, each followed by its inner layers in definition order (branch by
    # branch for Inception), skipping modules the forward never called.
    rows = []
    for stage, _ in model.named_children():
        for name in [stage] + [n for n in modules if n.startswith(stage + ".") and n in outputs]:
            mod = modules[name]
            shape = list(outputs[name])
            rows.append({
                "name": name,
                "type": type(mod).__name__,
                "depth": name.count("."),
                "output_shape": shape,
                "params": sum(p.numel() for p in mod.parameters()),
                "macs": total_macs(name),
                "note": _note(mod, name, shape, outputs),
            })
    return rows


def _note(mod: nn.Module, name: str, shape: list, outputs: dict) -> str:
    if isinstance(mod, nn.Flatten):
        prev = [v for k, v in outputs.items() if k.count(".") == 0 and k != name]
        c, h, w = next(v[1:] for v in reversed(prev) if len(v) == 4)
        return f"{c} channels x {h} x {w} = {c * h * w} features per digit"
    if isinstance(mod, InceptionA):
        text = f"concat of branches {branches_text()} channels"
        return text + ("; " + one_by_one_note(mod.branch1x1.in_channels) if mod.reduce else "")
    if name.endswith("_1") and isinstance(mod, nn.Conv2d) and mod.kernel_size == (1, 1):
        verb = {"widen": "widens", "narrow": "narrows", "keep": "keeps"}[channel_verb(mod.in_channels)]
        wide = "5x5" if "5x5" in name else "3x3"
        return f"1x1 conv {verb} channels {mod.in_channels} -> {mod.out_channels} before the {wide}"
    if type(mod).__name__ == "ResidualBlock":
        return "out = relu(x + conv(relu(conv(x)))): the skip path keeps the shape"
    return ""


def format_table(rows: list[dict]) -> str:
    """The table as aligned text for the terminal."""
    lines = [f"{'layer':<26}{'type':<15}{'output shape':<20}{'params':>10}{'mult-adds':>14}"]
    for r in rows:
        shape = " x ".join(str(d) for d in r["output_shape"])
        lines.append(f"{'  ' * r['depth'] + r['name']:<26}{r['type']:<15}{shape:<20}"
                     f"{r['params']:>10,}{r['macs']:>14,}" + (f"   {r['note']}" if r["note"] else ""))
    top = [r for r in rows if r["depth"] == 0]
    lines.append(f"{'total':<61}{sum(r['params'] for r in top):>10,}{sum(r['macs'] for r in top):>14,}")
    return "\n".join(lines)


@torch.no_grad()
def feature_maps(model: nn.Module, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
    """(stage name, output for the first sample) for every stage, in forward order."""
    was_training = model.training
    model.eval()
    maps = []
    try:
        for name, stage in model.named_children():
            x = stage(x)
            maps.append((name, x[0].detach().cpu()))
    finally:
        model.train(was_training)
    return maps


def model_cost(model: str, **model_kwargs) -> dict:
    """Parameters and forward multiply-adds per sample, from the per-layer table."""
    top = [r for r in layer_table(model, **model_kwargs) if r["depth"] == 0]
    return {"params": sum(r["params"] for r in top), "macs": sum(r["macs"] for r in top)}
