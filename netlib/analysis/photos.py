"""Digits as people upload them (tight crops, phone photos, low resolution, thick or thin pens), made from MNIST."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from PIL import Image

CATEGORIES = ("tight", "photo", "lowres", "strokes")
# A tight crop keeps the pixels at least this inked (of 255): the faint anti-aliased rim of an MNIST digit
# is not what a person crops to, and ink that really reaches each edge is the point of the category.
TIGHT_INK = 64
POLARITIES = ("white-on-black", "black-on-white")  # MNIST's own, and paper's
PAPERS = ("plain", "lined", "squared")
INKS = {"black": (0.08, 0.08, 0.1), "blue": (0.1, 0.18, 0.55)}  # RGB in 0..1: a felt tip, a ballpoint


@dataclass(frozen=True)
class UploadDigit:
    """One rendered upload, its true label, and what kind of upload it is."""

    image: Image.Image
    label: int
    category: str
    variant: str  # the sub-kind reported separately, e.g. "black-on-white", "lined, blue ink", "thin, ..."
    native_px: int = 0  # lowres only: the side the digit was rendered at before it was scaled up


def upload_digits(category: str, images: np.ndarray, labels: np.ndarray, n: int,
                  seed: int = 1234) -> Iterator[UploadDigit]:
    """n uploads of one category, made lazily from MNIST digits (uint8 N x 28 x 28) and their labels.

    tight takes the first n digits in order; the others a seeded random choice. Each upload has its own
    random stream seeded by (seed, category, position), so an upload is the same whatever n is."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}: choose from {', '.join(CATEGORIES)}")
    c = CATEGORIES.index(category)
    if category == "tight":
        order = np.arange(min(n, len(images)))
    else:  # a permutation, cycled if more uploads than digits are asked for
        perm = np.random.default_rng((seed, c)).permutation(len(images))
        order = perm[np.arange(n) % len(perm)]
    for i, index in enumerate(order):
        rng = np.random.default_rng((seed, c, i))
        yield _render(category, np.asarray(images[index]), int(labels[index]), rng, i)


def _render(category: str, digit: np.ndarray, label: int, rng: np.random.Generator, i: int) -> UploadDigit:
    inverted = i % 2 == 1  # alternating: exactly half of each polarity
    polarity = POLARITIES[inverted]
    if category == "tight":
        return UploadDigit(render_tight(digit, rng, inverted), label, category, polarity)
    if category == "photo":
        image, variant = render_photo(digit, rng)
        return UploadDigit(image, label, category, variant)
    if category == "lowres":
        image, method, native = render_lowres(digit, rng, inverted)
        return UploadDigit(image, label, category, f"{method}, {polarity}", native)
    thick = i % 4 < 2  # thick and thin each in both polarities
    image = render_strokes(digit, rng, thick, inverted)
    return UploadDigit(image, label, category, f"{'thick' if thick else 'thin'}, {polarity}")


# --- small image helpers ------------------------------------------------------------------------------

def _resize(a: np.ndarray, width: int, height: int, resample: Image.Resampling) -> np.ndarray:
    """A float image resized by Pillow (mode F keeps the values unquantised)."""
    out = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), "F").resize((width, height), resample)
    return np.asarray(out, dtype=np.float32)


