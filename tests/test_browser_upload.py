"""Uploading a digit on the Draw page in a real browser: a photo-like image and a tight crop are read as the
library reads them (and rightly), the ink found and the 28 x 28 are shown, and forcing the wrong ink colour
changes the answer until Reset.

Uses browser_server.py's server (`streamlit run app.py`, the shipped checkpoints) and Chromium; the uploads
are made by the benchmark's own renderers (netlib/analysis/photos.py), seeded.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.analysis.photos import render_photo, render_tight  # noqa: E402
from netlib.analysis.predict import probabilities  # noqa: E402
from netlib.analysis.preprocess import prepare  # noqa: E402
from netlib.checkpoint import load_checkpoint  # noqa: E402
from netlib.data import load_mnist  # noqa: E402
from netlib.lab.catalogue import shipped_checkpoint  # noqa: E402
from browser_server import browser, page, server  # noqa: E402,F401,F811  (the fixtures)
from browser_helpers import SHIPPED, assert_clean, open_page, reading, shot, wait_idle  # noqa: E402

MODELS = ("residual", "inception")


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def library_reads(image, dark_ink=None) -> dict[str, str]:
    """What the library answers for this image with each shipped checkpoint: the page must say the same."""
    p = prepare(image, dark_ink=dark_ink)
    if p.blank or p.scribble:
        return {}
    nets = {m: load_checkpoint(shipped_checkpoint(m), expect_model=m)[0] for m in MODELS}
    return {m: str(int(probabilities(net, p.tensor).argmax())) for m, net in nets.items()}


def uploads() -> list[tuple[str, object, int]]:
    """(name, image, label): a photo of a digit on paper and a digit cropped tight to its ink."""
    images, labels = (t.numpy() for t in load_mnist(False))
    photo, _ = render_photo(images[0], np.random.default_rng(7))
    tight = render_tight(images[1], np.random.default_rng(8), inverted=True)  # dark ink on white
    return [("photo.png", photo, int(labels[0])), ("tight.png", tight, int(labels[1]))]


def upload(page, name: str, image) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        {"name": name, "mimeType": "image/png", "buffer": png(image)})


@pytest.mark.browser
@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_upload_a_photo_and_a_tight_crop(server, page):
    open_page(page, server, "draw", "Draw")
    page.get_by_text("Upload an image", exact=True).click()
    expect(page.get_by_test_id("stFileUploaderDropzone")).to_be_visible()
    for name, image, label in uploads():
        expected = library_reads(image)
        assert expected == {m: str(label) for m in MODELS}, f"{name}: the library misreads it: {expected}"
        upload(page, name, image)
        for model in MODELS:
            value = reading(page, model.capitalize()).get_by_test_id("stMetricValue")
            expect(value).to_have_text(expected[model], timeout=30_000)
        wait_idle(page)
        expect(page.get_by_text("The ink it found (dark ink, inverted)")).to_be_visible()
        expect(page.get_by_text("What the networks see (28 x 28)")).to_be_visible()
        assert_clean(page, f"upload {name}")
        shot(page, f"upload_{name.removesuffix('.png')}", full_page=False)

    # the last upload (dark ink on white) read as light ink: the paper becomes the "ink" and the answer moves
    forced = library_reads(image, dark_ink=False)
    page.get_by_role("radio", name="Light ink on dark paper").click()
    wait_idle(page)
    expect(page.get_by_text("The ink it found (light ink)").or_(page.get_by_text("No ink found")).first).to_be_visible()
    for model in MODELS:
        metric = reading(page, model.capitalize()).get_by_test_id("stMetricValue")
        if forced:
            expect(metric).to_have_text(forced[model])
        else:
            expect(metric).to_have_count(0)
    assert_clean(page, "upload, ink colour forced")
    page.get_by_role("button", name="Reset ink colour and crop").click()
    wait_idle(page)
    for model in MODELS:
        expect(reading(page, model.capitalize()).get_by_test_id("stMetricValue")).to_have_text(expected[model])
    expect(page.get_by_text("The ink it found (dark ink, inverted)")).to_be_visible()
