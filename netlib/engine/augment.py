"""Data augmentation on the training device: a light random affine for a whole batch at once."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, gen: torch.Generator, degrees=12.0, shift_px=2.0, scale=0.1):
    """Light per-sample rotation, shift and scale on a whole batch at once (one grid_sample)."""
    n = x.shape[0]
    r = torch.rand(n, 4, generator=gen, device=x.device) * 2 - 1  # uniform in [-1, 1)
    angle = r[:, 0] * math.radians(degrees)
    s = 1 + r[:, 1] * scale
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    tx, ty = r[:, 2] * shift_px * 2 / 28, r[:, 3] * shift_px * 2 / 28
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Background is the normalised value of a black pixel, not 0 (which would be grey).
    bg = x.amin()
    return F.grid_sample(x - bg, grid, align_corners=False, padding_mode="zeros") + bg
