"""Digits drawn the way people draw with a mouse: stroke paths, random styles, rendering, a fixed set."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]


def _arc(cx: float, cy: float, rx: float, ry: float, deg0: float, deg1: float, n: int = 32) -> Stroke:
    """Ellipse arc, angles in degrees on screen (y down: 90 is the bottom, -90 the top)."""
    t = np.radians(np.linspace(deg0, deg1, n))
    return [(float(cx + rx * math.cos(a)), float(cy + ry * math.sin(a))) for a in t]


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 20) -> Stroke:
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    return [(float(x), float(y)) for x, y in pts]


def _line(p0: Point, p1: Point, n: int = 12) -> Stroke:
    return _bezier(p0, p0, p1, p1, n) if n > 2 else [p0, p1]


def _eight() -> Stroke:
    # One stroke from the top: down the right of the upper loop, across the waist, round the
    # (larger) lower loop and back up the left of the upper one.
    pts = []
    for t in np.linspace(0.0, 2 * math.pi + 0.25, 64):
        y = 0.5 - 0.45 * math.cos(t)
        amp = 0.26 if y < 0.5 else 0.33
        pts.append((0.5 + amp * math.sin(2 * t), y))
    return pts


_SEVEN = _line((0.1, 0.06), (0.9, 0.06), 12) + _bezier((0.9, 0.06), (0.7, 0.35), (0.5, 0.65), (0.4, 0.97))[1:]

# Each digit: a list of variants, each a list of strokes (polylines in the unit square, x right,
# y down), in the order and direction a person would draw them.
DIGIT_VARIANTS: dict[int, list[list[Stroke]]] = {
    0: [[_arc(0.5, 0.5, 0.34, 0.46, -80, -80 - 370, 40)]],
    1: [
        [_line((0.52, 0.03), (0.47, 0.97), 16)],
        # A short flag: a long one on a left-leaning stem reads as a 7.
        [_line((0.4, 0.16), (0.56, 0.03), 6) + _line((0.56, 0.03), (0.5, 0.97), 16)[1:]],
    ],
    2: [
        [
            _arc(0.5, 0.3, 0.32, 0.26, 195, 380, 24)
            + _bezier((0.8, 0.39), (0.62, 0.62), (0.35, 0.78), (0.12, 0.95), 16)[1:]
            + _line((0.12, 0.95), (0.9, 0.93), 10)[1:]
        ]
    ],
    3: [
        [
            _arc(0.48, 0.27, 0.29, 0.22, 205, 475, 26)
            + _arc(0.5, 0.71, 0.33, 0.24, -115, 160, 28)
        ]
    ],
    4: [
        [_line((0.62, 0.03), (0.1, 0.66), 14) + _line((0.1, 0.66), (0.92, 0.66), 12)[1:],
         _line((0.66, 0.3), (0.66, 0.97), 12)],
        [_line((0.2, 0.04), (0.14, 0.6), 10) + _line((0.14, 0.6), (0.88, 0.58), 12)[1:],
         _line((0.7, 0.06), (0.7, 0.97), 14)],
    ],
    5: [
        [_line((0.3, 0.06), (0.25, 0.46), 8) + _arc(0.48, 0.68, 0.33, 0.27, 235, 450 + 65, 30)[1:],
         _line((0.3, 0.06), (0.84, 0.05), 10)],
        [_line((0.84, 0.05), (0.3, 0.06), 10) + _line((0.3, 0.06), (0.25, 0.46), 8)[1:]
         + _arc(0.48, 0.68, 0.33, 0.27, 235, 450 + 65, 30)[1:]],
    ],
    6: [
        # The stem comes down steeply: a top that runs flat to the right reads as a 5's bar.
        [_bezier((0.6, 0.03), (0.38, 0.18), (0.2, 0.42), (0.2, 0.7), 18)
         + _arc(0.48, 0.71, 0.28, 0.25, 180, -150, 30)[1:]]
    ],
    7: [[_SEVEN], [_SEVEN, _line((0.38, 0.5), (0.82, 0.5), 8)]],  # plain, and crossed (European)
    8: [[_eight()]],
    9: [
        [_arc(0.46, 0.3, 0.3, 0.25, -5, -365, 34)
         + _bezier((0.76, 0.28), (0.76, 0.55), (0.72, 0.8), (0.68, 0.97), 14)[1:]]
    ],
}

POLARITIES = ("light_on_dark", "dark_on_light", "transparent")


@dataclass(frozen=True)
class Style:
    """How one digit is drawn. Lengths in pixels of a canvas of `canvas` x `canvas`."""

    canvas: int = 280
    box: float = 0.7  # longer side of the digit as a fraction of the canvas (0.25 small .. 0.85 large)
    offset: tuple[float, float] = (0.0, 0.0)  # centre shift (x, y), fraction of canvas; clamped inside
    width: float = 18.0  # stroke width in px (the Draw page's brush: 6 thin .. 30 thick)
    slant: float = 0.0  # shear x -= slant * y: positive leans right like italics
    rotation: float = 0.0  # degrees, positive clockwise on screen
    aspect: float = 1.0  # width factor of the digit's shape before fitting (narrow < 1 < wide)
    jitter: float = 0.0  # hand tremor: std of the per-point wobble in px
    polarity: str = "transparent"  # light_on_dark | dark_on_light | transparent (RGBA like the canvas)
    ink_rgb: tuple[int, int, int] = (255, 255, 255)  # stroke colour on the transparent canvas
    variant: int = 0  # which form of the digit (taken modulo the number of forms)


def random_style(rng: np.random.Generator, canvas: int = 280) -> Style:
    """A style from the ranges people actually produce on a 280x280 canvas."""
    box = float(rng.uniform(0.25, 0.85))
    room = (1.0 - box) / 2
    offset = (float(rng.uniform(-room, room)), float(rng.uniform(-room, room)))
    # Stroke width relative to the digit stays plausible: a 30 px brush on a 70 px digit is a blob.
    box_px = box * canvas
    width = float(rng.uniform(6.0, min(30.0, max(7.0, 0.14 * box_px))) * canvas / 280)
    slant = float(rng.uniform(-0.3, 0.3))
    # Slant and rotation add up; keep the total lean within what people write (about 25 degrees).
    lean = math.degrees(math.atan(slant))
    rotation = float(np.clip(rng.uniform(-15.0, 15.0), -25.0 - lean, 25.0 - lean))
    polarity = str(rng.choice(POLARITIES, p=[0.25, 0.25, 0.5]))
    ink = [(255, 255, 255), (0, 0, 0), (30, 60, 200)][int(rng.integers(3))]
    return Style(
        canvas=canvas, box=box, offset=offset, width=width, slant=slant, rotation=rotation,
        aspect=float(rng.uniform(0.8, 1.2)), jitter=float(rng.uniform(0.0, 2.0)),
        polarity=polarity, ink_rgb=ink, variant=int(rng.integers(0, 1000)),
    )


def digit_paths(digit: int, style: Style, rng: np.random.Generator | None = None) -> list[list[Point]]:
    """The strokes of `digit` in canvas pixels (x, y): what a browser test replays as mouse moves."""
    if digit not in DIGIT_VARIANTS:
        raise ValueError(f"digit must be 0..9, got {digit!r}")
    rng = rng if rng is not None else np.random.default_rng(0)
    forms = DIGIT_VARIANTS[digit]
    strokes = [np.asarray(s, dtype=np.float64) - 0.5 for s in forms[style.variant % len(forms)]]

    # Shape: aspect, then slant (shear about the centre), then rotation.
    a = math.radians(style.rotation)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shaped = []
    for s in strokes:
        s = s * [style.aspect, 1.0]
        s = np.stack([s[:, 0] - style.slant * s[:, 1], s[:, 1]], axis=1)
        shaped.append(s @ rot.T)
    pts = np.concatenate(shaped)
    lo, hi = pts.min(axis=0), pts.max(axis=0)

    # Fit: longer side = box * canvas, centred at the offset, kept inside the canvas with the brush.
    c = style.canvas
    scale = style.box * c / max(float((hi - lo).max()), 1e-6)
    half = (hi - lo) * scale / 2
    margin = style.width / 2 + 1
    centre = np.array([c / 2 + style.offset[0] * c, c / 2 + style.offset[1] * c])
    centre = np.clip(centre, half + margin, np.maximum(c - half - margin, half + margin))
    paths = []
    for s in shaped:
        p = (s - (lo + hi) / 2) * scale + centre
        if style.jitter > 0:
            # Tremor: independent noise smoothed along the stroke, so the line wobbles, not zigzags.
            noise = rng.normal(0.0, style.jitter * 1.7, size=p.shape)
            kernel = np.array([0.25, 0.5, 0.25])
            noise = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
            p = p + noise
        p = np.clip(p, margin, c - margin)
        paths.append([(round(float(x), 2), round(float(y), 2)) for x, y in p])
    return paths


def draw_paths(paths: list[list[Point]], style: Style) -> Image.Image:
    """Render canvas-pixel strokes with a round brush, anti-aliased (drawn at 2x, then halved)."""
    c, w = style.canvas, style.width
    big = Image.new("L", (2 * c, 2 * c), 0)
    draw = ImageDraw.Draw(big)
    r = w  # radius at 2x
    for path in paths:
        pts = [(2 * x, 2 * y) for x, y in path]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=max(1, round(2 * w)), joint="curve")
        for x, y in pts:  # round caps and joints, like a canvas brush
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    alpha = big.reduce(2)
    if style.polarity == "light_on_dark":
        return Image.merge("RGB", [alpha] * 3)
    if style.polarity == "dark_on_light":
        return Image.merge("RGB", [alpha.point(lambda v: 255 - v)] * 3)
    if style.polarity == "transparent":
        # Like the browser canvas: transparent pixels are (0, 0, 0, 0); stroke pixels carry the brush
        # colour, their coverage in alpha.
        mask = alpha.point(lambda v: 255 if v else 0)
        rgb = [Image.new("L", (c, c), 0) for _ in range(3)]
        for band, value in zip(rgb, style.ink_rgb):
            band.paste(value, mask=mask)
        return Image.merge("RGBA", [*rgb, alpha])
    raise ValueError(f"unknown polarity {style.polarity!r}; expected one of {POLARITIES}")


def render(digit: int, style: Style, rng: np.random.Generator | None = None) -> Image.Image:
    """One drawn digit: RGB for the opaque polarities, RGBA (canvas-like) for 'transparent'."""
    return draw_paths(digit_paths(digit, style, rng), style)


def drawn_digit_set(n_per_digit: int = 50, seed: int = 0) -> list[tuple[Image.Image, int, Style]]:
    """A fixed benchmark set: n_per_digit random styles of each digit, the same for the same seed."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_per_digit):
        for digit in range(10):
            style = random_style(rng)
            out.append((render(digit, style, rng), digit, style))
    return out
