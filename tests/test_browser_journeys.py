"""A new user's journeys in a real browser (issue 29): Clear between digits never loses the next digit, even
with several people drawing on a loaded server; Train's empty state and a run's link; what a view's link
carries. (browser_server.py's server and Chromium.)
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401  (the fixtures)
from browser_helpers import (CANVAS_PX, DIGIT_STYLES, SHIPPED, assert_clean, canvas, open_page,  # noqa: E402
                             wait_idle)
from netlib.analysis.strokes import digit_paths  # noqa: E402

VISITORS = 3  # people drawing at once, each in their own browser context (a Streamlit session each)
ROUNDS = ((7, 1),)  # each visitor draws the first digit, then clicks Clear and at once draws the second
LATE_MS = 1000  # what the server says reaches these browsers this late: a busy server, or a slow link
# Every message from the server is handed to the page LATE_MS after it came (in order), as Streamlit's
# websocket listener would get it from a server that answers late.
LATE_JS = """(() => {
    const add = WebSocket.prototype.addEventListener;
    WebSocket.prototype.addEventListener = function (type, listener, options) {
        if (type !== 'message') return add.call(this, type, listener, options);
        return add.call(this, type, (e) => setTimeout(() => listener.call(this, e), %d), options);
    };
})();""" % LATE_MS


@pytest.fixture
def cpu_load():
    """A process spinning on one core while the test runs: the server answers late, as on a busy machine."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    yield proc
    proc.kill()
    proc.wait()


def draw_now(tab, box: dict, digit: int) -> int:
    """Draw `digit` with the mouse where the canvas is, as a person does: without waiting for the page to
    settle first (browser_helpers.draw waits for the canvas to hold still). The number of strokes."""
    import numpy as np

    strokes = digit_paths(digit, DIGIT_STYLES[digit], rng=np.random.default_rng(digit))
    scale = box["width"] / CANVAS_PX
    for stroke in strokes:
        tab.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        tab.mouse.down()
        for x, y in stroke[1:]:
            tab.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=2)
        tab.mouse.up()
    return len(strokes)


def answered(tab, strokes: int) -> None:
    """The page's answers are this drawing's: both networks read it, from all of its strokes."""
    tab.wait_for_function("""(n) => {
        const count = document.querySelector('.drawn-strokes');
        return count && count.dataset.strokes === String(n)
            && document.querySelectorAll('[data-testid="stMetric"]').length === 2;
    }""", arg=strokes, timeout=20_000)


@pytest.mark.browser
@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_a_digit_drawn_right_after_clear_is_never_erased_by_it(server, browser, cpu_load):
    """Issue 29, 11: several people draw at once, each clicking Clear and drawing the next digit at once,
    while the server is loaded and its answers reach the browsers late; every drawing gets its answer (the
    Clear empties the canvas in the browser before the next stroke, never after it)."""
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(VISITORS)]
    try:
        for c in contexts:
            c.add_init_script(LATE_JS)
        tabs = [c.new_page() for c in contexts]
        for tab in tabs:  # the visitors come at once: each page loads while the others do
            tab.problems = []
            tab.on("pageerror", lambda e, seen=tab.problems: seen.append(f"page error: {e}"))
            tab.goto(f"{server.url}/draw")
        for tab in tabs:
            expect(tab.get_by_role("heading", name="Draw", exact=True)).to_be_visible(timeout=60_000)
            wait_idle(tab)
        boxes, clears = [], []
        for tab in tabs:
            canvas(tab).scroll_into_view_if_needed()
            boxes.append(canvas(tab).bounding_box())
            clears.append(tab.get_by_role("button", name="Clear", exact=True).bounding_box())
        for before, after in ROUNDS:
            for tab, box in zip(tabs, boxes):
                answered(tab, draw_now(tab, box, before))
            drawn = []
            for tab, box, clear in zip(tabs, boxes, clears):  # Clear, and the next digit at once
                tab.mouse.click(clear["x"] + clear["width"] / 2, clear["y"] + clear["height"] / 2)
                drawn.append(draw_now(tab, box, after))
            for i, (tab, strokes) in enumerate(zip(tabs, drawn)):
                answered(tab, strokes)
                assert_clean(tab, f"visitor {i}: {after} drawn right after Clear")
    finally:
        for c in contexts:
            c.close()


@pytest.mark.browser
def test_train_points_to_runs_and_a_run_link_fills_the_form(server, page):
    """Issue 29, 8: Train's empty state names Runs (the notebook); a link ?run=NAME shows that run on the
    right and its network and settings in the form on the left, which says it starts a new run."""
    from support import write_run

    open_page(page, server, "train", "Train")
    expect(page.get_by_text("Finished runs are in the notebook on the Runs page")).to_be_visible()
    run = write_run(server.runs, "20260101-000000-plain-seed-029", "plain", 1000, recipe_name="seed",
                    model_kwargs={"blocks": 3}, seed=4)
    try:
        open_page(page, server, f"train?run={run.name}", "Train")
        expect(page.get_by_role("combobox", name="Network")).to_have_value("Plain")
        expect(page.get_by_label("Blocks per stage", exact=True)).to_have_value("3")
        expect(page.get_by_text(f"filled in from {run.name}")).to_be_visible()
        expect(page.get_by_text(run.name, exact=True)).to_be_visible()  # the run itself, on the right
        assert_clean(page, "train opened with a run's link")
    finally:
        import shutil

        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.browser
def test_each_view_link_carries_its_state_or_says_what_it_leaves_out(server, page):
    """Issue 29, 9: Draw's link says it does not carry the drawing; Runs' link carries its filters; Home,
    with nothing to set, has no link."""
    from netlib.runs import manage
    from support import write_run

    runs = [write_run(server.runs, f"20260101-00000{i}-residual-fast-{i:03d}", "residual", 1000) for i in (1, 2)]
    try:
        manage.add_tags(server.runs, runs[0].name, ["baseline"])
        sidebar = page.get_by_test_id("stSidebar")
        open_page(page, server, "draw", "Draw")
        sidebar.get_by_text("Link to this view").click()
        expect(sidebar).to_contain_text("It does not carry the drawing")
        open_page(page, server, "runs?tag=baseline", "Runs")
        expect(page.get_by_text("1 of 2 runs shown")).to_be_visible()
        sidebar.get_by_text("Link to this view").click()
        expect(sidebar.get_by_test_id("stCode")).to_contain_text("/runs?tag=baseline")
        assert_clean(page, "runs opened with a link")
        open_page(page, server, "", "MNIST network lab")
        expect(sidebar.get_by_text("Link to this view")).to_have_count(0)
    finally:
        import shutil

        for run in runs:
            shutil.rmtree(run, ignore_errors=True)
