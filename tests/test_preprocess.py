"""Preprocessing cases of docs/design.md ("Drawn digits"): blank, centring, scaling, polarity, alpha, axes, bad files."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from netlib.analysis import images
from netlib.analysis.images import ImageError, load_image
from netlib.analysis.ink import read_ink
from netlib.analysis.preprocess import prepare
from netlib.data import MEAN, STD


def _centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    a = a.astype(np.float64)
    rows, cols = np.indices(a.shape)
    return float((rows * a).sum() / a.sum()), float((cols * a).sum() / a.sum())


def _bbox(a: np.ndarray, thr: int = 30) -> tuple[int, int]:
    """(height, width) of the pixels above thr."""
    rows, cols = np.flatnonzero((a > thr).any(axis=1)), np.flatnonzero((a > thr).any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _canvas_rgba(draw_fn, size: int = 280) -> np.ndarray:
    """A canvas-like RGBA array: transparent (0,0,0,0) background, white strokes, ink in alpha."""
    alpha = Image.new("L", (size, size), 0)
    draw_fn(ImageDraw.Draw(alpha))
    a = np.asarray(alpha)
    rgba = np.zeros((size, size, 4), np.uint8)
    rgba[..., :3] = np.where(a[..., None] > 0, 255, 0)
    rgba[..., 3] = a
    return rgba


def _seven(d: ImageDraw.ImageDraw, x0: int = 0, y0: int = 0, s: float = 1.0, w: int = 16) -> None:
    """A 7 (bar + diagonal) of size ~150x190 px times s, drawn at (x0, y0)."""
    pts = [(60, 50), (210, 50), (120, 240)]
    d.line([(x0 + x * s, y0 + y * s) for x, y in pts], fill=255, width=w)


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", **kw)
    return buf.getvalue()


def test_blank_transparent_canvas_gives_no_tensor():
    p = prepare(np.zeros((280, 280, 4), np.uint8))
    assert p.blank and p.tensor is None
    assert p.preview.shape == (28, 28) and p.preview.dtype == np.uint8 and not p.preview.any()
    assert "draw" in p.hint.lower()


def test_blank_white_paper_and_black_canvas():
    assert prepare(np.full((100, 120), 255, np.uint8)).blank
    assert prepare(np.zeros((100, 120, 3), np.uint8)).blank


def test_tiny_dot_is_blank():
    rgba = _canvas_rgba(lambda d: d.ellipse((140, 140, 142, 142), fill=255))
    p = prepare(rgba)
    assert p.blank and p.tensor is None


def test_off_centre_small_digit_is_centred_and_20px():
    # A small 7 in the top-left corner of the canvas.
    rgba = _canvas_rgba(lambda d: _seven(d, -40, -40, 0.35, 6))
    p = prepare(rgba)
    assert not p.blank and p.tensor.shape == (1, 1, 28, 28)
    cy, cx = _centre_of_mass(p.preview)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert max(_bbox(p.preview)) in (19, 20, 21)
    left, top, right, bottom = p.bbox
    assert right < 100 and bottom < 100  # found where it was drawn


def test_tiny_digit_is_scaled_up():
    rgba = _canvas_rgba(lambda d: d.line([(150, 150), (150, 162)], fill=255, width=3))
    p = prepare(rgba)
    assert not p.blank
    h, w = _bbox(p.preview)
    assert h >= 19 and w <= 8  # a short vertical bar becomes a tall thin 1


def test_dark_on_light_matches_light_on_dark():
    light = Image.new("L", (280, 280), 0)
    _seven(ImageDraw.Draw(light))
    dark = Image.fromarray(255 - np.asarray(light)).convert("RGB")
    a, b = prepare(light), prepare(dark)
    assert np.abs(a.preview.astype(int) - b.preview.astype(int)).max() <= 2


def test_transparent_rgba_reads_alpha_even_with_black_ink():
    # The canvas's RGB is all zero with black ink: luminance alone would see nothing.
    rgba = _canvas_rgba(_seven)
    black = rgba.copy()
    black[..., :3] = 0
    ref = prepare(Image.fromarray(np.asarray(rgba)[..., 3]))
    for arr in (rgba, black):
        p = prepare(arr)
        assert not p.blank
        assert np.abs(p.preview.astype(int) - ref.preview.astype(int)).max() <= 2
    assert np.allclose(read_ink(black)[0], black[..., 3] / 255.0)


def test_rows_and_columns_not_swapped():
    # A horizontal bar stays horizontal; a vertical one stays vertical.
    horiz = _canvas_rgba(lambda d: d.line([(40, 200), (240, 200)], fill=255, width=20))
    vert = _canvas_rgba(lambda d: d.line([(60, 30), (60, 250)], fill=255, width=20))
    h1, w1 = _bbox(prepare(horiz).preview)
    h2, w2 = _bbox(prepare(vert).preview)
    assert w1 >= 19 and h1 <= 5
    assert h2 >= 19 and w2 <= 5


def test_tensor_is_normalised_preview():
    p = prepare(_canvas_rgba(_seven))
    expected = (p.preview.astype(np.float32) / 255.0 - MEAN) / STD
    assert p.tensor.dtype.is_floating_point and tuple(p.tensor.shape) == (1, 1, 28, 28)
    assert np.allclose(p.tensor.numpy()[0, 0], expected, atol=1e-6)
    assert p.preview.max() == 255  # strokes saturate like MNIST's
    assert 0 < p.ink_fraction < 0.2


def _stroke_px(preview: np.ndarray) -> float:
    """Stroke width of a 28x28 preview: 2 * area / perimeter of its pixels above half intensity."""
    m = (preview > 127).astype(int)
    return 2 * m.sum() / (np.abs(np.diff(m, axis=0)).sum() + np.abs(np.diff(m, axis=1)).sum())


def test_thin_brush_on_big_digit_is_thickened():
    # A 4 px line across 240 px would be a 0.3 px hairline in the 20 px box.
    thin = prepare(_canvas_rgba(lambda d: _seven(d, w=4)))
    thick = prepare(_canvas_rgba(lambda d: _seven(d, w=24)))
    assert _stroke_px(thin.preview) >= 1.3  # MNIST's 5th percentile by this measure
    assert _stroke_px(thick.preview) > _stroke_px(thin.preview)  # thick strokes are left alone


def test_prepare_is_idempotent_on_its_own_output():
    p = prepare(_canvas_rgba(lambda d: _seven(d, 30, 20, 0.6, 14)))
    q = prepare(p.preview)
    assert np.abs(q.preview.astype(int) - p.preview.astype(int)).mean() < 3


def test_ink_map_accepts_arrays_of_all_shapes():
    g = np.zeros((30, 40), np.uint8)
    g[10:20, 5:35] = 255
    for arr in (g, g[..., None], np.stack([g] * 3, -1), g.astype(np.float32) / 255, g.astype(np.float64)):
        ink = read_ink(arr)[0]
        assert ink.shape == (30, 40) and ink.dtype == np.float32
        assert ink[15, 20] == pytest.approx(1.0) and ink[0, 0] == pytest.approx(0.0)
    with pytest.raises(ImageError):
        read_ink(np.zeros((4, 4, 5)))


def test_non_image_and_empty_bytes_are_refused():
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"hello, this is text")
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="damaged"):
        load_image(_png(Image.new("L", (64, 64), 7))[:60])  # cut off mid-way
    with pytest.raises(ImageError, match="Cannot read"):
        load_image("/nonexistent/digit.png")


def test_too_many_bytes_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_BYTES", 100)
    path = tmp_path / "big.png"
    path.write_bytes(_png(Image.new("L", (64, 64), 7)) + b"\0" * 200)
    with pytest.raises(ImageError, match="too big"):
        load_image(path)


def test_pixel_limit_checked_before_decoding(monkeypatch):
    monkeypatch.setattr(images, "MAX_PIXELS", 1000 * 1000)
    data = _png(Image.new("L", (1500, 1000), 0))  # compresses to a few KB
    with pytest.raises(ImageError, match="too large"):
        load_image(data)


def test_decompression_bomb_header_refused():
    # A PNG whose header claims 20000x20000 (400 MP) but has no real pixel data: must be refused
    # from the header alone, never decoded.
    import struct
    import zlib

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    data = b"\x89PNG\r\n\x1a\n" + body
    with pytest.raises(ImageError, match="too large"):
        load_image(data)


def test_animated_gif_uses_first_frame():
    first = Image.new("L", (56, 56), 0)
    ImageDraw.Draw(first).line([(28, 5), (28, 50)], fill=255, width=5)  # vertical
    second = Image.new("L", (56, 56), 0)
    ImageDraw.Draw(second).line([(5, 28), (50, 28)], fill=255, width=5)  # horizontal
    buf = io.BytesIO()
    first.save(buf, format="GIF", save_all=True, append_images=[second], duration=100, loop=0)
    img = load_image(buf.getvalue())
    h, w = _bbox(prepare(img).preview)
    assert h >= 19 and w <= 6


def test_sixteen_bit_png_is_scaled_not_clipped():
    a = np.zeros((60, 60), np.uint16)
    a[10:50, 27:33] = 65535
    a[30, 5] = 32896  # mid grey, 128 in 8 bits
    img = load_image(_png(Image.fromarray(a)))
    assert img.mode == "L"
    g = np.asarray(img)
    assert g[20, 30] == 255 and g[0, 0] == 0 and g[30, 5] == 128
    assert not prepare(img).blank


def test_palette_la_cmyk_and_path_inputs(tmp_path):
    base = Image.new("L", (60, 60), 0)
    ImageDraw.Draw(base).line([(30, 8), (30, 52)], fill=255, width=6)
    ref = prepare(base).preview.astype(int)
    la = Image.merge("LA", [Image.new("L", (60, 60), 255), base])  # white ink, alpha coverage
    cmyk = Image.fromarray(255 - np.asarray(base)).convert("RGB").convert("CMYK")  # dark on light
    for img, fmt in ((base.convert("P"), "PNG"), (la, "PNG"), (cmyk, "JPEG")):
        buf = io.BytesIO()
        img.save(buf, format=fmt)
        path = tmp_path / f"x.{fmt.lower()}"
        path.write_bytes(buf.getvalue())
        loaded = load_image(path)
        assert loaded.mode in ("L", "LA", "RGB", "RGBA")
        assert np.abs(prepare(loaded).preview.astype(int) - ref).mean() < 8


def test_photo_dark_ink_on_grey_paper():
    rng = np.random.default_rng(0)
    paper = rng.normal(190, 8, (300, 400)).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(paper).convert("RGB")
    ImageDraw.Draw(img).line([(150, 60), (250, 60), (190, 240)], fill=(30, 30, 40), width=12)
    p = prepare(img)
    assert not p.blank
    left, top, right, bottom = p.bbox
    assert 140 <= left <= 150 and 50 <= top <= 56 and 250 <= right <= 262 and 238 <= bottom <= 250


def test_prepare_is_fast():
    rgba = _canvas_rgba(_seven)
    prepare(rgba)
    t = time.perf_counter()
    for _ in range(20):
        prepare(rgba)
    assert (time.perf_counter() - t) / 20 < 0.2  # a few ms idle (docs/benchmarks.md); 0.2 s allows a loaded machine
    big = Image.new("RGB", (4000, 3000), (235, 235, 230))
    ImageDraw.Draw(big).line([(1500, 500), (2500, 500), (1900, 2500)], fill=(20, 20, 20), width=120)
    t = time.perf_counter()
    p = prepare(big)
    assert time.perf_counter() - t < 5.0 and not p.blank  # a fraction of a second idle