def _grey(ink: np.ndarray, inverted: bool) -> Image.Image:
    """Ink in 0..1 -> an 8-bit grey image: white ink on black (MNIST's polarity), or black on white."""
    a = 1.0 - ink if inverted else ink
    return Image.fromarray(np.clip(a * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")


def _ink_box(digit: np.ndarray, level: int = 1) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero((digit >= level).any(axis=1)), np.flatnonzero((digit >= level).any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _dilate(a: np.ndarray, r: int) -> np.ndarray:
    """Grey-level dilation by r px: 3x3 squares alternating with crosses grow an octagon, close to a
    round pen tip, for r passes of 9 shifts instead of one pass over a whole disk."""
    square = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    cross = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
    h, w = a.shape
    for k in range(r):
        p = np.pad(a, 1, mode="edge")
        out = a.copy()
        for dy, dx in square if k % 2 == 0 else cross:
            np.maximum(out, p[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w], out=out)
        a = out
    return a


# --- the four categories ------------------------------------------------------------------------------

def render_tight(digit: np.ndarray, rng: np.random.Generator, inverted: bool) -> Image.Image:
    """The digit cropped to its ink (ink touches all four edges), enlarged 2-8x, grey."""
    rows, cols = _ink_box(digit, TIGHT_INK)
    crop = digit[rows, cols].astype(np.float32) / 255.0
    f = rng.uniform(2.0, 8.0)
    h, w = crop.shape
    big = _resize(crop, max(1, round(w * f)), max(1, round(h * f)), Image.Resampling.BILINEAR)
    return _grey(np.clip(big, 0.0, 1.0), inverted)


def render_lowres(digit: np.ndarray, rng: np.random.Generator,
                  inverted: bool) -> tuple[Image.Image, str, int]:
    """(image, "nearest" or "bilinear", native side): the digit stored at 8-16 px, shown at 64-256 px."""
    # MNIST's 28 px field already has a 4 px margin; a little more, unevenly, moves the digit off centre.
    pads = rng.integers(0, 5, size=4)
    field = np.pad(digit.astype(np.float32) / 255.0, ((pads[0], pads[1]), (pads[2], pads[3])))
    native = int(rng.integers(8, 17))
    small = _resize(field, native, native, Image.Resampling.BOX)
    small = np.round(np.clip(small, 0.0, 1.0) * 255.0) / 255.0  # a tiny image file holds 8-bit values
    side = int(rng.integers(64, 257))
    method = "nearest" if rng.random() < 0.5 else "bilinear"
    resample = Image.Resampling.NEAREST if method == "nearest" else Image.Resampling.BILINEAR
    return _grey(np.clip(_resize(small, side, side, resample), 0.0, 1.0), inverted), method, native


def render_strokes(digit: np.ndarray, rng: np.random.Generator, thick: bool, inverted: bool) -> Image.Image:
    """The digit at upload size (150-300 px) with its strokes widened or narrowed by a few px."""
    side = int(rng.integers(150, 301))
    scale = side / 28  # upscaled px per MNIST px: MNIST's strokes are 2-3 MNIST px wide
    ink = np.clip(_resize(digit.astype(np.float32) / 255.0, side, side, Image.Resampling.BICUBIC), 0.0, 1.0)
    if thick:  # 0.5-1 MNIST px more on each side: a marker (3-11 px here)
        return _grey(_dilate(ink, max(1, round(scale * rng.uniform(0.5, 1.0)))), inverted)
    # 0.35-0.6 MNIST px less on each side (2-6 px): a fine pen, short of wiping strokes out (erosion: the
    # paper dilated)
    return _grey(1.0 - _dilate(1.0 - ink, max(1, round(scale * rng.uniform(0.35, 0.6)))), inverted)


def render_photo(digit: np.ndarray, rng: np.random.Generator) -> tuple[Image.Image, str]:
    """(RGB image, "paper, ink colour"): a phone photo of the digit written on paper, JPEG-compressed."""
    w, h = (int(v) for v in rng.integers(200, 401, size=2))
    ink = _pen_mask(digit, h, w, rng)
    paper, lines = _paper_lines(h, w, rng)
    coeffs = _perspective_coeffs(w, h, rng)
    ink, lines = _warp(ink, coeffs), _warp(lines, coeffs)

    paper_rgb = rng.uniform(0.84, 0.97) * np.array([1.0, rng.uniform(0.97, 1.0), rng.uniform(0.9, 1.0)])
    line_rgb = np.array([0.55, 0.72, 0.9]) if rng.random() < 0.6 else np.array([0.65, 0.65, 0.65])
    ink_name = "blue" if rng.random() < 0.5 else "black"
    ink_rgb = np.array(INKS[ink_name]) + rng.uniform(-0.04, 0.04, size=3)

    rgb = np.broadcast_to(paper_rgb, (h, w, 3)).astype(np.float32)
    rgb = rgb + (line_rgb - rgb) * (rng.uniform(0.35, 0.7) * lines)[:, :, None]
    rgb = rgb + (ink_rgb - rgb) * (rng.uniform(0.85, 1.0) * ink)[:, :, None]
    rgb = rgb * _lighting(h, w, rng)[:, :, None]
    rgb = rgb + rng.normal(0.0, rng.uniform(0.005, 0.03), size=rgb.shape)  # sensor noise, per channel
    image = Image.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8), "RGB")
    return _jpeg(image, int(rng.integers(30, 91))), f"{paper}, {ink_name} ink"


# --- the photo's parts ----------------------------------------------------------------------------------

def _pen_mask(digit: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """HxW ink coverage 0..1: the digit's ink, 120-200 px tall, somewhere near the middle."""
    rows, cols = _ink_box(digit)
    crop = digit[rows, cols].astype(np.float32) / 255.0
    tall = int(rng.uniform(min(120, 0.6 * min(h, w)), min(200, 0.7 * min(h, w))))
    tall = min(tall, int((w - 40) * crop.shape[0] / crop.shape[1]))  # a wide digit still fits across
    wide = max(2, round(crop.shape[1] * tall / crop.shape[0]))
    big = _resize(crop, wide, tall, Image.Resampling.BICUBIC)
    # Upscaled MNIST is blurred over several px; a pen's edge is crisp: a steep ramp around half ink.
    big = np.clip((big - 0.3) / 0.35, 0.0, 1.0)
    y0 = (h - tall) // 2 + int(rng.uniform(-0.5, 0.5) * max(0, h - tall - 40))
    x0 = (w - wide) // 2 + int(rng.uniform(-0.5, 0.5) * max(0, w - wide - 40))
    y0, x0 = int(np.clip(y0, 0, h - tall)), int(np.clip(x0, 0, max(0, w - wide)))
    mask = np.zeros((h, w), np.float32)
    mask[y0 : y0 + tall, x0 : x0 + wide] = big[:, : w - x0]
    return mask


def _paper_lines(h: int, w: int, rng: np.random.Generator) -> tuple[str, np.ndarray]:
    """(kind, HxW 0..1): plain paper, ruled lines, or a squared grid, 1-2 px thin lines."""
    kind = PAPERS[int(rng.choice(3, p=[0.4, 0.3, 0.3]))]
    lines = np.zeros((h, w), np.float32)
    if kind == "plain":
        return kind, lines
    spacing = rng.uniform(18.0, 34.0) if kind == "lined" else rng.uniform(14.0, 26.0)
    width = int(rng.integers(1, 3))
    offset = rng.uniform(0.0, spacing)
    on_rows = (np.arange(h) - offset) % spacing < width
    lines[on_rows, :] = 1.0
    if kind == "squared":
        lines[:, (np.arange(w) - offset) % spacing < width] = 1.0
    return kind, lines


def _perspective_coeffs(w: int, h: int, rng: np.random.Generator) -> list[float]:
    """Pillow's PERSPECTIVE coefficients (output px -> input px): the page turned up to 10 degrees
    about its centre, each corner moved up to 3% of the side (a camera not quite square to the page)."""
    angle = math.radians(rng.uniform(-10.0, 10.0))
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = w / 2, h / 2
    out_pts = [(0, 0), (w, 0), (w, h), (0, h)]
    rows, rhs = [], []
    for x, y in out_pts:
        jx, jy = rng.uniform(-0.03, 0.03) * w, rng.uniform(-0.03, 0.03) * h
        u = cx + cos * (x - cx) - sin * (y - cy) + jx
        v = cy + sin * (x - cx) + cos * (y - cy) + jy
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows, float), np.array(rhs, float))]


