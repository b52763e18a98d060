"""Uploaded-style digits (netlib/analysis/photos.py) and `bench uploads` (netlib/cli/bench_uploads.py).

The renderers get real MNIST test digits (cached locally by `python -m netlib data`). The bench runs end to end
on a handful of uploads with the shipped checkpoints; it checks the shape of the answer, never accuracies:
those move whenever preprocess.py's ink map changes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from netlib.analysis.photos import CATEGORIES, TIGHT_INK, render_strokes, upload_digits
from netlib.cli import main as netlib_cli
from netlib.cli.bench_uploads import bench_uploads
from netlib.cli.parser import build_parser
from netlib.data import load_mnist
from netlib.lab.catalogue import PROJECT_ROOT

SHIPPED = [PROJECT_ROOT / "checkpoints" / f"{name}.pt" for name in ("residual", "inception")]


@pytest.fixture(scope="module")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    images, labels = load_mnist(False)
    return images.numpy(), labels.numpy()


def _uploads(mnist, category: str, n: int = 8, seed: int = 7) -> list:
    return list(upload_digits(category, *mnist, n, seed=seed))


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.float32)


def _ink(upload) -> np.ndarray:
    """0..255, ink high, whatever the polarity the upload was given in."""
    a = _grey(upload.image)
    return 255.0 - a if upload.variant.endswith("black-on-white") else a


@pytest.mark.parametrize("category", CATEGORIES)
def test_renderers_are_deterministic_for_a_seed(mnist, category):
    first, again = _uploads(mnist, category, 4), _uploads(mnist, category, 4)
    assert [(u.label, u.variant, u.image.tobytes()) for u in first] == \
           [(u.label, u.variant, u.image.tobytes()) for u in again]
    # Each upload has its own random stream: asking for fewer gives the same first ones ...
    assert [u.image.tobytes() for u in _uploads(mnist, category, 2)] == [u.image.tobytes() for u in first[:2]]
    # ... and another seed gives other images.
    other = _uploads(mnist, category, 4, seed=8)
    assert [u.image.tobytes() for u in other] != [u.image.tobytes() for u in first]


def test_tight_crops_touch_all_four_edges_in_both_polarities(mnist):
    uploads = _uploads(mnist, "tight", 10)
    assert [u.label for u in uploads] == [int(v) for v in mnist[1][:10]]  # the first test digits, in order
    assert {u.variant: sum(v.variant == u.variant for v in uploads) for u in uploads} == \
           {"white-on-black": 5, "black-on-white": 5}
    for u in uploads:
        ink = _ink(u)
        assert u.image.mode == "L"
        for edge in (ink[0], ink[-1], ink[:, 0], ink[:, -1]):
            assert edge.max() >= 48, u  # real ink, not just the faint rim, reaches every edge
    for u, digit in zip(uploads, mnist[0]):  # enlarged 2-8x from the digit's ink box
        inked = digit >= TIGHT_INK
        box = (np.count_nonzero(inked.any(axis=0)), np.count_nonzero(inked.any(axis=1)))
        assert all(2 * b - 1 <= side <= 8 * b + 1 for side, b in zip(u.image.size, box)), (u.image.size, box)


def test_photos_are_dark_ink_on_bright_uneven_paper(mnist):
    for u in _uploads(mnist, "photo", 6):
        assert u.image.mode == "RGB"
        assert all(200 <= side <= 400 for side in u.image.size)
        grey = _grey(u.image) / 255.0
        paper, ink = np.median(grey), np.percentile(grey, 0.5)
        assert paper > 0.55, u  # off-white paper, even in shadow
        assert ink < paper - 0.3, u  # the digit is clearly darker
        assert np.percentile(grey, 95) - np.percentile(grey, 20) > 0.04, u  # lighting, shadow: not flat
        assert u.variant.split(", ")[0] in ("plain", "lined", "squared")


def _round_trip(image: Image.Image, side: int, method: str) -> float:
    """Mean grey-level change when the image is brought down to side px and back up."""
    down = image.resize((side, side), Image.Resampling.NEAREST if method == "nearest" else Image.Resampling.BOX)
    up = down.resize(image.size, Image.Resampling.NEAREST if method == "nearest" else Image.Resampling.BILINEAR)
    return float(np.abs(_grey(image) - _grey(up)).mean())


def test_lowres_images_hold_no_more_detail_than_their_native_size(mnist):
    uploads = _uploads(mnist, "lowres", 8)
    detailed = _uploads(mnist, "strokes", 8)  # the same kind of digit, rendered at full resolution
    for u, d in zip(uploads, detailed):
        method = u.variant.split(",")[0]
        assert 8 <= u.native_px <= 16 and 64 <= u.image.size[0] <= 256
        loss = _round_trip(u.image, u.native_px, method)
        assert loss < (0.5 if method == "nearest" else 10.0), u  # blocky or smooth: nothing finer to lose
        assert loss < _round_trip(d.image.resize(u.image.size), u.native_px, method), u


def test_thick_strokes_carry_more_ink_than_thin_ones(mnist):
    images, labels = mnist
    for index in range(6):
        for inverted in (False, True):
            thick = render_strokes(images[index], np.random.default_rng(index), True, inverted)
            thin = render_strokes(images[index], np.random.default_rng(index), False, inverted)
            assert thick.size == thin.size and 150 <= thick.size[0] <= 300
            ink = [(255.0 - _grey(im)) if inverted else _grey(im) for im in (thick, thin)]
            assert ink[0].sum() > 1.3 * ink[1].sum() > 0
    variants = {u.variant for u in _uploads(mnist, "strokes", 4)}
    assert variants == {"thick, white-on-black", "thick, black-on-white", "thin, white-on-black",
                        "thin, black-on-white"}


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_bench_reads_every_category_with_both_shipped_networks(mnist):
    args = build_parser().parse_args(["bench", "uploads", "--limit", "3", "--per-category", "3", "--seed", "3"])
    results = bench_uploads(args)
    assert [(r["category"], r["model"]) for r in results] == \
           [(c, m) for c in CATEGORIES for m in ("inception", "residual")]
    for r in results:
        assert r["images"] == 3
        for share in ("accuracy", "empty", "not_a_digit", "top_answer_accuracy", *r["by_variant"]):
            value = r[share] if share in r else r["by_variant"][share]
            assert 0.0 <= value <= 1.0, (r["category"], share)
        assert r["empty"] + r["not_a_digit"] <= 1.0 - r["accuracy"] + 1e-9  # no claimed answer is no hit


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_cli_chooses_categories_and_prints_json(capsys):
    argv = ["bench", "uploads", "--category", "lowres,tight", "--limit", "2", "--per-category", "2", "--json"]
    assert netlib_cli.main(argv) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["category"], r["images"]) for r in rows] == [("lowres", 2)] * 2 + [("tight", 2)] * 2
    assert netlib_cli.main(["bench", "uploads", "--category", "tight,fax"]) == 2
    assert "fax" in capsys.readouterr().err


def test_low_resolution_is_also_tallied_by_the_size_it_was_stored_at(mnist):
    args = build_parser().parse_args(["bench", "uploads", "--category", "lowres", "--per-category", "24"])
    for r in bench_uploads(args):
        bands = [v for v in r["by_variant"] if v.startswith("stored at")]
        assert bands and all(b in ("stored at 8-10 px", "stored at 11-13 px", "stored at 14-16 px") for b in bands)
        assert [b for b in ("stored at 8-10 px", "stored at 11-13 px", "stored at 14-16 px") if b in bands] == bands
        methods = [v for v in r["by_variant"] if not v.startswith("stored at")]
        assert methods and all(v.startswith(("nearest", "bilinear")) for v in methods)
