"""The Draw page under streamlit.testing (AppTest): explanations of an injected digit (saliency maps,
Inception's branches), the scribble and dot hints, and the low-confidence warning."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from netlib.analysis import explain
from netlib.analysis.preprocess import BLOB_HINT, SCRIBBLE_HINT
from netlib.analysis.strokes import Style, draw_paths, render
from support import SHIPPED, assert_clean, charts, open_app

pytestmark = pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")


@pytest.fixture(autouse=True)
def lab(fresh_lab):
    """Every test here: a fresh runs directory and empty Streamlit caches."""


def draw_page() -> AppTest:
    return open_app("app_pages/draw.py")


def draw(at: AppTest, image: Image.Image) -> AppTest:
    """Inject a drawing the way the canvas reports one: a PNG data URL under the canvas's key."""
    buf = io.BytesIO()
    image.save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    at.session_state["canvas"] = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": url}}
    return at.run()


def scribble() -> Image.Image:
    rng = np.random.default_rng(1)
    strokes = []
    for _ in range(10):
        pts = rng.uniform(0.03, 0.97, size=(6, 2)) * 280
        strokes.append([tuple(a + (b - a) * t) for a, b in zip(pts[:-1], pts[1:]) for t in np.linspace(0, 1, 30)])
    return draw_paths(strokes, Style(width=18, polarity="transparent"))


def test_a_digit_is_explained_for_both_networks():
    at = draw(draw_page(), render(3, Style(box=0.7, width=18, polarity="transparent")))
    assert_clean(at)
    assert {m.value for m in at.metric} == {"3"}
    figs = charts(at)
    assert {"saliency_inception", "saliency_residual", "branches"} <= set(figs)
    for model in ("inception", "residual"):
        spec = figs[f"saliency_{model}"]
        digit, overlay = spec["data"]
        assert overlay["type"] == "heatmap" and overlay["name"] == "gradient x input"
        assert overlay["zmin"] == -overlay["zmax"] < 0  # signed: towards and away from the digit
        assert "why 3" in json.dumps(spec["layout"]["title"])
    bars = figs["branches"]["data"]
    assert [b["name"].split()[0] for b in bars] == ["incep1", "incep2"]
    assert all(b["x"] == ["1x1", "5x5", "3x3", "pool"] for b in bars)
    assert any("branch" in c.value and "share" in c.value for c in at.caption)
    assert any("explanations for 2 network(s)" in c.value for c in at.caption)
    assert not at.warning  # a clear 3: no doubt


def test_switching_to_grad_cam_redraws_the_maps():
    at = draw(draw_page(), render(7, Style(box=0.6, width=16, polarity="transparent")))
    at.radio(key="explain_method").set_value("Grad-CAM").run()
    assert_clean(at)
    for model in ("inception", "residual"):
        overlay = charts(at)[f"saliency_{model}"]["data"][1]
        assert overlay["name"] == "Grad-CAM" and overlay["zmin"] == 0
    assert any("last convolution stage" in c.value for c in at.caption)


def test_a_scribble_gets_a_hint_not_an_answer():
    at = draw(draw_page(), scribble())
    assert_clean(at)
    assert [w.value for w in at.warning] == [SCRIBBLE_HINT]
    assert not at.metric and "saliency_inception" not in charts(at)


def test_a_dot_gets_a_hint_not_an_answer():
    at = draw(draw_page(), draw_paths([[(150.0, 120.0)]], Style(width=18, polarity="transparent")))
    assert_clean(at)
    assert [w.value for w in at.warning] == [BLOB_HINT]
    assert not at.metric


def test_an_unsure_answer_gets_a_plain_warning(monkeypatch):
    """Any answer below the confidence threshold is called unsure, with the two likeliest digits."""
    monkeypatch.setattr(explain, "CONFIDENT", 1.01)
    at = draw(draw_page(), render(4, Style(box=0.7, width=18, polarity="transparent")))
    assert_clean(at)
    notes = [w.value for w in at.warning]
    assert len(notes) == 1 and "Inception is not sure:" in notes[0] and "Residual is not sure:" in notes[0]
    assert "— maybe 4 or " in notes[0]
    assert {m.value for m in at.metric} == {"4"}  # the answers stay, with the warning above them


def test_each_checkpoint_is_loaded_once_for_every_session_and_stroke(monkeypatch):
    """Issue 14, many visitors: the networks are shared by all sessions (st.cache_resource), in eval mode,
    not loaded per session or per rerun."""
    import netlib.checkpoint

    loads = []
    real = netlib.checkpoint.load_checkpoint
    monkeypatch.setattr(netlib.checkpoint, "load_checkpoint",
                        lambda path, *a, **k: loads.append(path) or real(path, *a, **k))
    first, second = draw_page(), draw_page()  # two visitors: two sessions of one server process
    for digit in (3, 7):
        for at in (first, second):
            draw(at, render(digit, Style(box=0.7, width=18, polarity="transparent")))
            assert_clean(at)
            assert {m.value for m in at.metric} == {str(digit)}
    assert sorted(p.name for p in loads) == ["inception.pt", "residual.pt"]
    from app_pages._common import load_model

    assert not any(load_model(p)[0].training for p in SHIPPED)  # shared read-only: eval mode
