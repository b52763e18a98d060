"""The networks (Inception, Naive Inception, Residual and Plain; docs/design.md, "The networks") and the
registry that names them."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .names import (DESCRIPTIONS, DEFAULT_WIDTH, DEPTH_MODELS, MAX_BLOCKS, MAX_WIDTH, TITLES, WIDTH_MODELS,  # noqa: F401
                    network_title, shape_kwargs, title)


# Inception's four branches in concatenation order: (name, output channels). The 5x5 and 3x3 branches
# first reduce their input to REDUCE channels with a 1x1 conv.
BRANCHES = (("1x1", 16), ("5x5", 24), ("3x3", 24), ("pool", 24))
REDUCE = 16


def branches_text() -> str:
    """'16 (1x1) + 24 (5x5) + 24 (3x3) + 24 (pool) = 88', from BRANCHES."""
    return " + ".join(f"{c} ({name})" for name, c in BRANCHES) + f" = {InceptionA.out_channels}"


class InceptionA(nn.Module):
    """Four parallel branches on the same input, concatenated on channels: 16 + 24 + 24 + 24 = 88.

    reduce=False is the naive block: the 5x5 conv and the first 3x3 conv read the block's input
    directly, without the 1x1 convs in front of them (branch5x5_1, branch3x3_1). The output is the
    same 88 channels, so nothing after the block changes.
    """

    out_channels = sum(c for _, c in BRANCHES)

    def __init__(self, in_ch: int, reduce: bool = True) -> None:
        super().__init__()
        # The three 1x1 convs that read x run as one conv when fused: same math, one kernel launch
        # instead of three (Inception's many thin convs dominate its step time).
        # Inspection turns fusing off so that a forward hook sees every branch conv.
        self.fuse_1x1 = True
        self.reduce = reduce
        c1, c5, c3, cp = (c for _, c in BRANCHES)
        wide_in = REDUCE if reduce else in_ch  # what the 5x5 and the first 3x3 read
        self.branch1x1 = nn.Conv2d(in_ch, c1, kernel_size=1)

        if reduce:
            self.branch5x5_1 = nn.Conv2d(in_ch, REDUCE, kernel_size=1)
        self.branch5x5_2 = nn.Conv2d(wide_in, c5, kernel_size=5, padding=2)

        if reduce:
            self.branch3x3_1 = nn.Conv2d(in_ch, REDUCE, kernel_size=1)
        self.branch3x3_2 = nn.Conv2d(wide_in, c3, kernel_size=3, padding=1)
        self.branch3x3_3 = nn.Conv2d(c3, c3, kernel_size=3, padding=1)

        self.branch_pool = nn.Conv2d(in_ch, cp, kernel_size=1)

    def branches(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The four branch outputs, in concatenation order (1x1, 5x5, 3x3, pool)."""
        if not self.reduce:
            b1, b5, b3 = self.branch1x1(x), x, x
        elif self.fuse_1x1:
            w = torch.cat([self.branch1x1.weight, self.branch5x5_1.weight, self.branch3x3_1.weight])
            b = torch.cat([self.branch1x1.bias, self.branch5x5_1.bias, self.branch3x3_1.bias])
            b1, b5, b3 = F.conv2d(x, w, b).split([self.branch1x1.out_channels, REDUCE, REDUCE], dim=1)
        else:
            b1, b5, b3 = self.branch1x1(x), self.branch5x5_1(x), self.branch3x3_1(x)
        b5 = self.branch5x5_2(b5)
        b3 = self.branch3x3_3(self.branch3x3_2(b3))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return [b1, b5, b3, bp]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # N x in_ch x H x W -> N x 88 x H x W
        return torch.cat(self.branches(x), dim=1)


class PoolReLU(nn.Module):
    """maxpool 2x2 then relu: the step between stages in both networks (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(F.max_pool2d(x, 2))


class StagedNet(nn.Module):
    """A network that is a plain sequence of named stages (its direct children, in order).

    Inspection hooks each stage to get the shapes and feature maps of the tables in docs/design.md.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.children():
            x = stage(x)
        return x


