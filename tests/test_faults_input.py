"""Faults (issue #5): bad hyperparameters and hostile images are refused with one clear message, in
bounded time and memory."""

from __future__ import annotations

import io
import struct
import time
import tomllib
import tracemalloc
import zlib

import pytest

from netlib.cli import main as netlib_cli
from netlib.analysis.images import ImageError, MAX_BYTES, load_image
from faults_support import REPO, _keep_sigterm, _own_process_table, app, train_page  # noqa: F401


# ---------------------------------------------------------------- bad hyperparameters
@pytest.mark.parametrize("args, word", [
    (["--lr", "0"], "--lr"), (["--lr", "inf"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--lr", "100"], "learning rate"), (["--epochs", "100000"], "epochs"), (["--epochs", "two"], "--epochs"),
    (["--epochs", "-3"], "--epochs"), (["--batch-size", "-3"], "--batch-size"),
    (["--batch-size", "1.5"], "--batch-size"), (["--limit", "-5"], "--limit"), (["--threads", "0"], "--threads"),
    (["--optimizer", "rmsprop"], "rmsprop"), (["--schedule", "cosine"], "cosine")],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None)
def test_more_bad_hyperparameters_exit_2_with_one_line(args, word, capsys):
    code = netlib_cli.main(["train", "--model", "residual", *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("netlib: error:") and word in err


def test_train_page_widgets_carry_the_limits(app):
    from netlib.models import MODELS, title

    at = train_page()
    at.radio(key="recipe").set_value("custom").run()
    limits = {k: (at.number_input(key=k).min, at.number_input(key=k).max) for k in ("epochs", "lr", "limit")}
    assert limits["epochs"] == (1, 50)
    assert 0 < limits["lr"][0] and limits["lr"][1] <= 10
    assert limits["limit"] == (0, 60000)
    assert all(0 < int(b) <= 60000 for b in at.select_slider(key="batch_size").options)
    assert set(at.selectbox(key="model").options) <= {title(m) for m in MODELS}  # no free text


# ---------------------------------------------------------------- images: bounded time and memory
def _png_header_only(w: int, h: int) -> bytes:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def _gif_header_only(w: int, h: int) -> bytes:
    """A real 1x1 GIF whose screen and frame claim w x h."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, "GIF")
    b = bytearray(buf.getvalue())
    b[6:10] = struct.pack("<HH", w, h)
    i = b.index(b",")
    b[i + 5:i + 9] = struct.pack("<HH", w, h)
    return bytes(b)


@pytest.mark.parametrize("make, words", [
    (lambda: _png_header_only(20000, 20000), "too large"),
    (lambda: _gif_header_only(20000, 20000), "too large"),
    (lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * (50 * 2**20), "too big"),
    (lambda: b"", "empty"),
    (lambda: b"%PDF-1.4 not an image", "not an image")],
    ids=["png-20000x20000", "gif-20000x20000", "50-MB", "empty", "pdf"])
def test_hostile_images_are_refused_fast_and_in_bounded_memory(make, words):
    data = make()
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(ImageError, match=words):
            load_image(data)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 2.0, seconds
    assert peak < 2 * MAX_BYTES, peak  # never a decoded 400-megapixel bitmap


def test_upload_limit_matches_what_preprocessing_accepts():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 <= MAX_BYTES
