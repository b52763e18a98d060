"""The dashboard in a real browser: `streamlit run app.py` driven by Playwright (Debian's chromium).

One server (a fresh runs folder) and one browser serve each module (browser_server.py); every test opens
its own tab. The journeys a new user takes (issue 4), here:
  pages    every page loads inside app.py's frame, a cold deep link included
  inspect  each network: the 88-channel Inception output, the 1408 / 512 flatten sizes, feature maps
  results  the confusion matrix and the misread-digit gallery; one digit opened in Inspect
and in test_browser_draw.py (digits drawn with the mouse) and test_browser_train.py (Train, Compare).
After every step: no exception element, no error alert, no "Traceback", no browser console error.
Screenshots of every step go to artifacts/browser/ (docs/screenshots/ come from scripts/refresh_screenshots.sh).
"""

from __future__ import annotations

import re
import time

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401  (the fixtures)
from browser_helpers import assert_clean, open_page, shot, table_rows, wait_idle  # noqa: E402

# ---------------------------------------------------------------- 5. every page
PAGES = [("train", "Train"), ("", "MNIST network lab"), ("compare", "Compare"), ("inspect", "Inspect"),
         ("results", "Results"), ("draw", "Draw")]


@pytest.mark.browser
def test_every_page_loads_in_the_frame(server, page):
    # how fast it starts is a figure (docs/benchmarks.md), not a test: the fixture's 60 s is the bound
    print(f"first page served {server.started_s:.1f} s after `streamlit run`")
    # /train first: the very first visit to a cold server must still be wrapped in app.py's frame
    for path, title in PAGES:
        open_page(page, server, path, title)
        assert_clean(page, f"/{path}")
        expect(page.get_by_text("Device", exact=True).first).to_be_visible()  # app.py's sidebar ran
        expect(page.get_by_text("none right now")).to_be_visible()  # no live runs yet
        if path == "":
            expect(page.locator('[data-testid="stGraphVizChart"] svg')).to_have_count(2)
            shot(page, "home")
        else:
            shot(page, f"page_{path}")
    # the sidebar navigation works too
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Inspect").click()
    expect(page.get_by_role("heading", name="Inspect", exact=True).first).to_be_visible()
    wait_idle(page)
    assert page.url.rstrip("/").endswith("/inspect")
    assert_clean(page, "sidebar link to Inspect")


@pytest.mark.browser
def test_inspect_both_networks(server, page):
    open_page(page, server, "inspect", "Inspect")
    # Inception, Layers tab: the 88-channel block output and the 1408-long flatten
    expect(page.get_by_text(re.compile(r"88 x 4 x 4 = 1408"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Inside each InceptionA block .*"
                                       r"16 \(1x1\) \+ 24 \(5x5\) \+ 24 \(3x3\) \+ 24 \(pool\) = 88"))).to_be_visible()
    shapes = layer_shapes(page, "incep2")
    assert shapes["incep1"] == "88 × 12 × 12" and shapes["incep2"] == "88 × 4 × 4", shapes
    assert shapes["flatten"] == "1408", shapes
    assert_clean(page, "inspect inception layers")
    shot(page, "inspect")

    page.get_by_role("tab", name="Feature maps").click()
    expect_feature_maps(page, "inception", ("incep1 · 88 × 12 × 12", "incep2 · 88 × 4 × 4", "flatten · 1408"),
                        "inspect_maps")

    page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("Residual", exact=True).click()
    expect_feature_maps(page, "residual", ("rblock1 · 16 × 12 × 12", "rblock2 · 32 × 4 × 4", "flatten · 512"),
                        "inspect_maps_residual")

    page.get_by_role("tab", name="Layers").click()
    expect(page.get_by_text(re.compile(r"32 x 4 x 4 = 512"))).to_be_visible()
    shapes = layer_shapes(page, "rblock2")
    assert shapes["rblock2"] == "32 × 4 × 4" and shapes["flatten"] == "512", shapes
    assert_clean(page, "inspect residual layers")
    shot(page, "inspect_residual")


# ---------------------------------------------------------------- 6. results
@pytest.mark.browser
def test_results_confusion_matrix_and_a_misread_digit_into_inspect(server, page):
    open_page(page, server, "results", "Results")
    expect(page.get_by_text("test accuracy").first).to_be_visible(timeout=60_000)
    expect(page.get_by_role("heading", name="Misread digits")).to_be_visible(timeout=60_000)
    wait_idle(page)
    card = page.get_by_text(re.compile(r"^test digit #\d+$")).first
    expect(card).to_be_visible()
    index = int(card.inner_text().split("#")[1])
    assert_clean(page, "results")
    shot(page, "results")

    page.get_by_role("button", name="Inspect").first.click()
    expect(page.get_by_role("heading", name="Inspect", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_role("tab", name="Feature maps", selected=True)).to_be_visible()
    expect(page.get_by_text(f"Back to Results (digit #{index})")).to_be_visible()
    expect(page.get_by_label(re.compile(r"^Test digit number")).first).to_have_value(str(index))
    wait_idle(page)
    assert_clean(page, "inspect, from results")
    shot(page, "results_to_inspect")


def expect_feature_maps(page, model: str, titles: tuple[str, ...], shot_name: str) -> None:
    """The Feature maps tab shows these stage titles and real images for `model`, with no error."""
    for title in titles:
        expect(page.get_by_text(title, exact=True)).to_be_visible()
    wait_idle(page)
    assert_images(page, model)
    assert_clean(page, f"inspect {model} maps")
    shot(page, shot_name)


def layer_shapes(page, layer: str, timeout: float = 30) -> dict[str, str]:
    """The layer table's 'output shape' column by layer name, once `layer` is in it."""
    deadline = time.monotonic() + timeout
    while True:
        shapes = {row[0]: row[2] for row in table_rows(page) if len(row) > 2 and row[2] is not None}
        if layer in shapes or time.monotonic() > deadline:
            return shapes
        page.wait_for_timeout(250)


def assert_images(page, model: str) -> None:
    """Every conv stage's feature maps are drawn as an image (Plotly renders a heatmap as <image>)."""
    stages = ["conv1", "pool1", "incep1" if model == "inception" else "rblock1", "conv2", "pool2",
              "incep2" if model == "inception" else "rblock2"]
    for stage in stages:
        chart = page.locator(f".st-key-fmap_{model}_{stage}")
        expect(chart.locator("image").first).to_be_attached()
        size = chart.bounding_box()
        assert size and size["width"] > 100 and size["height"] > 50, (stage, size)
