"""The Draw page's canvas and upload under streamlit.testing (AppTest): an empty canvas's hint, an injected
digit read by both networks, Clear, an uploaded image, and a bad upload or broken checkpoint as a message.
The explanations and hints on a drawing are in test_pages_draw.py."""

from __future__ import annotations

import base64
import io
import time

import pytest
from streamlit.testing.v1 import AppTest

from netlib.lab import catalogue
from netlib.analysis.strokes import Style, render
from support import SHIPPED, assert_clean, charts
from pages_support import fake_run, lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)


def digit_data_url(digit: int) -> str:
    """A canvas-like PNG (transparent background, white ink) of a clearly drawn digit."""
    img = render(digit, Style(box=0.7, width=18, polarity="transparent"))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


# ---------------------------------------------------------------- draw
def test_draw_empty_canvas_gets_a_hint_not_a_prediction():
    at = open_page("app_pages/draw.py")
    assert_clean(at)
    assert any("Draw a digit" in i.value for i in at.info)
    assert not at.metric


def draw_on_canvas(at: AppTest, url: str, strokes: int = 1) -> AppTest:
    """What the canvas reports: its drawing's objects (one per stroke) and its image."""
    at.session_state["canvas"] = {"drawing": {"raw": {"objects": [{"type": "path"}] * strokes}, "data": url}}
    return at.run()


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
@pytest.mark.parametrize("digit", [3, 7])
def test_draw_predicts_an_injected_digit(digit):
    at = open_page("app_pages/draw.py")
    t0 = time.perf_counter()
    draw_on_canvas(at, digit_data_url(digit))
    elapsed = time.perf_counter() - t0
    assert_clean(at)
    answers = {m.label: m.value for m in at.metric}
    assert answers == {"Inception reads": str(digit), "Residual reads": str(digit)}, answers
    assert {"probs_inception", "probs_residual", "preview"} <= set(charts(at))
    assert at.session_state["last_drawn"].shape == (28, 28)
    assert elapsed < 30  # a second or two idle; 30 s allows a loaded machine (a hang would time out)


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_draw_an_emptied_canvas_is_not_read_and_the_next_drawing_is():
    """Clear empties the canvas in the browser, which then reports its empty drawing (an image of the
    black square, no strokes): nothing is read, Inspect's last drawing goes; the next drawing is read."""
    at = open_page("app_pages/draw.py")
    draw_on_canvas(at, digit_data_url(1))
    assert at.metric and "last_drawn" in at.session_state
    draw_on_canvas(at, digit_data_url(1), strokes=0)
    assert any("Draw a digit" in i.value for i in at.info) and not at.metric
    assert "last_drawn" not in at.session_state
    draw_on_canvas(at, digit_data_url(7))  # the next drawing: read at once
    assert {m.label: m.value for m in at.metric} == {"Inception reads": "7", "Residual reads": "7"}


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_draw_reads_an_uploaded_image():
    img = render(4, Style(polarity="dark_on_light", width=20)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    at = open_page("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    at.file_uploader(key="upload").upload("four.jpg", buf.getvalue(), "image/jpeg")
    at.run()
    assert_clean(at)
    assert {m.value for m in at.metric} == {"4"}


def test_draw_bad_upload_is_a_message_not_a_traceback():
    at = open_page("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    at.file_uploader(key="upload").upload("notes.png", b"this is not a png", "image/png")
    at.run()
    assert not at.exception
    assert "not an image" in at.error[0].value


def test_draw_damaged_gif_upload_says_it_is_damaged():
    from PIL import Image

    frames = [Image.new("L", (16, 16), shade) for shade in (0, 128, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    at = open_page("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    at.file_uploader(key="upload").upload("cut.gif", buf.getvalue()[: len(buf.getvalue()) // 2], "image/gif")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The image is damaged or not an image Pillow can read."]


def test_draw_broken_checkpoint_is_a_message_not_a_traceback(lab, monkeypatch):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(lab / "no-shipped"))
    run = fake_run(lab, "20250101-000000-residual-fast-001", accs=(0.9,), checkpoint=True)
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    at = open_page("app_pages/draw.py")
    draw_on_canvas(at, digit_data_url(2))
    assert not at.exception
    assert any(e.value.startswith("checkpoint.pt:") for e in at.error), [e.value for e in at.error]
    assert any("No trained inception checkpoint" in w.value for w in at.warning)


def test_the_draw_link_says_it_does_not_carry_the_drawing():
    at = open_page("app_pages/draw.py")
    said = " ".join(c.value for c in at.sidebar.caption)
    assert "does not carry the drawing" in said, said
