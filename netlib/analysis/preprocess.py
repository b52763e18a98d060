"""Drawn or uploaded image -> MNIST-style 1x1x28x28 tensor (docs/design.md, "Drawn-digit preprocessing"): CLI, Draw page, uploads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..data import MEAN, STD
from .images import ImageError, to_standard_mode
from .ink import block_size, ink_pixels, read_ink, shrink, smooth_blocks

# Inputs larger than this are downscaled before anything else: a digit that fits a 20x20 box loses
# nothing at 1024 px, and it keeps a 4096x4096 image well under a second.
WORK_SIDE = 1024
FOUND_SIDE = 280  # the ink map as the Draw page shows it, beside the upload
BOX = 20  # MNIST fit each digit into a 20x20 box ...
SIZE = 28  # ... inside a 28x28 field, centre of mass at the centre.
# Thinnest stroke kept, in pixels of the 20 px box. MNIST's strokes are about 2-3 px wide there; a
# 6 px brush on a 240 px digit would be 0.5 px, a faint hairline the networks never saw in training.
MIN_STROKE = 2.0
BLANK_MAX_INK = 0.1  # below this nothing was drawn
BLANK_MIN_INK = 0.0002  # ... or fewer ink pixels than this fraction of the image (a stray dot)
BLANK_HINT = "Draw a digit: the canvas is empty."
NO_CONTRAST_HINT = "No digit in this image: it has no visible contrast (a blank page, or one flat colour)."
# Not one digit (tests/test_explain.py checks both on drawn digits, MNIST and random scribbles):
# a scribble crosses itself, so lines across it meet many strokes, and it fills its box; a dot or
# blob is one "stroke" as wide as it is long. Scores: MNIST's 10,000 test digits at most 1.46 (one
# of them over 1.45), 3,000 drawn digits 1.32, the boldest drawn digits 1.41; random scribbles 94%
# over 1.45, back-and-forth scribbling (10-30 turns) 98%.
SCRIBBLE_RUNS = 2.8  # mean ink runs met by a row or column of the crop (a digit: 1-2.5) ...
SCRIBBLE_RUNS_ONE_WAY = 3.5  # ... or by the columns alone, or the rows alone (a back-and-forth zigzag)
SCRIBBLE_FILL = 0.72  # share of the square on the longer side inked over half the peak (a digit: 0.1-0.6)
SCRIBBLE_SCORE = 1.45  # runs / SCRIBBLE_RUNS + fill / SCRIBBLE_FILL above this: a scribble
BLOB_STROKE = 0.4  # mean stroke width / longer side above this: a dot or blob (MNIST at most 0.3)
SCRIBBLE_HINT = ("That looks like a scribble, not one digit: too many strokes on top of each other. "
                 "Clear it and draw a single digit.")
BLOB_HINT = "That looks like a dot or a blob, not a digit: draw the digit's strokes, large."


@dataclass(frozen=True)
class Prepared:
    """What the network gets, and what the UI shows next to the prediction."""

    tensor: torch.Tensor | None  # 1x1x28x28 float32, (x/255 - MEAN)/STD; None when blank
    preview: np.ndarray  # uint8 28x28, what the network sees (white ink on black); zeros when blank
    blank: bool
    ink_fraction: float  # share of the input's pixels that carry ink
    bbox: tuple[int, int, int, int] | None = None  # ink box in input pixels: (left, top, right, bottom)
    hint: str = ""  # a message for the user, e.g. "draw a digit"
    scribble: bool = False  # not one digit (a scribble, a dot, a blob): the hint says which
    dark_ink: bool = False  # the ink was darker than its background (and was inverted)
    found: np.ndarray | None = None  # uint8, the ink map as found (longer side at most FOUND_SIDE px)


def _work_ink(image: Image.Image | np.ndarray, dark_ink: bool | None = None) -> tuple[np.ndarray, int, bool]:
    """(ink map, k, dark ink?) of the input, downscaled by an integer factor k to about WORK_SIDE when
    very large."""
    if isinstance(image, np.ndarray) and image.ndim not in (2, 3):
        raise ImageError(f"Expected an HxW, HxWx3 or HxWx4 image, got shape {image.shape}.")
    if not isinstance(image, (Image.Image, np.ndarray)):
        raise ImageError(f"Expected a PIL image or a numpy array, got {type(image).__name__}.")
    k = max(1, -(-max(_hw(image)) // WORK_SIDE))  # ceil
    # Shrink first (Pillow's reduce is a fast box average), then convert: far less to convert.
    if k > 1 and isinstance(image, Image.Image):
        image = to_standard_mode(image).reduce(k)
    elif k > 1:
        a = image if image.ndim == 3 else image[:, :, None]
        channels = []
        for c in range(a.shape[2]):
            band = np.ascontiguousarray(a[:, :, c])
            if band.dtype == np.uint16:
                band = band.astype(np.float32) / 65535.0
            elif band.dtype != np.uint8:
                band = band.astype(np.float32)  # 'F' keeps the array's own scale for read_ink to read
            channels.append(np.asarray(Image.fromarray(band).reduce(k)))
        image = np.stack(channels, axis=2)
    ink, dark = read_ink(image, dark_ink)
    return ink, k, dark


def _stroke_width(a: np.ndarray) -> float:
    """Mean stroke width in pixels: 2 * area / perimeter of the inked shape (a long thin stroke)."""
    m = a > 0.5 * float(a.max())
    area = int(np.count_nonzero(m))
    mi = m.view(np.uint8)
    edges = np.count_nonzero(mi[1:] != mi[:-1]) + np.count_nonzero(mi[:, 1:] != mi[:, :-1])
    edges += np.count_nonzero(m[[0, -1]]) + np.count_nonzero(m[:, [0, -1]])  # edges on the crop border
    # Counting pixel edges overstates the perimeter of slanted outlines by 4/pi on average.
    return 2.0 * area / max(edges, 1) * (4.0 / np.pi)


def _thicken(crop: np.ndarray) -> np.ndarray:
    """Widen strokes thinner than MNIST's (a thin brush on a big digit) by a grey-level dilation."""
    # Work at most at 4x the 20 px box: enough detail, and the dilation stays a handful of shifts.
    crop = shrink(crop, 4 * BOX)
    side = max(crop.shape)
    target = MIN_STROKE * side / BOX  # the thinnest wanted stroke, in pixels at this resolution
    r = round((target - _stroke_width(crop)) / 2)
    if r < 1:
        return crop
    # Max over a disk of radius r: a round brush r pixels wider on each side. Padding by r first
    # makes the widened outline part of the shape fitted into the 20 px box, and lets np.roll shift
    # without wrapping ink around.
    a = np.pad(crop, r)
    out = a.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if 0 < dy * dy + dx * dx <= r * r + r:
                np.maximum(out, np.roll(a, (dy, dx), axis=(0, 1)), out=out)
    return out


