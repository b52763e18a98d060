"""The stroke renderer: fixed shapes, deterministic styles, paths inside the canvas, MNIST-ready output."""

from __future__ import annotations

import numpy as np
import pytest

from netlib.analysis.preprocess import prepare
from netlib.analysis.strokes import DIGIT_VARIANTS, Style, digit_paths, drawn_digit_set, random_style, render


def test_every_digit_has_unit_square_strokes():
    assert sorted(DIGIT_VARIANTS) == list(range(10))
    for digit, variants in DIGIT_VARIANTS.items():
        for strokes in variants:
            for stroke in strokes:
                assert len(stroke) >= 2
                xy = np.asarray(stroke)
                assert xy.min() >= 0.0 and xy.max() <= 1.0, digit


def test_same_seed_same_set():
    a, b = drawn_digit_set(3, seed=7), drawn_digit_set(3, seed=7)
    assert [s for _, _, s in a] == [s for _, _, s in b]
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for (x, _, _), (y, _, _) in zip(a, b))
    c = drawn_digit_set(3, seed=8)
    assert [s for _, _, s in a] != [s for _, _, s in c]
    assert [d for _, d, _ in a] == list(range(10)) * 3


def test_paths_deterministic_and_inside_canvas():
    rng = np.random.default_rng(1)
    for _ in range(20):
        style = random_style(rng)
        for digit in range(10):
            p1 = digit_paths(digit, style, np.random.default_rng(5))
            p2 = digit_paths(digit, style, np.random.default_rng(5))
            assert p1 == p2
            xy = np.concatenate([np.asarray(s) for s in p1])
            assert xy.min() >= style.width / 2 and xy.max() <= style.canvas - style.width / 2


def test_digit_fills_its_box():
    style = Style(box=0.5, width=10)
    xy = np.concatenate([np.asarray(s) for s in digit_paths(8, style)])
    extent = xy.max(axis=0) - xy.min(axis=0)
    assert max(extent) == pytest.approx(140, abs=1)


@pytest.mark.parametrize("polarity", ["light_on_dark", "dark_on_light", "transparent"])
def test_every_digit_renders_non_blank(polarity):
    for digit in range(10):
        img = render(digit, Style(polarity=polarity, ink_rgb=(0, 0, 0)), np.random.default_rng(0))
        assert img.size == (280, 280)
        assert img.mode == ("RGBA" if polarity == "transparent" else "RGB")
        a = np.asarray(img)
        if polarity == "transparent":
            assert a[..., 3].max() == 255 and a[0, 0].tolist() == [0, 0, 0, 0]
        else:
            assert a.min() == 0 and a.max() == 255
        assert not prepare(img).blank


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        digit_paths(10, Style())
    with pytest.raises(ValueError):
        render(3, Style(polarity="sideways"))


def test_prepared_drawn_digits_are_centred():
    for img, digit, _ in drawn_digit_set(4, seed=3):
        p = prepare(img)
        assert not p.blank, digit
        a = p.preview.astype(np.float64)
        rows, cols = np.indices(a.shape)
        cy, cx = (rows * a).sum() / a.sum(), (cols * a).sum() / a.sum()
        assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1, digit
        on = np.flatnonzero(a.max(axis=1) > 30), np.flatnonzero(a.max(axis=0) > 30)
        assert max(on[0][-1] - on[0][0], on[1][-1] - on[1][0]) + 1 in (19, 20, 21), digit
