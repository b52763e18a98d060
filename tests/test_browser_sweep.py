"""The Sweep page in a real browser: fill the form for a tiny grid (synthetic digits), start it, watch the
page's own worker finish every trial, and see Optuna's parallel-coordinates figure.

A server of its own (`streamlit run app.py` on a free port, a fresh runs folder) with NETLIB_LAB_SYNTHETIC
set, so the trials train on a few synthetic digits; test_browser.py's browser and tab fixtures use it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.lab import launch  # noqa: E402
from netlib.sweeps.storage import STORAGE_ENV  # noqa: E402
from test_browser import (APP, ARTIFACTS, CHROMIUM, REPO, Server, _free_port, assert_clean, browser,  # noqa: E402
                          open_page, page, shot, stop_server, wait_idle, wait_until)  # noqa: F401

SYNTHETIC = 128  # training digits per trial: a trial is about a second of training


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """test_browser's server, with the trials on synthetic digits; its sweep workers stopped at the end."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    runs = tmp_path_factory.mktemp("browser_sweep") / "runs"
    port, log = _free_port(), ARTIFACTS / "server_sweep.log"
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
           launch.SYNTHETIC_ENV: str(SYNTHETIC)}
    env.pop(STORAGE_ENV, None)
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
                                 "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(f"streamlit did not serve within 60 s; see {log}") from None
                time.sleep(0.25)
        yield Server(url, runs, time.perf_counter() - t0, log)
    finally:
        stop_server(proc)  # and the sweep workers it started


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
