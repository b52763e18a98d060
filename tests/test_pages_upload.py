"""The Draw page's uploaded image: the ink colour and crop controls (their reading, directly, and the page
under streamlit.testing), the ink it found beside the upload, and an empty upload's hint."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from app_pages import _upload_parts as parts
from netlib.analysis.preprocess import BLANK_HINT, NO_CONTRAST_HINT, SCRIBBLE_HINT
from support import SHIPPED, assert_clean, charts, open_app

W, H = 240, 200
SEVEN_BOX = (45, 25, 165, 185)  # around the 7 below, in pixels; the right quarter holds no ink


def seven(paper="white", ink="black", mode="RGB") -> Image.Image:
    img = Image.new(mode, (W, H), paper)
    ImageDraw.Draw(img).line([(60, 40), (150, 40), (95, 170)], fill=ink, width=14, joint="curve")
    return img


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- the reading, without the page
def test_the_default_is_the_automatic_reading():
    prepared, auto = parts.read_upload(seven())
    assert prepared is auto and prepared.dark_ink and not prepared.blank
    x0, y0, x1, y1 = prepared.bbox
    assert 50 <= x0 < 70 and 30 <= y0 < 45 and 140 < x1 <= 165 and 160 < y1 <= 180
    assert prepared.found.shape == (H, W) and prepared.found.dtype == np.uint8


def test_forcing_the_other_polarity_reads_the_paper_as_ink():
    auto_reading = parts.read_upload(seven())[0]
    light, auto = parts.read_upload(seven(), "light")
    assert auto.dark_ink and not light.dark_ink
    assert light.bbox != auto_reading.bbox and light.scribble  # the white page is now the "ink"
    assert light.hint == parts.IMAGE_HINTS[SCRIBBLE_HINT] and "ink colour" in light.hint  # no canvas to clear
    assert not np.array_equal(light.preview, auto_reading.preview)
    dark, _ = parts.read_upload(seven(), "dark")  # the same as automatic, said out loud
    assert np.array_equal(dark.preview, auto_reading.preview)


def test_a_crop_without_the_digit_is_blank_and_one_around_it_reads_it():
    empty, _ = parts.read_upload(seven(), crop_x=(75, 100))
    assert empty.blank and empty.hint == NO_CONTRAST_HINT + parts.CROP_HINT
    around, _ = parts.read_upload(seven(), crop_x=(15, 70), crop_y=(10, 95))
    auto = parts.read_upload(seven())[0]
    assert not around.blank and around.bbox == auto.bbox  # in the input's pixels, crop or not
    assert around.found.shape == (round(0.95 * H) - round(0.1 * H), round(0.7 * W) - round(0.15 * W))


def test_crop_percentages_become_pixels():
    assert parts.pixel_box((W, H)) is None
    assert parts.pixel_box((W, H), (25, 50), (0, 100)) == (60, 0, 120, 200)
    assert parts.pixel_box((W, H), (50, 25), (10, 10)) == (60, 20, 120, 20)  # reversed, empty: prepare clamps


def test_an_empty_upload_speaks_of_the_image_never_the_canvas():
    for img in (Image.new("RGB", (W, H), "white"), Image.new("RGBA", (W, H), (0, 0, 0, 0))):
        prepared, _ = parts.read_upload(img)
        assert prepared.blank and prepared.hint == NO_CONTRAST_HINT and BLANK_HINT not in prepared.hint


def test_the_upload_shows_the_inks_box_and_the_crop_dimmed():
    prepared, _ = parts.read_upload(seven(), crop_x=(15, 70), crop_y=(10, 95))
    shown = parts.boxed(parts.Upload(seven(), "7.png", prepared, parts.pixel_box((W, H), (15, 70), (10, 95)), 0.0))
    assert max(shown.size) == parts.SHOW
    a = np.asarray(shown)
    green = np.all(a == parts.BOX_COLOR, axis=2)
    f = parts.SHOW / W
    x0, y0, x1, y1 = (round(v * f) for v in prepared.bbox)
    assert green[y0 + 5, x0] and green[y0, x0 + 5] and green.sum() > 2 * ((x1 - x0) + (y1 - y0))
    paper = a[round(100 * f), round(45 * f)]  # inside the crop, left of the ink's box
    assert a[5, 5].max() < 120 < paper.min()  # outside the crop dimmed, inside it white paper
    assert max(parts.found_image(prepared).size) == parts.SHOW


# ---------------------------------------------------------------- the page
pages = pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")


def uploaded(img: Image.Image, name: str = "seven.png") -> AppTest:
    at = open_app("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    at.file_uploader(key="upload").upload(name, png(img), "image/png")
    return at.run()


def control(widgets, label: str):
    found = [w for w in widgets if w.label.startswith(label)]
    assert len(found) == 1, [w.label for w in widgets]
    return found[0]


def readings(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def preview(at: AppTest) -> list:
    return json.loads(json.dumps(charts(at)["preview"]["data"][0]["z"]))


@pages
def test_the_page_reads_an_upload_and_shows_the_ink_it_found(fresh_lab):
    at = uploaded(seven())
    assert_clean(at)
    assert readings(at) == {"Inception reads": "7", "Residual reads": "7"}
    ink = control(at.segmented_control, "Ink colour")
    assert ink.value == "auto" and ink.options[0] == "Automatic (dark ink)"
    captions = [c for im in at.image for c in im.captions]
    assert captions == ["seven.png: the ink's box", "The ink it found (dark ink, inverted)"], captions
    assert "preview" in charts(at) and any("What the networks see (28 x 28)" == c.value for c in at.caption)
    assert any("preprocessing + 2 prediction(s)" in c.value for c in at.caption)


@pages
def test_the_other_ink_colour_changes_the_reading_and_reset_puts_it_back(fresh_lab):
    at = uploaded(seven())
    before = preview(at)
    control(at.segmented_control, "Ink colour").set_value("light").run()
    assert_clean(at)
    assert [w.value for w in at.warning] == [parts.IMAGE_HINTS[SCRIBBLE_HINT]] and not at.metric
    assert preview(at) != before  # the row still shows what it made of the image
    assert [c for im in at.image for c in im.captions][1] == "The ink it found (light ink)"
    at.button(key="upload_reset").click().run()
    assert control(at.segmented_control, "Ink colour").value == "auto"
    assert readings(at) == {"Inception reads": "7", "Residual reads": "7"} and preview(at) == before


@pages
def test_a_crop_without_the_digit_gets_the_image_hint_and_one_around_it_reads_it(fresh_lab):
    at = uploaded(seven())
    control(at.slider, "Crop, left to right").set_value((75, 100)).run()
    assert_clean(at)
    assert [i.value for i in at.info] == [NO_CONTRAST_HINT + parts.CROP_HINT] and not at.metric
    assert any("the crop dimmed around" in c for im in at.image for c in im.captions)
    control(at.slider, "Crop, left to right").set_value((15, 70)).run()
    control(at.slider, "Crop, top to bottom").set_value((10, 95)).run()
    assert_clean(at)
    assert readings(at) == {"Inception reads": "7", "Residual reads": "7"}


@pages
def test_a_new_file_starts_from_the_automatic_reading(fresh_lab):
    at = uploaded(seven())
    control(at.segmented_control, "Ink colour").set_value("light").run()
    control(at.slider, "Crop, left to right").set_value((75, 100)).run()
    at.file_uploader(key="upload").upload("light-seven.png", png(seven("black", "white")), "image/png")
    at.run()
    assert_clean(at)
    ink = control(at.segmented_control, "Ink colour")
    assert ink.value == "auto" and ink.options[0] == "Automatic (light ink)"
    assert control(at.slider, "Crop, left to right").value == (0, 100)
    assert readings(at) == {"Inception reads": "7", "Residual reads": "7"}


@pages
def test_an_empty_upload_gets_the_image_hint_not_the_canvas_one(fresh_lab):
    at = uploaded(Image.new("RGBA", (W, H), (0, 0, 0, 0)), "empty.png")
    assert_clean(at)
    assert [i.value for i in at.info] == [NO_CONTRAST_HINT] and not at.metric
    assert not any("canvas" in i.value for i in at.info)
    assert [c for im in at.image for c in im.captions] == ["empty.png", "No ink found"]


@pages
def test_no_upload_yet_asks_for_an_image(fresh_lab):
    at = open_app("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    assert_clean(at)
    assert [i.value for i in at.info] == [parts.WAITING]