def _not_a_digit(on: np.ndarray, crop: np.ndarray) -> str:
    """SCRIBBLE_HINT, BLOB_HINT or "" for the inked crop (its mask and ink values)."""
    side = max(on.shape)
    if _stroke_width(crop) > BLOB_STROKE * side:
        return BLOB_HINT
    m = np.pad(on, 1).view(np.uint8)  # runs of ink along each row and column: count 0 -> 1 steps
    across = (np.diff(m, axis=1) == 1).sum(axis=1)[1:-1]  # per row
    down = (np.diff(m, axis=0) == 1).sum(axis=0)[1:-1]  # per column
    runs = max((across.sum() + down.sum()) / (across.size + down.size) / SCRIBBLE_RUNS,
               max(across.mean(), down.mean()) / SCRIBBLE_RUNS_ONE_WAY)
    fill = np.count_nonzero(crop > 0.5 * float(crop.max())) / side**2  # half-peak: not the grey rim
    return SCRIBBLE_HINT if runs + fill / SCRIBBLE_FILL > SCRIBBLE_SCORE else ""


def _blank(ink_fraction: float, hint: str, dark_ink: bool, found: np.ndarray) -> Prepared:
    return Prepared(None, np.zeros((SIZE, SIZE), np.uint8), True, ink_fraction, None, hint, dark_ink=dark_ink,
                    found=found)


