"""Faults (issue #5): bad hyperparameters and hostile images are refused with one clear message, in
bounded time and memory."""

from __future__ import annotations

import io
import struct
import time
import tomllib
import tracemalloc
import zlib

import numpy as np
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
    assert seconds < 10.0, seconds  # refused in milliseconds; 10 s allows a loaded machine, the memory bound the decode
    assert peak < 2 * MAX_BYTES, peak  # never a decoded 400-megapixel bitmap


def test_upload_limit_matches_what_preprocessing_accepts():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 <= MAX_BYTES


# ---------------------------------------------------------------- images: damaged files
def _valid_images() -> dict[str, bytes]:
    """Small valid files Pillow writes: every format the dashboard takes, TIFF too, animated ones too."""
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (24, 20, 3), dtype=np.uint8), "RGB")
    frames = [Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8), "L") for _ in range(3)]
    animated = {"save_all": True, "append_images": frames[1:]}
    made = [("gif", rgb, "GIF", {}), ("gif-animated", frames[0], "GIF", animated),
            ("tiff", rgb, "TIFF", {}), ("tiff-lzw", rgb, "TIFF", {"compression": "tiff_lzw"}),
            ("tiff-deflate", rgb, "TIFF", {"compression": "tiff_deflate"}),
            ("tiff-pages", frames[0], "TIFF", animated), ("png", rgb, "PNG", {}),
            ("png-animated", frames[0], "PNG", animated), ("jpeg", rgb, "JPEG", {}),
            ("jpeg-progressive", rgb, "JPEG", {"progressive": True}), ("bmp", rgb, "BMP", {}),
            ("webp", rgb, "WEBP", {}), ("webp-animated", frames[0], "WEBP", animated)]
    out = {}
    for name, image, fmt, options in made:
        buf = io.BytesIO()
        image.save(buf, fmt, **options)
        out[name] = buf.getvalue()
    return out


def _damaged(data: bytes, seed: int) -> list[tuple[str, bytes]]:
    """The file cut at about 120 lengths on a grid, and 120 copies with 1-3 bytes overwritten at
    seeded random offsets."""
    cuts = [(f"cut at {n}", data[:n]) for n in range(1, len(data), max(1, len(data) // 120))]
    rng = np.random.default_rng(seed)
    flips = []
    for i in range(120):
        b = bytearray(data)
        for offset in rng.integers(0, len(b), size=int(rng.integers(1, 4))):
            b[offset] = int(rng.integers(0, 256))
        flips.append((f"flip {i}", bytes(b)))
    return cuts + flips


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # Pillow's, about bad tags
def test_damaged_images_of_every_format_are_refused_in_one_line_or_read():
    wrong = []
    for seed, (name, data) in enumerate(_valid_images().items()):
        for how, damaged in _damaged(data, seed):
            try:
                load_image(damaged)
            except ImageError as e:
                if len(str(e).strip().splitlines()) != 1:
                    wrong.append((name, how, "not one line", str(e)))
            except Exception as e:  # noqa: BLE001 - what the test looks for
                wrong.append((name, how, type(e).__name__, str(e)[:80]))
    assert not wrong, f"{len(wrong)} damaged files not refused with an ImageError, e.g. {wrong[:5]}"


def test_predict_on_a_damaged_gif_exits_1_in_one_line(tmp_path, capsys):
    data = _valid_images()["gif-animated"]
    path = tmp_path / "damaged.gif"
    path.write_bytes(data[: len(data) // 2])  # cut in the second of three frames (Pillow: IndexError)
    code = netlib_cli.main(["predict", "--checkpoint", str(REPO / "checkpoints" / "residual.pt"), str(path)])
    out, err = capsys.readouterr()
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(f"netlib: error: {path}: ") and "damaged" in err, err


def test_a_gif_of_many_tiny_frames_reads_its_first_frame_fast():
    """10 MB of 2x2 frames (388,000 of them): counting them all took 3 s, for one frame's answer."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (2, 2), 255).save(buf, "GIF")
    one = buf.getvalue()
    start = one.index(b",")  # the image descriptor: the header before it, one frame from it on
    frame = b"\x21\xf9\x04\x00\x00\x00\x00\x00" + one[start:-1]  # a graphic control block, then the frame
    data = one[:start] + frame * ((MAX_BYTES - start) // len(frame) - 1) + b";"
    t0 = time.perf_counter()
    image = load_image(data)
    assert time.perf_counter() - t0 < 10.0  # one frame read in about a millisecond; all ~300,000 take minutes
    assert image.size == (2, 2)
