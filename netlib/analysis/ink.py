"""Where the ink is in an image: polarity, paper under uneven light, and "no contrast" (docs/design.md §5)."""

from __future__ import annotations

from typing import Optional

import numpy as np
from PIL import Image

from .images import as_float_array

# The background is modelled on a small copy: paper's light varies slowly, and a surface fitted to a
# few thousand pixels costs a millisecond.
MODEL_SIDE = 96
MIN_CONTRAST = 0.06  # ink at most this far from the paper (0-1 scale) is no ink: a blank page, a gradient
NOISE_SIGMAS = 3.0  # the paper's grain: cut at this many robust standard deviations of it
STRONG = 0.45  # a stroke's core, as a share of the ink's peak
CORE_REACH, MAX_REACH = 2, 40  # how far a digit's faint parts reach from its core: px + one stroke width
PAPER_TOLERANCE = 0.04  # a pixel this much darker (or lighter) than the fitted paper is no paper
BLOCKY_SHARE = 0.9  # changes on the block grid's lines, in an enlarged low-resolution image
SURFACE_DEGREE = 2  # the paper's light: a quadratic surface (a gradient, a lamp's falloff, a soft shadow)


def read_ink(image, dark_ink: Optional[bool] = None) -> tuple[np.ndarray, bool]:
    """(ink map, whether the ink was darker than its background). The ink map: float32 HxW in [0, 1], ink
    high, whatever the input's polarity, alpha or lighting. dark_ink: True (dark ink on light paper), False
    (light ink on dark), None (decided from the image)."""
    a = as_float_array(image)
    if a.ndim == 2:
        gray, alpha = a, None
    elif a.shape[2] == 2:
        gray, alpha = a[:, :, 0], a[:, :, 1]
    else:
        gray = a[:, :, :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        alpha = a[:, :, 3] if a.shape[2] == 4 else None
    if alpha is not None and alpha.min() < 0.99:
        return _cut_out(gray, alpha, dark_ink)
    return _on_paper(np.ascontiguousarray(gray, dtype=np.float32), dark_ink)


def ink_pixels(ink: np.ndarray) -> np.ndarray:
    """The pixels that belong to the digit: over 15% of the peak (an anti-aliased edge counts), and near a
    stroke's core (over STRONG of the peak). A faint line far from every core is the paper's: a ruled or
    squared line, a crease, a shadow's edge."""
    peak = float(ink.max())
    core = ink > STRONG * peak
    reach = min(CORE_REACH + round(_stroke_width(core)), MAX_REACH)  # a tapering end can be long
    return (ink > 0.15 * peak) & _spread(_spread(core, reach, 0), reach, 1)


def _spread(mask: np.ndarray, r: int, axis: int) -> np.ndarray:
    """The mask widened by r pixels both ways along an axis: log2(r) shifted ORs, no wrap-around."""
    out, covered = mask.copy(), 0
    while covered < r:
        s = min(covered + 1, r - covered)  # doubles the reach each pass
        a = np.moveaxis(out, axis, 0)
        grown = a.copy()
        grown[s:] |= a[:-s]
        grown[:-s] |= a[s:]
        out, covered = np.moveaxis(grown, 0, axis), covered + s
    return out


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels: 2 * area / perimeter of the shape."""
    m = mask.view(np.uint8)
    edges = np.count_nonzero(m[1:] != m[:-1]) + np.count_nonzero(m[:, 1:] != m[:, :-1])
    return 2.0 * float(np.count_nonzero(mask)) / max(edges, 1)


def _cut_out(gray: np.ndarray, alpha: np.ndarray, dark_ink: Optional[bool]) -> tuple[np.ndarray, bool]:
    """A transparent background (the Draw canvas: RGB there is all zero, so luminance means nothing)."""
    opaque = gray[alpha >= 0.9]
    if opaque.size == 0:
        opaque = gray[alpha > 0.0]
    if dark_ink is None and (opaque.size == 0 or np.percentile(opaque, 95) - np.percentile(opaque, 5) < 0.2):
        return np.ascontiguousarray(alpha, dtype=np.float32), False  # one ink colour: ink is alpha
    # visible content of several shades (a cut-out scan): polarity among the visible pixels
    if dark_ink is None:
        dark_ink = bool(np.median(opaque) > 0.5) if opaque.size else False
    return (alpha * ((1.0 - gray) if dark_ink else gray)).astype(np.float32), dark_ink


def _on_paper(gray: np.ndarray, dark_ink: Optional[bool]) -> tuple[np.ndarray, bool]:
    """An opaque image: split it in two tones, take the ink to be the smaller tone that keeps off the
    image's edge, fit the paper's light under the other, and measure the ink against that surface."""
    small = shrink(gray, MODEL_SIDE)
    threshold = _otsu(small)
    darker = small < threshold
    if dark_ink is None:
        dark_ink = _ink_score(darker) < _ink_score(~darker)
    ink_tone = darker if dark_ink else ~darker
    paper_mask = ~_spread(_spread(ink_tone, 1, 0), 1, 1)  # not next to ink: an edge's grey is no paper
    if paper_mask.sum() < 16:  # nearly all one tone: the whole small copy is the paper's sample
        paper_mask = np.ones_like(paper_mask)
    coef = _fit(small, paper_mask)
    for _ in range(2):  # faint ink taken for paper bends the surface towards it: drop it and fit again
        inkwards = (_evaluate(coef, small.shape) - small) if dark_ink else (small - _evaluate(coef, small.shape))
        spread = 1.4826 * float(np.median(np.abs(inkwards[paper_mask])))
        kept = paper_mask & (inkwards < max(PAPER_TOLERANCE, NOISE_SIGMAS * spread))
        if kept.sum() < 16 or kept.sum() == paper_mask.sum():
            break
        paper_mask, coef = kept, _fit(small, kept)
    paper = _evaluate(coef, gray.shape)
    depth = (paper - gray) if dark_ink else (gray - paper)  # how far each pixel is from the paper, inkwards
    grain = _grain(depth, paper_mask)
    strongest = float(np.percentile(depth, 99.9))
    if strongest < MIN_CONTRAST:
        return np.zeros_like(gray), dark_ink
    floor = min(NOISE_SIGMAS * grain, 0.5 * strongest)
    return np.clip((depth - floor) / max(strongest - floor, 1e-6), 0.0, 1.0).astype(np.float32), dark_ink


def _grain(depth: np.ndarray, paper_mask: np.ndarray) -> float:
    """A robust standard deviation of the paper's own pixels around its surface, at full resolution (the
    small copy averages the grain away)."""
    H, W = depth.shape
    step = max(1, max(H, W) // 256)
    ys, xs = np.arange(0, H, step), np.arange(0, W, step)
    h, w = paper_mask.shape
    on_paper = paper_mask[(ys * h // H)[:, None], (xs * w // W)[None, :]]
    values = depth[::step, ::step][on_paper]
    return 1.4826 * float(np.median(np.abs(values - np.median(values)))) if values.size else 0.0


def _ink_score(mask: np.ndarray) -> float:
    """Lower for what looks like ink: a small share of the image, little of it on the image's edge."""
    edge = np.concatenate([mask[0], mask[-1], mask[1:-1, 0], mask[1:-1, -1]])
    return float(mask.mean()) + float(edge.mean())


