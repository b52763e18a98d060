"""Property-based tests (hypothesis): random arrays and random bytes through preprocessing and predict.

Whatever comes in, the answer is one of: an ImageError with a message, a blank result (no tensor, the
"draw a digit" hint), or a 1x1x28x28 finite tensor whose 10 probabilities sum to 1. Never a crash.
"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from netlib.models import build_model
from netlib.analysis.predict import predict_image, probabilities
from netlib.analysis.images import ImageError, load_image
from netlib.analysis.preprocess import BLANK_HINT, NO_CONTRAST_HINT, prepare

# A few seconds per test by default; NETLIB_FUZZ_EXAMPLES=2000 for a longer hunt.
SETTINGS = settings(deadline=None, max_examples=int(os.environ.get("NETLIB_FUZZ_EXAMPLES", "60")),
                    suppress_health_check=[HealthCheck.too_slow])

torch.manual_seed(0)
MODELS = {name: build_model(name).eval() for name in ("residual", "inception")}  # random weights


def check_prepared(p) -> None:
    """The contract every caller (Draw page, CLI, Inspect) relies on."""
    assert p.preview.shape == (28, 28) and p.preview.dtype == np.uint8
    if p.blank:
        assert p.tensor is None and p.hint in (BLANK_HINT, NO_CONTRAST_HINT) and not p.preview.any()
        return
    assert p.tensor.shape == (1, 1, 28, 28) and p.tensor.dtype == torch.float32
    assert torch.isfinite(p.tensor).all()
    for model in MODELS.values():
        probs = probabilities(model, p.tensor)
        assert probs.shape == (1, 10) and torch.isfinite(probs).all()
        assert (probs >= 0).all() and abs(float(probs.sum()) - 1.0) < 1e-5


def check_result(result: dict) -> None:
    assert len(result["probs"]) == 10
    if result["blank"]:
        assert result["digit"] is None and result["hint"]
        return
    assert abs(sum(result["probs"]) - 1.0) < 1e-4
    if result["not_a_digit"]:  # "invalid": probabilities given, no digit claimed, a reason
        assert result["digit"] is None and result["hint"]
    else:
        assert 0 <= result["digit"] <= 9
        assert result["probs"][result["digit"]] == max(result["probs"])


def prepared_or_refused(image):
    try:
        return prepare(image)
    except ImageError as e:
        assert str(e).strip(), "an ImageError must say why"
        return None


# ---------------------------------------------------------------- random arrays
DTYPES = st.sampled_from([np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64, np.bool_])
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=64),
    st.tuples(st.integers(0, 64), st.integers(0, 64), st.integers(0, 6)),
    hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=8))


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(SHAPES)
    if dtype.kind == "f":
        # allow_subnormal=False: training in this process may have set flush-to-zero (fit() does)
        elements = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False,
                             width=dtype.itemsize * 8)
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@SETTINGS
@given(arrays())
def test_any_array_gives_a_digit_a_blank_or_a_clear_refusal(a):
    p = prepared_or_refused(a)
    if p is not None:
        check_prepared(p)


@SETTINGS
@given(st.integers(1, 64), st.integers(1, 64), st.integers(0, 255), st.integers(0, 255),
       st.sampled_from([1, 2, 3, 4]), st.randoms(use_true_random=False))
def test_canvas_like_arrays_with_some_ink(h, w, paper, ink, channels, rnd):
    """Paper of one shade with random strokes of another, any polarity and alpha."""
    a = np.full((h, w, channels), paper, np.uint8)
    for _ in range(rnd.randint(0, 5)):
        y, x = rnd.randrange(h), rnd.randrange(w)
        a[y:y + rnd.randint(1, 12), x:x + rnd.randint(1, 12)] = ink
    p = prepared_or_refused(a[:, :, 0] if channels == 1 else a)
    assert p is not None  # a well-formed uint8 image is never refused
    check_prepared(p)


# ---------------------------------------------------------------- random bytes and damaged files
@st.composite
def encoded_images(draw):
    """A small image of a random mode encoded in a random format (valid bytes, before any damage)."""
    fmt, mode = draw(st.sampled_from([("PNG", "L"), ("PNG", "LA"), ("PNG", "RGBA"), ("PNG", "I;16"),
                                      ("PNG", "P"), ("PNG", "1"), ("GIF", "P"), ("BMP", "RGB"),
                                      ("JPEG", "L"), ("JPEG", "CMYK"), ("WEBP", "RGBA"), ("TIFF", "F")]))
    h, w = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    seed = draw(st.integers(0, 2**16))
    raw = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    img = Image.fromarray(raw, "RGBA")
    if mode == "I;16":
        img = Image.fromarray(raw[:, :, 0].astype(np.uint16) * 257)
    elif mode == "F":
        img = Image.fromarray(raw[:, :, 0].astype(np.float32) / 255.0, "F")
    else:
        img = img.convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, KeyError, ValueError):
        assume(False)  # this Pillow build cannot write that combination
    return buf.getvalue()


@st.composite
def damaged(draw, data):
    """Cut, flip a few bytes, or splice: what a broken upload looks like."""
    b = bytearray(draw(data))
    how = draw(st.sampled_from(["as is", "cut", "flip", "splice"]))
    if how == "cut":
        b = b[: draw(st.integers(0, len(b)))]
    elif how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(b) - 1))
            b[i] = draw(st.integers(0, 255))
    elif how == "splice":
        i = draw(st.integers(0, len(b)))
        b[i:i] = draw(st.binary(max_size=64))
    return bytes(b)


MAGIC = st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"BM", b"\xff\xd8\xff", b"RIFF\0\0\0\0WEBP",
                         b"II*\0", b"P5\n"])


def through_the_whole_path(data: bytes) -> None:
    try:
        img = load_image(data)
    except ImageError as e:
        assert str(e).strip()
        return
    assert img.mode in ("L", "LA", "RGB", "RGBA")
    p = prepared_or_refused(img)
    if p is not None:
        check_prepared(p)
    try:
        check_result(predict_image(MODELS["residual"], img))
    except ImageError:
        pass


@SETTINGS
@given(st.builds(lambda magic, rest: magic + rest, MAGIC, st.binary(max_size=2048)))
def test_random_bytes_are_refused_or_read(data):
    through_the_whole_path(data)


@SETTINGS
@given(damaged(encoded_images()))
def test_real_images_and_damaged_ones_are_refused_or_read(data):
    through_the_whole_path(data)


@pytest.mark.parametrize("name", list(MODELS))
def test_probabilities_of_a_batch_sum_to_one(name):
    x = torch.randn(5, 1, 28, 28) * 3
    probs = probabilities(MODELS[name], x)
    assert probs.shape == (5, 10) and torch.allclose(probs.sum(1), torch.ones(5), atol=1e-5)
