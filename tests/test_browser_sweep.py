"""The Sweep page in a real browser: fill the form for a tiny grid (synthetic digits), start it, watch the
page's own worker finish every trial, and see Optuna's parallel-coordinates figure.

A server of its own (`streamlit run app.py` on a free port, a fresh runs folder) with NETLIB_LAB_SYNTHETIC
set, so the trials train on a few synthetic digits; browser_server.py's browser and tab fixtures use it.
"""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.lab import launch  # noqa: E402
from netlib.sweeps.storage import STORAGE_ENV  # noqa: E402
from browser_server import browser, page, serving  # noqa: E402,F401
from browser_helpers import assert_clean, open_page, shot, wait_idle, wait_until  # noqa: E402,F401

SYNTHETIC = 128  # training digits per trial: a trial is about a second of training


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """browser_server's server, with the trials on synthetic digits; its sweep workers stopped at the end."""
    with serving(tmp_path_factory, "server_sweep", {launch.SYNTHETIC_ENV: str(SYNTHETIC), STORAGE_ENV: None}) as (
            server, _):
        yield server


def fill(page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


_PLOT_JS = """key => {
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    return gd && gd.layout ? {title: (gd.layout.title || {}).text || '', traces: (gd.data || []).length,
                              width: gd.getBoundingClientRect().width} : null;
}"""


@pytest.mark.browser  # about 25 s: no real MNIST, four one-second trials
def test_a_tiny_grid_from_the_form_to_optunas_figures(server, page):
    open_page(page, server, "sweep", "Sweep")
    expect(page.get_by_text("No sweeps yet")).to_be_visible()
    fill(page, "Sweep name", "tiny")
    fill(page, "Learning rate values", "0.01, 0.03")
    fill(page, "Batch sizes", "16, 32")
    fill(page, "Epochs", "1")
    fill(page, "Threads per trial (0: cores ÷ workers)", 1)
    expect(page.get_by_text("4 trials", exact=False).first).to_be_visible()
    expect(page.get_by_text("No measured speed for Residual")).to_be_visible()  # a fresh runs folder
    assert_clean(page, "the filled form")

    page.get_by_role("button", name="Start the sweep").click()
    wait_idle(page)
    expect(page.get_by_text("Sweep tiny created with 4 trials; 1 worker started here.")).to_be_visible()
    finished = page.get_by_text("4 of 4 trials finished")
    # the last poll reruns the whole page, whose new progress bar can briefly sit beside the fragment's old one
    expect(finished.first).to_be_visible(timeout=90_000)
    wait_idle(page)
    assert finished.count() == 1, "the sweep's progress is shown twice once it has ended"
    assert_clean(page, "the finished sweep")
    assert page.get_by_test_id("stDataFrame").count() == 1
    expect(page.get_by_text("Best trial:")).to_be_visible()

    page.get_by_role("tab", name="Parallel coordinates").click()
    plot = wait_until(page, lambda: (p := page.evaluate(_PLOT_JS, "sweep_fig_parallel")) and p["width"] > 0 and p,
                      "the parallel-coordinates figure", 30_000)
    assert "Parallel Coordinate Plot" in plot["title"] and plot["traces"] >= 1  # Streamlit bolds titles
    expect(page.locator(".st-key-sweep_fig_parallel").get_by_text("lr", exact=True).first).to_be_attached()
    shot(page, "sweep")
    assert_clean(page, "the figures")
