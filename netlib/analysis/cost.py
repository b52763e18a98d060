"""What the 1x1 convs in front of Inception's 5x5 and 3x3 branches cost or save, at any input width.

Every figure is counted from the real modules (InceptionA with and without reduce), never typed in:
parameters are the modules' own, multiply-adds are out_channels x in_channels x kernel area per output
position (the block keeps its input's height and width).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import nn

from ..models import BRANCHES, DEFAULT_WIDTH, MODELS, REDUCE, InceptionA

GOOGLENET_WIDTH = 192  # channels entering GoogLeNet's first Inception block (3a), for scale
BRANCH_NAMES = tuple(name for name, _ in BRANCHES)
_PREFIX = {"branch1x1": "1x1", "branch5x5": "5x5", "branch3x3": "3x3", "branch_pool": "pool"}


@dataclass(frozen=True)
class BlockCost:
    """One Inception block's cost, per branch (in BRANCHES order), for one digit."""

    in_ch: int
    size: int  # height = width of the block's input and output
    reduce: bool
    params: tuple  # per branch
    macs: tuple  # per branch

    @property
    def total_params(self) -> int:
        return sum(self.params)

    @property
    def total_macs(self) -> int:
        return sum(self.macs)


@lru_cache(maxsize=1024)
def block_cost(in_ch: int, reduce: bool, size: int = 1) -> BlockCost:
    """The cost of an InceptionA block reading in_ch channels of size x size, per branch."""
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        block = InceptionA(int(in_ch), reduce=reduce)
    params, macs = dict.fromkeys(BRANCH_NAMES, 0), dict.fromkeys(BRANCH_NAMES, 0)
    for name, conv in block.named_children():
        if not isinstance(conv, nn.Conv2d):
            continue
        branch = next(b for prefix, b in _PREFIX.items() if name.startswith(prefix))
        kh, kw = conv.kernel_size
        params[branch] += sum(p.numel() for p in conv.parameters())
        macs[branch] += conv.out_channels * conv.in_channels * kh * kw * size * size
    return BlockCost(int(in_ch), size, reduce, tuple(params.values()), tuple(macs.values()))


def network_blocks(width: int = DEFAULT_WIDTH) -> list[tuple[str, int, int]]:
    """(block name, input channels, spatial size) of both Inception blocks at this width, read from the
    network itself (a forward pass of one meta-device digit)."""
    with torch.device("meta"):
        net = MODELS["inception"](width=int(width))
        sizes = {}
        hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: sizes.__setitem__(n, inp[0].shape))
                 for n, m in net.named_children() if isinstance(m, InceptionA)]
        net(torch.zeros(1, 1, 28, 28))
    for h in hooks:
        h.remove()
    return [(name, shape[1], shape[-1]) for name, shape in sizes.items()]


def crossover_width() -> float:
    """The input width at which a block costs the same with and without its 1x1 convs.

    Both costs grow linearly with the input width, so two widths fix each line."""
    a1, a2 = (block_cost(c, True).total_macs for c in (1, 2))
    b1, b2 = (block_cost(c, False).total_macs for c in (1, 2))
    slope_a, slope_b = a2 - a1, b2 - b1
    return (a1 - slope_a - (b1 - slope_b)) / (slope_b - slope_a)


def saving_words(with_1x1: int, without: int) -> str:
    """'costs 38% more with them' / 'costs 62% less with them (2.6x cheaper)' / 'costs the same'."""
    if with_1x1 == without:
        return "costs the same with them"
    if with_1x1 > without:
        return f"costs {100 * (with_1x1 / without - 1):.0f}% more with them"
    ratio = without / with_1x1
    return f"costs {100 * (1 - with_1x1 / without):.0f}% less with them" + (
        f" ({ratio:.1f}x cheaper)" if ratio >= 1.5 else "")


def channel_verb(in_ch: int) -> str:
    """What a 1x1 conv to REDUCE channels does to in_ch channels: 'widen', 'narrow' or 'keep'."""
    return "widen" if in_ch < REDUCE else "narrow" if in_ch > REDUCE else "keep"


def one_by_one_note(in_ch: int) -> str:
    """'here the 1x1 convs widen 10 to 16 channels: this block costs 38% more with them', computed."""
    verb = channel_verb(in_ch)
    change = f"{verb} {in_ch} to {REDUCE} channels" if verb != "keep" else f"keep {in_ch} channels"
    words = saving_words(block_cost(in_ch, True).total_macs, block_cost(in_ch, False).total_macs)
    return f"here the 1x1 convs {change}: this block {words}"


def comparison_rows(width: int = DEFAULT_WIDTH) -> list[dict]:
    """Per block and per branch: parameters and multiply-adds with the 1x1 convs (Inception) and without
    (Naive), at this width; then one 'block' row per block with its note."""
    rows = []
    for name, in_ch, size in network_blocks(width):
        inc, naive = block_cost(in_ch, True, size), block_cost(in_ch, False, size)
        for i, branch in enumerate(BRANCH_NAMES):
            rows.append({"block": name, "branch": branch, "in_ch": in_ch,
                         "params_inception": inc.params[i], "params_naive": naive.params[i],
                         "macs_inception": inc.macs[i], "macs_naive": naive.macs[i]})
        rows.append({"block": name, "branch": "block", "in_ch": in_ch,
                     "params_inception": inc.total_params, "params_naive": naive.total_params,
                     "macs_inception": inc.total_macs, "macs_naive": naive.total_macs,
                     "note": one_by_one_note(in_ch)})
    return rows


def format_comparison(width: int = DEFAULT_WIDTH) -> str:
    """comparison_rows as aligned text for the terminal (`python -m netlib summary`)."""
    lines = [f"The 1x1 convs at width {width} (Inception = with them, Naive = without):",
             f"{'block':<8}{'branch':<8}{'in':>5}{'params Inc':>12}{'params Naive':>14}"
             f"{'mult-adds Inc':>15}{'mult-adds Naive':>17}"]
    for r in comparison_rows(width):
        lines.append(f"{r['block']:<8}{r['branch']:<8}{r['in_ch']:>5}{r['params_inception']:>12,}"
                     f"{r['params_naive']:>14,}{r['macs_inception']:>15,}{r['macs_naive']:>17,}"
                     + (f"   {r['note']}" if r.get("note") else ""))
    lines.append(f"Break-even: about {crossover_width():.1f} input channels; wider inputs make the 1x1 "
                 "convs pay.")
    return "\n".join(lines)