def _warp(layer: np.ndarray, coeffs: list[float]) -> np.ndarray:
    h, w = layer.shape
    out = Image.fromarray(layer, "F").transform((w, h), Image.Transform.PERSPECTIVE, coeffs,
                                                 Image.Resampling.BILINEAR)
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def _lighting(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """HxW brightness factor: a gradient across the page times a soft shadow over one side."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    half_diagonal = math.hypot(w, h) / 2
    a = rng.uniform(0.0, 2 * math.pi)
    along = ((x - w / 2) * math.cos(a) + (y - h / 2) * math.sin(a)) / half_diagonal  # -1..1
    light = 1.0 - rng.uniform(0.05, 0.3) * (along + 1.0) / 2.0
    # The shadow (a hand, the phone) falls beyond a random line; its edge is soft over 10-40 px.
    b = rng.uniform(0.0, 2 * math.pi)
    across = ((x - w / 2) * math.cos(b) + (y - h / 2) * math.sin(b)) / half_diagonal
    edge = (across - rng.uniform(0.3, 0.8)) * half_diagonal / rng.uniform(10.0, 40.0)
    shadow = rng.uniform(0.1, 0.35) / (1.0 + np.exp(-np.clip(edge, -30, 30)))
    return (light * (1.0 - shadow)).astype(np.float32)


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    """The image after a round trip through JPEG at this quality (a phone's or a website's compression)."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")
