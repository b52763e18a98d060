"""Synthetic writers: digits in one person's consistent style, drawn with the project's stroke renderer.

The shipped example set (EXAMPLE_SET) is the "continental" writer: 1s with a long flag, slashed 0s, 6s
with a wide top, 8s with a small top loop, crossed 7s, open 4s, 9s with a straight stem, a heavy right
slant, a broad pen. It stands
in for a person's own digits in the lesson and is marked synthetic wherever it is shown. The shipped
networks misread its 1s, 8s and some of its 0s and 6s (measured: docs/benchmarks.md, "Fine-tuning on your handwriting"). Two more writers ("narrow", "round") are not shipped: the
fine-tuning benchmark (scripts/bench_finetune.py) uses them to check the method is not tuned to one style.
Each example is rendered on a 280 px transparent canvas (as the Draw page's) and read through the Draw
page's preprocessing, so it is what the network would see had the person drawn it.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..analysis.strokes import Style, draw_paths
from .base import EXAMPLE_SET, HandwritingSet
from .split import split_in_order

Stroke = list[tuple[float, float]]
EXAMPLE_WRITER = "continental"
WRITERS = ("continental", "narrow", "round")
PER_DIGIT = 6  # examples of each digit in the shipped set (one held out per digit)


def arc(cx, cy, rx, ry, deg0, deg1, n=28) -> Stroke:
    """An ellipse arc in the unit square (y down: 90 degrees is the bottom)."""
    t = np.radians(np.linspace(deg0, deg1, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in t]


def line(p0, p1, n=10) -> Stroke:
    return [(p0[0] + (p1[0] - p0[0]) * t, p0[1] + (p1[1] - p0[1]) * t) for t in np.linspace(0, 1, n)]


def curve(p0, p1, p2, n=16) -> Stroke:
    """A quadratic Bezier from p0 to p2 pulled towards p1."""
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1]) for t in np.linspace(0, 1, n)]


def _continental() -> dict[int, list[Stroke]]:
    return {
        0: [arc(0.5, 0.5, 0.3, 0.47, -100, 265, 36), line((0.85, 0.05), (0.15, 0.95))],  # slashed
        1: [line((0.1, 0.42), (0.62, 0.02)) + line((0.62, 0.02), (0.55, 0.98), 14)],  # a long flag
        2: [arc(0.48, 0.3, 0.3, 0.26, 200, 360, 18) + curve((0.78, 0.3), (0.7, 0.7), (0.15, 0.95))
            + arc(0.24, 0.87, 0.1, 0.08, 120, -180, 14) + line((0.22, 0.95), (0.92, 0.9))],  # a loop at the foot
        3: [line((0.12, 0.04), (0.84, 0.04)) + line((0.84, 0.04), (0.42, 0.42))
            + arc(0.48, 0.68, 0.34, 0.27, -95, 150, 26)],  # a flat-topped 3
        4: [line((0.45, 0.02), (0.08, 0.62)) + line((0.08, 0.62), (0.9, 0.62)),
            line((0.72, 0.32), (0.66, 0.98), 12)],  # open: the stem does not reach the top
        5: [line((0.82, 0.04), (0.3, 0.04)) + line((0.3, 0.04), (0.22, 0.42))
            + arc(0.5, 0.68, 0.32, 0.27, 220, 470, 26)],
        6: [curve((0.8, 0.05), (0.1, 0.1), (0.15, 0.7), 18) + arc(0.5, 0.65, 0.35, 0.3, 180, -180, 28)],  # a wide top
        7: [line((0.06, 0.2), (0.18, 0.05), 4) + line((0.18, 0.05), (0.92, 0.05)) + line((0.92, 0.05), (0.36, 0.98), 14),
            line((0.3, 0.52), (0.86, 0.52))],  # crossed, with a hook at the start
        8: [arc(0.5, 0.16, 0.12, 0.14, 90, 450, 20), arc(0.5, 0.64, 0.38, 0.34, -90, 270, 30)],  # a small top loop
        9: [arc(0.5, 0.24, 0.28, 0.21, 0, -360, 28) + line((0.78, 0.24), (0.78, 0.98), 14)],  # straight stem
    }


def _narrow() -> dict[int, list[Stroke]]:
    return {
        0: [arc(0.5, 0.5, 0.2, 0.48, -90, 280, 36)],
        1: [line((-0.25, 0.5), (0.6, 0.02)) + line((0.6, 0.02), (0.55, 0.98), 14)],  # a long flag
        2: [arc(0.5, 0.22, 0.24, 0.2, 190, 380, 18) + line((0.73, 0.28), (0.25, 0.96), 14) + line((0.25, 0.96), (0.8, 0.96))],
        3: [arc(0.5, 0.24, 0.22, 0.21, 200, 450, 22) + arc(0.5, 0.7, 0.26, 0.27, -90, 160, 24)],
        4: [line((0.6, 0.02), (0.22, 0.7)) + line((0.22, 0.7), (0.82, 0.7)), line((0.6, 0.02), (0.6, 0.98), 14)],
        5: [line((0.75, 0.03), (0.35, 0.03)) + line((0.35, 0.03), (0.3, 0.45)) + arc(0.5, 0.7, 0.24, 0.26, 230, 460, 24)],
        6: [curve((0.8, 0.05), (0.1, 0.1), (0.15, 0.7), 18) + arc(0.5, 0.68, 0.35, 0.27, 180, -100, 24)],  # open
        7: [line((0.22, 0.04), (0.8, 0.04)) + curve((0.8, 0.04), (0.5, 0.4), (0.52, 0.98), 16)],  # curved stem
        8: [arc(0.5, 0.26, 0.18, 0.24, 90, 450, 26), arc(0.5, 0.74, 0.22, 0.24, -90, 270, 26)],
        9: [arc(0.5, 0.26, 0.22, 0.22, 0, -360, 26) + curve((0.72, 0.26), (0.72, 0.7), (0.4, 0.98), 14)],
    }


def _round() -> dict[int, list[Stroke]]:
    return {
        0: [arc(0.5, 0.5, 0.45, 0.42, 0, 360, 40), line((0.2, 0.85), (0.8, 0.15))],  # slashed zero
        1: [line((0.1, 0.4), (0.55, 0.05)) + line((0.55, 0.05), (0.5, 0.95), 12)],  # a long flag
        2: [arc(0.5, 0.32, 0.36, 0.28, 180, 400, 20) + curve((0.82, 0.45), (0.3, 0.6), (0.08, 0.92))
            + line((0.08, 0.92), (0.95, 0.92))],
        3: [arc(0.5, 0.28, 0.34, 0.24, 190, 450, 24) + arc(0.5, 0.72, 0.4, 0.26, -90, 170, 26)],
        4: [line((0.1, 0.05), (0.1, 0.55)) + line((0.1, 0.55), (0.95, 0.55)), line((0.75, 0.08), (0.75, 0.95), 12)],
        5: [line((0.9, 0.05), (0.2, 0.05)) + line((0.2, 0.05), (0.15, 0.45)) + arc(0.5, 0.66, 0.4, 0.3, 220, 490, 28)],
        6: [arc(0.62, 0.55, 0.5, 0.5, -80, -170, 14) + arc(0.5, 0.7, 0.36, 0.27, 180, -180, 28)],
        7: [line((0.05, 0.05), (0.95, 0.05)) + line((0.95, 0.05), (0.55, 0.95), 12)],
        8: [arc(0.5, 0.26, 0.3, 0.22, 90, 450, 26), arc(0.5, 0.72, 0.4, 0.25, -90, 270, 28)],
        9: [arc(0.45, 0.32, 0.38, 0.28, 10, -350, 30) + line((0.83, 0.37), (0.8, 0.95), 12)],
    }


FORMS = {"continental": _continental, "narrow": _narrow, "round": _round}
# Each writer's hand: slant (shear), box (digit size on the canvas), brush width (px on 280), aspect.
HANDS = {"continental": (0.5, 0.62, 22.0, 0.9), "narrow": (-0.4, 0.72, 16.0, 0.75),
         "round": (0.0, 0.5, 24.0, 1.25)}


def _fit(strokes: list[Stroke], style: Style, rng: np.random.Generator) -> list[Stroke]:
    """Unit-square strokes -> canvas pixels: aspect, slant, rotation, then the longer side at style.box."""
    a = math.radians(style.rotation)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shaped = []
    for s in strokes:
        p = (np.asarray(s, dtype=np.float64) - 0.5) * [style.aspect, 1.0]
        p = np.stack([p[:, 0] - style.slant * p[:, 1], p[:, 1]], axis=1) @ rot.T
        shaped.append(p)
    pts = np.concatenate(shaped)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    c = style.canvas
    scale = style.box * c / max(float((hi - lo).max()), 1e-6)
    centre = np.array([c / 2 + style.offset[0] * c, c / 2 + style.offset[1] * c])
    out = []
    for p in shaped:
        p = (p - (lo + hi) / 2) * scale + centre
        p = p + rng.normal(0.0, style.jitter, size=p.shape).cumsum(axis=0) * 0.15  # a slow wobble
        out.append([(float(x), float(y)) for x, y in np.clip(p, 2, c - 2)])
    return out


def writer_image(writer: str, digit: int, rng: np.random.Generator):
    """One digit by `writer`, as drawn on the Draw page's canvas (RGBA), with this example's jitter."""
    slant, box, width, aspect = HANDS[writer]
    style = Style(box=float(box * rng.uniform(0.85, 1.15)), width=float(width * rng.uniform(0.8, 1.2)),
                  slant=float(slant + rng.normal(0, 0.06)), rotation=float(rng.normal(0, 4)),
                  aspect=float(aspect * rng.uniform(0.9, 1.1)), jitter=float(rng.uniform(0.5, 2.0)),
                  offset=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08))))
    return draw_paths(_fit(FORMS[writer]()[digit], style, rng), style)


def writer_digits(writer: str, per_digit: int = PER_DIGIT, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(images N x 28 x 28 uint8 as the Draw page's preprocessing makes them, labels), digit by digit in
    turns (0-9, 0-9, ...), the same for the same writer and seed."""
    from ..analysis.preprocess import prepare  # torch
    if writer not in FORMS:
        raise ValueError(f"unknown writer {writer!r}; expected one of {', '.join(WRITERS)}")
    rng = np.random.default_rng([seed, WRITERS.index(writer)])
    images, labels = [], []
    for _ in range(per_digit):
        for digit in range(10):
            images.append(prepare(writer_image(writer, digit, rng)).preview)
            labels.append(digit)
    return np.stack(images), np.array(labels, dtype=np.int64)


def writer_set(writer: str, name: str, per_digit: int = PER_DIGIT, seed: int = 0):
    """A HandwritingSet of `writer`'s digits, split as if added one by one in turns."""
    images, labels = writer_digits(writer, per_digit, seed)
    return HandwritingSet(name, images, labels, np.array(split_in_order(labels.tolist()), dtype=bool),
                          synthetic=True)


@functools.lru_cache(maxsize=1)
def _example():
    return writer_set(EXAMPLE_WRITER, EXAMPLE_SET)


def example_set():
    """The shipped example set (synthetic: the "continental" writer, PER_DIGIT of each digit), drawn once
    per process; a fresh copy each call so a caller cannot change the cached one."""
    s = _example()
    return HandwritingSet(s.name, s.images.copy(), s.labels.copy(), s.held_out.copy(), synthetic=True)


def example_counts() -> tuple[list[int], int]:
    """(examples per digit, held out) of the shipped example set, without drawing it (light listings)."""
    labels = [d for _ in range(PER_DIGIT) for d in range(10)]
    return [PER_DIGIT] * 10, sum(split_in_order(labels))
