"""Data augmentation on the training device, for a whole batch at once: a light random affine, and the
degradations of uploaded digits (pen width, blur, low resolution, irregular handwriting).

Every transform works in "ink space" (x minus the batch's black value, x.amin()), so the background
stays exactly black, and draws its randomness from the torch.Generator it is given (seeded runs repeat).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

SIDE = 28


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


# ---------------------------------------------------------------- degraded uploads
def degrade(x: torch.Tensor, gen: torch.Generator, thickness: float = 0.0, blur: float = 0.0,
            lowres: float = 0.0, elastic: float = 0.0) -> torch.Tensor:
    """Each transform applied to its own random share of the batch (the probabilities given), in the
    order an upload is made: handwriting (elastic), pen (thickness), scan (low resolution), optics (blur).

    x: N x 1 x 28 x 28, MNIST-normalised, on any device. The result has x's shape, dtype and device, and
    values within x's own range [x.amin(), x.amax()]; samples no transform picked are x's, bit for bit.
    All probabilities 0: x itself, and the generator is not drawn from.
    """
    x = elastic_distortion(x, gen, p=elastic)
    x = stroke_thickness(x, gen, p=thickness)
    x = low_resolution(x, gen, p=lowres)
    return gaussian_blur(x, gen, p=blur)


def _on_share(x: torch.Tensor, gen: torch.Generator, p: float, transform) -> torch.Tensor:
    """transform(ink, gen) on the samples a draw picks with probability p; the others left as they are."""
    if not p > 0:
        return x
    if x.dim() != 4 or x.shape[1:] != (1, SIDE, SIDE):
        raise ValueError(f"expected a batch of N x 1 x {SIDE} x {SIDE} images, got {tuple(x.shape)}")
    picked = torch.rand(x.shape[0], generator=gen, device=x.device) < p  # drawn first, for every sample
    bg, top = x.amin(), x.amax()
    out = torch.minimum(torch.maximum(transform(x - bg, gen) + bg, bg), top)  # clamp: 2x faster with tensors
    return torch.where(picked.view(-1, 1, 1, 1), out, x)


def _uniform(n: int, low: float, high: float, gen: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen, device=like.device, dtype=like.dtype)


def stroke_thickness(x: torch.Tensor, gen: torch.Generator, p: float = 1.0, thick: float = 0.5,
                     thick_px=(0.5, 1.0), thin_px=(0.35, 0.6)) -> torch.Tensor:
    """Thicker or thinner pens: of the share p, `thick` dilated (3x3 grey max-pool), the rest eroded
    (3x3 min-pool), each once and by a per-sample fraction of that 1-px step (thick_px, thin_px).

    A full 3x3 erosion leaves MNIST about 14% of its ink, in dashes: strokes 2-3 px wide do not
    survive it. So the step is blended in (ink + t * (pooled - ink)), close to a sub-pixel change of
    width; the ranges are those of `bench uploads`' thick and thin pens (netlib/analysis/photos.py).
    """
    def transform(ink, gen):
        n = ink.shape[0]
        dilate = torch.rand(n, generator=gen, device=ink.device) < thick
        t = torch.where(dilate, _uniform(n, *thick_px, gen, ink), _uniform(n, *thin_px, gen, ink))
        sign = torch.where(dilate, 1.0, -1.0).to(ink.dtype).view(-1, 1, 1, 1)
        pooled = sign * _max3x3(sign * ink)  # erosion: the max of -ink is minus the min of ink
        return torch.lerp(ink, pooled, t.view(-1, 1, 1, 1))
    return _on_share(x, gen, p, transform)


def _max3x3(a: torch.Tensor) -> torch.Tensor:
    """F.max_pool2d(a, 3, stride=1, padding=1), bit for bit, as the max of shifted views, rows then
    columns: about 10x faster on the CPU, where the stride-1 pooling kernel is slow."""
    p = F.pad(a, (1, 1, 1, 1), value=-math.inf)
    rows = torch.maximum(torch.maximum(p[:, :, :-2], p[:, :, 1:-1]), p[:, :, 2:])
    return torch.maximum(torch.maximum(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:])


def gaussian_blur(x: torch.Tensor, gen: torch.Generator, p: float = 1.0, sigma=(0.3, 1.0)) -> torch.Tensor:
    """Out-of-focus photos and soft scans: a Gaussian blur, sigma uniform in `sigma` (px) per sample,
    as two depthwise convolutions (one per axis) with each sample's own kernel."""
    radius = max(1, math.ceil(2.5 * sigma[1]))

    def transform(ink, gen):
        n = ink.shape[0]
        s = _uniform(n, *sigma, gen, ink).clamp_min(1e-3)
        d = torch.arange(-radius, radius + 1, device=ink.device, dtype=ink.dtype)
        k = torch.exp(-d.square() / (2 * s.view(-1, 1).square()))
        k = k / k.sum(1, keepdim=True)  # n x (2 radius + 1)
        y = ink.reshape(1, n, SIDE, SIDE)  # the samples as channels: groups=n gives each its kernel
        y = F.conv2d(y, k.view(n, 1, -1, 1), padding=(radius, 0), groups=n)
        y = F.conv2d(y, k.view(n, 1, 1, -1), padding=(0, radius), groups=n)
        return y.view_as(ink)
    return _on_share(x, gen, p, transform)


