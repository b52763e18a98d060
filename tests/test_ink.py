"""The ink map on uploads as people bring them: tight crops in both polarities, photos (uneven light, ruled
paper, JPEG), blocky low-resolution enlargements; contrast is never "empty", a flat image always is."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from netlib.analysis.ink import block_size, read_ink
from netlib.analysis.photos import upload_digits
from netlib.analysis.preprocess import BLANK_HINT, NO_CONTRAST_HINT, prepare
from netlib.checkpoint import load_checkpoint
from netlib.data import load_mnist
from netlib.lab.catalogue import PROJECT_ROOT


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist(False)
    return images.numpy(), labels.numpy()


@pytest.fixture(scope="module")
def residual():
    return load_checkpoint(PROJECT_ROOT / "checkpoints" / "residual.pt")[0]


def read(model, image) -> int | None:
    p = prepare(image)
    if p.blank:
        return None
    with torch.no_grad():
        return int(model(p.tensor).argmax())


@pytest.mark.parametrize("category,n,at_least", [("tight", 24, 23), ("photo", 12, 11), ("lowres", 12, 10),
                                                 ("strokes", 12, 11)])
def test_uploads_of_each_kind_are_read(mnist, residual, category, n, at_least):
    uploads = list(upload_digits(category, *mnist, n, seed=11))
    answers = [read(residual, u.image) for u in uploads]
    assert None not in answers, [u.variant for u, a in zip(uploads, answers) if a is None]  # never "empty"
    assert sum(a == u.label for u, a in zip(uploads, answers)) >= at_least, (answers, [u.label for u in uploads])


def _seven(size=(260, 300), paper=(235, 232, 225), ink=(20, 30, 120), width=9) -> Image.Image:
    img = Image.new("RGB", size, paper)
    ImageDraw.Draw(img).line([(80, 70), (190, 70), (120, 240)], fill=ink, width=width)
    return img


def _photo(img: Image.Image, light=True, lines=True, quality=30, seed=0) -> Image.Image:
    """Uneven light (dark on the left), ruled lines, sensor noise and JPEG, over a drawn 7."""
    a = np.asarray(img, np.float32)
    h, w = a.shape[:2]
    if lines:
        for y in range(20, h, 28):
            a[y:y + 2] = np.minimum(a[y:y + 2], (170, 190, 225))
    if light:
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        a *= (0.55 + 0.45 * xx + 0.1 * yy)[..., None]
    a += np.random.default_rng(seed).normal(0, 6, a.shape)
    buf = io.BytesIO()
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.mark.parametrize("light,lines", [(False, False), (True, False), (False, True), (True, True)])
def test_a_photo_finds_the_digit_not_the_light_or_the_lines(light, lines):
    clean = prepare(_seven())
    p = prepare(_photo(_seven(), light, lines))
    assert not p.blank and p.dark_ink
    # a ruled line keeps at most a stub of about one stroke width (9 px) beside the digit: never the page's width
    assert all(abs(a - b) <= 12 for a, b in zip(p.bbox, clean.bbox)), (p.bbox, clean.bbox)
    assert np.abs(p.preview.astype(int) - clean.preview.astype(int)).mean() < 12


def test_a_tight_crop_is_read_in_both_polarities(mnist, residual):
    digit = mnist[0][0]  # a 7, white on black
    rows, cols = np.flatnonzero(digit.max(1) > 64), np.flatnonzero(digit.max(0) > 64)
    crop = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    big = np.asarray(Image.fromarray(crop).resize((crop.shape[1] * 6, crop.shape[0] * 6), Image.Resampling.BILINEAR))
    for image, dark in ((big, False), (255 - big, True)):
        assert read_ink(image)[1] is dark
        assert read(residual, image) == 7


def test_only_an_image_without_contrast_is_empty():
    h, w = 120, 160
    yy, xx = np.mgrid[0:h, 0:w]
    flat, gradient = np.full((h, w), 200, np.uint8), (120 + xx * 0.7 + yy * 0.2).astype(np.uint8)
    for image in (flat, gradient, np.stack([gradient] * 3, axis=2)):
        p = prepare(image)
        assert p.blank and p.hint == NO_CONTRAST_HINT
    assert prepare(np.zeros((50, 50, 4), np.uint8)).hint == BLANK_HINT  # the canvas keeps its own words
    faint = flat.copy()
    faint[30:90, 70:80] = 170  # a faint pencil stroke: 12% darker than the paper
    assert not prepare(faint).blank and not read_ink(faint)[0][:20].any()


def test_the_person_can_overrule_polarity_and_crop():
    img = _seven(paper=(250, 250, 250), ink=(10, 10, 10))
    auto = prepare(img)
    assert prepare(img, dark_ink=True).preview.tolist() == auto.preview.tolist()
    assert prepare(img, dark_ink=False).preview.tolist() != auto.preview.tolist()
    inside = prepare(img, box=(60, 50, 210, 260))
    assert inside.bbox == auto.bbox and inside.preview.tolist() == auto.preview.tolist()
    assert prepare(img, box=(215, 0, 260, 40)).blank  # a corner without ink
    assert auto.found is not None and auto.found.max() == 255 and max(auto.found.shape) <= 280


def test_blocks_are_found_only_in_an_enlarged_small_image():
    small = np.zeros((12, 12), np.float32)
    small[2:10, 3] = small[2, 3:9] = small[5, 4:8] = 1.0  # a blocky F
    small[6:9, 6:9] = 0.5
    for factor in (5, 7):
        assert block_size(np.kron(small, np.ones((factor, factor), np.float32))) == factor
    assert block_size(np.asarray(Image.fromarray(small).resize((84, 84), Image.Resampling.BILINEAR))) == 1
    drawn = Image.new("F", (200, 200), 0.0)
    ImageDraw.Draw(drawn).line([(40, 30), (170, 40), (90, 180)], fill=1.0, width=14)  # aliased, no blocks
    assert block_size(np.asarray(drawn)) == 1


def test_blocks_are_found_in_a_narrow_digit_at_any_enlargement():
    """A "1" one or two blocks wide has too few edges across to tell its grid: the edges down decide."""
    fine = Image.new("F", (48, 80), 0.0)
    ImageDraw.Draw(fine).line([(26, 6), (22, 74)], fill=1.0, width=6)  # a steep stroke ...
    small = np.asarray(fine.reduce(8))  # ... stored at 6 x 10 px: grey where it crosses a pixel's edge
    for factor in (4, 9, 13):
        assert block_size(np.kron(small, np.ones((factor, factor), np.float32))) == factor
    for side in (97, 151):  # non-integer enlargements: blocks of two sizes, one pixel apart
        big = np.asarray(Image.fromarray(small).resize((round(side * 0.6), side), Image.Resampling.NEAREST))
        assert abs(block_size(big) - side / 10) < 1
    thin = Image.new("F", (60, 200), 0.0)
    ImageDraw.Draw(thin).line([(30, 20), (26, 180)], fill=1.0, width=9)  # a drawn 1: no blocks
    assert block_size(np.asarray(thin)) == 1