def prepare(image: Image.Image | np.ndarray, dark_ink: bool | None = None,
            box: tuple[int, int, int, int] | None = None) -> Prepared:
    """The MNIST recipe: ink map -> blank? -> crop -> longer side 20 px -> 28x28 by centre of mass.
    dark_ink: the ink's polarity when the person knows better (None: decided from the image); box:
    (left, top, right, bottom) in input pixels, the part of the image that holds the digit."""
    image, (dx, dy) = _within(image, box)
    ink, k, dark = _work_ink(image, dark_ink)
    hint = BLANK_HINT if _transparent(image) else NO_CONTRAST_HINT
    peak = float(ink.max())
    if peak < BLANK_MAX_INK:
        return _blank(0.0, hint, dark, _found_view(np.zeros_like(ink)))
    on = ink_pixels(ink)
    ink = np.where(on, ink, np.float32(0.0))
    found = _found_view(ink)
    n_on = int(np.count_nonzero(on))
    ink_fraction = n_on / on.size
    if n_on < max(4, BLANK_MIN_INK * on.size):
        return _blank(ink_fraction, hint, dark, found)

    rows, cols = np.flatnonzero(on.any(axis=1)), np.flatnonzero(on.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = ink[top:bottom, left:right]
    not_digit = _not_a_digit(on[top:bottom, left:right], crop)
    side = block_size(crop)
    preview = _field(_thicken(smooth_blocks(crop, side) if side > 1 else crop))
    # The tensor comes from the uint8 preview, so the network sees exactly what the UI shows.
    tensor = torch.from_numpy((preview.astype(np.float32) / 255.0 - MEAN) / STD).reshape(1, 1, SIZE, SIZE)
    h, w = _hw(image)
    bbox = (int(left * k) + dx, int(top * k) + dy, int(min(right * k, w)) + dx, int(min(bottom * k, h)) + dy)
    return Prepared(tensor, preview, False, ink_fraction, bbox, not_digit, bool(not_digit), dark, found)


def _field(crop: np.ndarray) -> np.ndarray:
    """uint8 28x28: the crop's longer side at 20 px, its centre of mass at the centre, as MNIST's."""
    # BOX averages exactly the covered area when shrinking (the anti-aliasing that gave MNIST its grey
    # edges); BILINEAR when enlarging avoids blocky pixels.
    h, w = crop.shape
    s = BOX / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    resample = Image.Resampling.BOX if s < 1 else Image.Resampling.BILINEAR
    patch = np.asarray(Image.fromarray(crop, "F").resize((nw, nh), resample), dtype=np.float32)
    patch = np.clip(patch, 0.0, None)
    # MNIST strokes saturate at 255; a thin or faint line averaged down would otherwise look pale.
    patch /= max(float(patch.max()), 1e-6)
    # Whole pixels, clamped so no ink falls off the 28x28 field.
    mass = float(patch.sum())
    cy = float((patch.sum(axis=1) * np.arange(nh)).sum() / mass)
    cx = float((patch.sum(axis=0) * np.arange(nw)).sum() / mass)
    y0 = int(np.clip(round(SIZE / 2 - cy), 0, SIZE - nh))
    x0 = int(np.clip(round(SIZE / 2 - cx), 0, SIZE - nw))
    field = np.zeros((SIZE, SIZE), np.float32)
    field[y0 : y0 + nh, x0 : x0 + nw] = patch
    return np.clip(field * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _within(image, box) -> tuple[Image.Image | np.ndarray, tuple[int, int]]:
    """The part of the image inside box (clamped to the image; at least 2x2 px), and its offset."""
    if box is None:
        return image, (0, 0)
    h, w = _hw(image)
    left, top = int(np.clip(box[0], 0, w - 1)), int(np.clip(box[1], 0, h - 1))
    right, bottom = int(np.clip(box[2], left + 1, w)), int(np.clip(box[3], top + 1, h))
    if isinstance(image, Image.Image):
        return image.crop((left, top, right, bottom)), (left, top)
    return image[top:bottom, left:right], (left, top)


def _transparent(image) -> bool:
    """Has the image an alpha channel (the Draw canvas does)?"""
    if isinstance(image, Image.Image):
        return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.ndim == 3 and image.shape[2] in (2, 4)


def _found_view(ink: np.ndarray) -> np.ndarray:
    """The ink map as found, small enough to show beside the image (uint8, ink white)."""
    return np.clip(shrink(ink, FOUND_SIDE) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _hw(image: Image.Image | np.ndarray) -> tuple[int, int]:
    return (image.size[1], image.size[0]) if isinstance(image, Image.Image) else image.shape[:2]
