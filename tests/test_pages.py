"""The dashboard's pages under streamlit.testing (AppTest): every page renders, Home and the sidebar, Inspect.
Train and Compare are in test_pages_train.py, the Draw page's canvas in test_pages_draw_canvas.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_pages._common import PAGES as PAGE_INFO
from support import APP, SHIPPED, assert_clean, charts
from pages_support import fake_run, lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)

PAGES = [p.path for p in PAGE_INFO]


# ---------------------------------------------------------------- every page
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_fresh_install(page):
    at = open_page(page)
    assert_clean(at)
    assert at.title and at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_saved_runs(lab, page):
    fake_run(lab, "20250101-000000-inception-fast-001", "inception", checkpoint=True)
    fake_run(lab, "20250101-000001-residual-fast-002", "residual", checkpoint=True)
    fake_run(lab, "20250101-000002-residual-fast-003", "residual", accs=(0.5,), status="diverged",
             reason="loss became nan in epoch 1")
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]


def test_no_legacy_pages_folder_so_every_page_runs_in_the_frame():
    """A folder named pages/ beside the entry script switches on Streamlit's legacy multipage mode, in
    which a cold server's first visit to /x runs pages/x.py alone, without app.py's frame. The pages
    live in app_pages/ so that mode never starts (no private Streamlit API needed); the browser suite
    opens /train first on a cold server to show it end to end."""
    root = APP.parent
    assert not (root / "pages").exists(), "a pages/ folder would bring back Streamlit's legacy mode"
    on_disk = {f"app_pages/{f.name}" for f in (root / "app_pages").glob("*.py") if not f.name.startswith("_")}
    assert {p.path for p in PAGE_INFO} == on_disk  # the navigation lists every page, once


def test_a_page_opened_through_the_navigation_gets_the_frame():
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert at.title[0].value == "Compare"
    assert any("cpu" in m.value or "cuda" in m.value for m in at.sidebar.markdown)  # app.py's sidebar ran


def test_home_shows_networks_and_links():
    at = open_page("app_pages/home.py")
    text = " ".join(m.value for m in at.markdown)
    assert "16 + 24 + 24 + 24 = 88" in text and "relu(x + F(x))" in text
    assert {m.value for m in at.metric if m.label == "parameters"} == {"97,298", "41,514"}
    if all(p.is_file() for p in SHIPPED):
        assert all(m.value.endswith("%") for m in at.metric if m.label == "test accuracy")


def test_sidebar_shows_device_and_live_runs(lab):
    fake_run(lab, "20250101-000000-residual-fast-001", status="running")
    at = open_page("app_pages/home.py")
    side = " ".join(m.value for m in at.sidebar.markdown)
    assert "cpu" in side or "cuda" in side
    assert "20250101-000000-residual-fast-001" in side


# ---------------------------------------------------------------- inspect
def test_inspect_shows_the_88_channel_and_1408_rows():
    at = open_page("app_pages/inspect.py")
    assert_clean(at)
    rows = at.dataframe[0].value
    incep1 = rows[rows["layer"] == "incep1"].iloc[0]
    assert incep1["output shape"] == "88 × 12 × 12" and "= 88" in incep1["note"]
    flatten = rows[rows["layer"] == "flatten"].iloc[0]
    assert flatten["output shape"] == "1408" and "1408" in flatten["note"]
    assert any("branch5x5_1" in name for name in rows["layer"])  # the branches, broken down
    assert rows[rows["layer"] == "total"].iloc[0]["parameters"] == 97298
    assert any("1408" in m.value for m in at.markdown)
    maps = [k for k in charts(at) if k.startswith("fmap_inception_")]
    assert len(maps) == 8  # every stage, conv1 .. fc

    at.radio(key="inspect_model").set_value("residual").run()
    assert_clean(at)
    rows = at.dataframe[0].value
    assert rows[rows["layer"] == "flatten"].iloc[0]["output shape"] == "512"


def test_inspect_random_digit_button_picks_another_test_digit():
    at = open_page("app_pages/inspect.py")
    picked = set()
    for _ in range(3):
        at.button(key="inspect_random").click().run()
        assert_clean(at)
        picked.add(at.number_input(key="inspect_index").value)
    assert len(picked) > 1


def test_inspect_shows_the_last_drawn_digit():
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:16] = 255
    at.session_state["last_drawn"] = digit
    at.switch_page("app_pages/inspect.py").run()
    at.radio(key="inspect_source").set_value("last drawn digit").run()
    assert_clean(at)
    assert "your drawing" in json.dumps(charts(at)["inspect_digit"]["layout"]["title"])


# The real-browser tests (a real server, Playwright, mouse drawing) are in test_browser*.py.