@functools.lru_cache(maxsize=16)
def _lowres_operators(sides: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """len(sides) x 28 x 28: per side, the 1-D map "area down to the side, then bilinear up to 28". Both
    steps are separable, so an image X becomes M X M^T exactly as F.interpolate would make it; one
    batched matmul then serves every side at once."""
    eye = torch.eye(SIDE, dtype=torch.float64).unsqueeze(1)  # 28 signals of length 28: e_i
    ops = []
    for side in sides:
        down = F.interpolate(eye, size=side, mode="area")
        up = F.interpolate(down, size=SIDE, mode="linear", align_corners=False)  # row i: M e_i, column i of M
        ops.append(up[:, 0, :].T)
    return torch.stack(ops).to(device=device, dtype=dtype)


def low_resolution(x: torch.Tensor, gen: torch.Generator, p: float = 1.0, sides=(8, 16)) -> torch.Tensor:
    """A digit stored small and enlarged: per sample, area-downsampled to a side drawn in `sides`
    (inclusive) and scaled back up to 28, bilinear.

    Bilinear only: an upload enlarged without smoothing (nearest) has its blocks smoothed away by the
    preprocessing (analysis/ink.smooth_blocks) before a network sees it, so blocky training digits would
    teach a look no upload has (docs/benchmarks.md has the measurements)."""
    choices = tuple(range(sides[0], sides[1] + 1))

    def transform(ink, gen):
        n = ink.shape[0]
        ops = _lowres_operators(choices, ink.device, ink.dtype)
        which = torch.randint(0, len(ops), (n,), generator=gen, device=ink.device)  # the side
        m = ops[which]  # n x 28 x 28
        return (m @ ink[:, 0] @ m.transpose(1, 2)).unsqueeze(1)
    return _on_share(x, gen, p, transform)


@functools.lru_cache(maxsize=8)
def _field_operator(control: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(control^2) x (28^2): a control x control field upsampled bicubic (align_corners) to 28 x 28 as one
    matmul, what F.interpolate makes of it, about 20x faster on the CPU. Row c: basis field e_c, upsampled."""
    basis = torch.eye(control * control, dtype=torch.float64).view(-1, 1, control, control)
    up = F.interpolate(basis, size=(SIDE, SIDE), mode="bicubic", align_corners=True)
    return up.view(control * control, SIDE * SIDE).to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=8)
def _identity_grid(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """1 x 2 x 28 x 28: grid_sample's identity grid with (x, y) first, so a field adds contiguously."""
    theta = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=dtype, device=device)
    return F.affine_grid(theta, [1, 1, SIDE, SIDE], align_corners=False).permute(0, 3, 1, 2).contiguous()


def elastic_distortion(x: torch.Tensor, gen: torch.Generator, p: float = 1.0, px: float = 2.0,
                       control: int = 4) -> torch.Tensor:
    """Irregular handwriting: a smooth random displacement per sample, drawn uniform in +-px at a
    control x control grid and upsampled bicubic to 28 x 28; one grid_sample for the batch."""
    def transform(ink, gen):
        n = ink.shape[0]
        field = torch.rand(n * 2, control * control, generator=gen, device=ink.device, dtype=ink.dtype)
        field = (field * 2 - 1) * (px * 2 / SIDE)  # px in grid_sample's [-1, 1] coordinates
        field = (field @ _field_operator(control, ink.device, ink.dtype)).view(n, 2, SIDE, SIDE)
        grid = (_identity_grid(ink.device, ink.dtype) + field).permute(0, 2, 3, 1)  # (x, y) last, a view
        return F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return _on_share(x, gen, p, transform)