class InceptionNet(StagedNet):
    """conv5x5 -> pool -> InceptionA -> conv5x5 -> pool -> InceptionA -> linear (97,298 params).

    width: conv1's output channels, the first block's input (conv2 gives 2 x width, the second's);
    10 as published.
    """

    reduce = True  # the 1x1 convs in front of the 5x5 and 3x3 branches

    def __init__(self, num_classes: int = 10, width: int = DEFAULT_WIDTH) -> None:
        super().__init__()
        if not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"width must be a whole number from 1 to {MAX_WIDTH}, not {width!r}")
        # input N x 1 x 28 x 28
        self.conv1 = nn.Conv2d(1, width, kernel_size=5)  # N x W x 24 x 24
        self.pool1 = PoolReLU()  # N x W x 12 x 12
        self.incep1 = InceptionA(width, self.reduce)  # N x 88 x 12 x 12
        self.conv2 = nn.Conv2d(88, 2 * width, kernel_size=5)  # N x 2W x 8 x 8
        self.pool2 = PoolReLU()  # N x 2W x 4 x 4
        self.incep2 = InceptionA(2 * width, self.reduce)  # N x 88 x 4 x 4
        self.flatten = nn.Flatten()  # N x 1408 (= 88*4*4)
        self.fc = nn.Linear(88 * 4 * 4, num_classes)  # N x 10


class NaiveInceptionNet(InceptionNet):
    """The Inception network without the 1x1 convs that feed its 5x5 and 3x3 branches (94,642 params
    at width 10): what those 1x1 convs buy, or cost, at a given width."""

    reduce = False


class ResidualBlock(nn.Module):
    """y = conv(relu(conv(x))); out = relu(x + y). Channels and padding fixed so x and y match."""

    def __init__(self, ch: int, skip: bool = True) -> None:
        super().__init__()
        self.skip = skip
        self.conv1 = nn.Conv2d(ch, ch, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(ch, ch, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(x)))
        # The skip path gives the gradient a route with factor 1 back to earlier layers.
        return F.relu(x + y) if self.skip else F.relu(y)


class ResidualNet(StagedNet):
    """conv5x5 -> pool -> ResidualBlock -> conv5x5 -> pool -> ResidualBlock -> linear (41,514 params)."""

    def __init__(self, num_classes: int = 10, blocks: int = 1, skip: bool = True) -> None:
        super().__init__()
        if not 1 <= int(blocks) <= MAX_BLOCKS:
            raise ValueError(f"blocks per stage must be 1 to {MAX_BLOCKS}, not {blocks}")
        blocks = int(blocks)
        # Published form: one block per stage; deeper stacks (blocks > 1) are nn.Sequential.
        def stage(ch: int) -> nn.Module:
            if blocks == 1:
                return ResidualBlock(ch, skip)
            return nn.Sequential(*[ResidualBlock(ch, skip) for _ in range(blocks)])

        # input N x 1 x 28 x 28
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5)  # N x 16 x 24 x 24
        self.pool1 = PoolReLU()  # N x 16 x 12 x 12
        self.rblock1 = stage(16)  # N x 16 x 12 x 12
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5)  # N x 32 x 8 x 8
        self.pool2 = PoolReLU()  # N x 32 x 4 x 4
        self.rblock2 = stage(32)  # N x 32 x 4 x 4
        self.flatten = nn.Flatten()  # N x 512 (= 32*4*4)
        self.fc = nn.Linear(32 * 4 * 4, num_classes)  # N x 10


class PlainNet(ResidualNet):
    """The Residual network with its skip connections removed: the same convs, the same parameters.

    Deep stacks of it (blocks > 1) show why skips matter: the gradient reaching the first layers
    shrinks with every block it has to pass through.
    """

    def __init__(self, num_classes: int = 10, blocks: int = 1) -> None:
        super().__init__(num_classes, blocks=blocks, skip=False)


# name -> builder. The CLI, the UI and the tests iterate this; keyword arguments are recorded in
# checkpoints so a model can be rebuilt from its file alone.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "inception": InceptionNet,
    "naive": NaiveInceptionNet,
    "residual": ResidualNet,
    "plain": PlainNet,
}

# The two networks the lab is about: shipped checkpoints, Draw and Home show these. "plain" is the
# experiment network (Residual without skips) for the gradient-flow lesson.
SHOWCASE = ("inception", "residual")


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a registered network by name; raises KeyError with the known names otherwise."""
    if name not in MODELS:
        raise KeyError(f"unknown network {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