def shrink(a: np.ndarray, side: int) -> np.ndarray:
    """A box-averaged copy whose longer side is at most `side`."""
    h, w = a.shape
    if max(h, w) <= side:
        return a
    f = side / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    return np.asarray(Image.fromarray(a, "F").resize(size, Image.Resampling.BOX), dtype=np.float32)


def _otsu(a: np.ndarray) -> float:
    """The grey level that splits a's histogram into two tones with the least spread within each."""
    hist, edges = np.histogram(a, bins=64, range=(0.0, 1.0))
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 - m0) ** 2 / (w0 * (1.0 - w0))
    between = np.nan_to_num(between[:-1])
    return float(edges[int(np.argmax(between)) + 1]) if between.any() else float(np.median(a)) + 1e-6


def _fit(small: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The coefficients of a low-order polynomial in (x, y) fitted to small[mask], x and y in 0..1."""
    h, w = small.shape
    ys, xs = np.nonzero(mask)
    coef, *_ = np.linalg.lstsq(_terms((xs + 0.5) / w, (ys + 0.5) / h), small[ys, xs].astype(np.float64), rcond=None)
    return coef


def _evaluate(coef: np.ndarray, shape: tuple) -> np.ndarray:
    """The fitted surface over an image of `shape`."""
    H, W = shape
    gx, gy = (np.arange(W, dtype=np.float32) + 0.5) / W, (np.arange(H, dtype=np.float32) + 0.5) / H
    out = np.zeros(shape, np.float32)
    for c, (i, j) in zip(coef, _powers()):
        out += np.float32(c) * (gy[:, None] ** j) * (gx[None, :] ** i)
    return out


def _powers() -> list[tuple[int, int]]:
    return [(i, j) for i in range(SURFACE_DEGREE + 1) for j in range(SURFACE_DEGREE + 1 - i)]


def _terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([(x ** i) * (y ** j) for i, j in _powers()], axis=1)


def block_size(ink: np.ndarray) -> int:
    """The side of the square blocks an image enlarged without smoothing is made of (a small scan or a
    screenshot blown up: nearest-neighbour), or 1. Its values then change only on a few grid lines,
    the same in every row and every column, one block apart; a drawing's edges wander."""
    across, down = _grid_step(ink), _grid_step(ink.T)
    if across is None or down is None:  # a narrow digit (a "1") has too few edges one way to tell
        step = across or down or 1
    elif across > down:
        step = down if _multiple(across, down) else 1
    else:
        step = across if _multiple(down, across) else 1
    return step if step > 2 else 1


def _multiple(big: int, small: int) -> bool:
    """Is big one, two or more blocks of side small (one pixel of rounding per block allowed)? A gap
    between edges along a stroke two blocks wide is two blocks."""
    n = max(1, round(big / max(small, 1)))
    return abs(big - n * small) <= n


def _grid_step(a: np.ndarray) -> int | None:
    """Along the rows: the usual gap between the columns where the value changes, when nearly all the
    changes fall on a few columns that many rows share; 1 when they do not; None when there are too
    few changes to tell."""
    rows, cols = np.nonzero(np.abs(np.diff(a, axis=1)) > 0.02)
    gaps = (cols[1:] - cols[:-1])[rows[1:] == rows[:-1]]
    if gaps.size < 20:
        return None
    step = int(np.argmax(np.bincount(gaps)))
    if step < 3:
        return 1
    lines = int(a.shape[1] / step) + 2  # the block boundaries a row can cross
    on_lines = np.sort(np.bincount(cols))[::-1][:lines].sum() / cols.size
    return step if on_lines >= BLOCKY_SHARE else 1


def smooth_blocks(crop: np.ndarray, side: int) -> np.ndarray:
    """A box average over one block each way: blocks become the ramps a smooth enlargement gives."""
    out = crop
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (side // 2 + 1, side - side // 2)
        c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float64)
        hi = np.take(c, np.arange(side, side + out.shape[axis]), axis=axis)
        lo = np.take(c, np.arange(0, out.shape[axis]), axis=axis)
        out = ((hi - lo) / side).astype(np.float32)
    return out
