"""Tablets and phones (issue 14), in a real browser: a touch-emulated Chromium at a phone's width (390 px)
and a tablet's (768 px) draws digits on the Draw page with real touch events and gets them read; every
page fits the width (no sideways scroll, every control inside the screen) and the navigation opens.

Uses browser_server.py's server (`streamlit run app.py`, shipped checkpoints) and Chromium. Screenshots of
the Draw page go to artifacts/browser/draw_phone.png and draw_tablet.png.
"""

from __future__ import annotations

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.analysis.strokes import digit_paths  # noqa: E402
from browser_server import benign, browser, server  # noqa: E402,F401
from browser_helpers import (CANVAS_PX, DIGIT_STYLES, SHIPPED, assert_clean, canvas, misreadings,  # noqa: E402,F401
                             open_page, shot, wait_idle)

SCREENS = {"phone": {"width": 390, "height": 844}, "tablet": {"width": 768, "height": 1024}}
TOUCH_DIGITS = (1, 4, 7)  # one stroke, then the two-stroke forms of 4 and 7 (DIGIT_STYLES' variants)
PAGES = [("", "MNIST network lab"), ("train", "Train"), ("compare", "Compare"), ("runs", "Runs"),
         ("sweep", "Sweep"), ("inspect", "Inspect"), ("results", "Results"), ("draw", "Draw"), ("lessons", "Lessons")]

# Sideways overflow of the page, and the controls that reach past either edge of the screen (a control in
# a closed expander has no box and is not counted; a data grid scrolls inside itself and is no control).
_FITS_JS = """() => {
    const w = window.innerWidth, main = document.querySelector('[data-testid=stMain]');
    const kinds = ['stButton', 'stSelectbox', 'stNumberInput', 'stSlider', 'stRadio', 'stTextInput',
                   'stCheckbox', 'stToggle', 'stMultiSelect', 'stFileUploader', 'stDownloadButton'];
    const outside = [...document.querySelectorAll(kinds.map(k => `[data-testid=stMain] [data-testid=${k}]`).join(','))]
        .filter(e => e.getClientRects().length)
        .map(e => [e.getAttribute('data-testid'), e.innerText.split('\\n')[0].slice(0, 40), e.getBoundingClientRect()])
        .filter(([, , r]) => r.left < -1 || r.right > w + 1)
        .map(([kind, text, r]) => `${kind} "${text}" ${Math.round(r.left)}..${Math.round(r.right)}`);
    return {width: w, page: document.documentElement.scrollWidth, main: main ? main.scrollWidth : 0, outside};
}"""


@pytest.fixture(params=list(SCREENS))
def touch(request, browser):
    """(tab, CDP session, screen name): a fresh phone- or tablet-sized touch context, its own session."""
    context = browser.new_context(viewport=SCREENS[request.param], has_touch=True, is_mobile=True)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    tab.problems = []
    tab.on("console", lambda m: m.type == "error" and not benign(m.text, m.location.get("url", ""))
           and tab.problems.append(f"console error: {m.text}"))
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    yield tab, context.new_cdp_session(tab), request.param
    context.close()


def touch_stroke(cdp, points) -> None:
    """One finger down at the first point, moved through the rest (a midpoint between each two), lifted:
    Chromium's own touch input (Input.dispatchTouchEvent), as a touchscreen delivers it."""
    (x0, y0), moves = points[0], []
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        moves += [((ax + bx) / 2, (ay + by) / 2), (bx, by)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for x, y in moves:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def draw_by_touch(tab, cdp, digit: int) -> None:
    c = canvas(tab)
    c.scroll_into_view_if_needed()
    box = c.bounding_box()
    sx, sy = box["width"] / CANVAS_PX, box["height"] / CANVAS_PX
    for stroke in digit_paths(digit, DIGIT_STYLES[digit], rng=np.random.default_rng(digit)):
        touch_stroke(cdp, [(box["x"] + x * sx, box["y"] + y * sy) for x, y in stroke])


def fits(tab, where: str) -> None:
    got = tab.evaluate(_FITS_JS)
    assert got["page"] <= got["width"] + 1, f"{where}: the page scrolls sideways ({got['page']} px > {got['width']})"
    assert got["main"] <= got["width"] + 1, f"{where}: the main area scrolls sideways ({got['main']} px)"
    assert not got["outside"], f"{where}: controls outside the {got['width']} px screen: {got['outside']}"


@pytest.mark.browser
@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_draw_digits_by_touch(server, touch):
    tab, cdp, screen = touch
    open_page(tab, server, "draw", "Draw")
    c = canvas(tab)
    c.scroll_into_view_if_needed()
    box, width = c.bounding_box(), tab.viewport_size["width"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{screen}: the canvas {box} leaves the screen"
    seen = c.evaluate("""(el) => { let e = el.parentElement;  // the part of the canvas not clipped by a scroller
        for (; e; e = e.parentElement || (e.getRootNode() && e.getRootNode().host))
            if (getComputedStyle(e).overflowX !== 'visible') return e.clientWidth;
        return el.clientWidth; }""")
    assert seen >= CANVAS_PX, f"{screen}: only {seen} of the canvas's {CANVAS_PX} px are shown"
    assert c.evaluate("(el) => getComputedStyle(el).touchAction") == "none"  # a finger draws, never scrolls
    hint = tab.get_by_text("Draw a digit: the canvas is empty.")
    misread = {}
    for digit in TOUCH_DIGITS:
        draw_by_touch(tab, cdp, digit)
        misread.update(misreadings(tab, digit))
        wait_idle(tab)
        assert_clean(tab, f"{screen}: touch-drawn {digit}")
        fits(tab, f"{screen}: Draw with an answer")
        if digit == 4:
            shot(tab, f"draw_{screen}")
        tab.get_by_role("button", name="Clear").tap()
        expect(hint).to_be_visible()
        wait_idle(tab)
    assert not misread, f"{screen}: touch-drawn digits misread (digit, network): read as {misread}"


@pytest.mark.browser
def test_every_page_fits_a_phone_and_a_tablet(server, touch):
    tab, _, screen = touch
    for path, title in PAGES:
        open_page(tab, server, path, title)
        assert_clean(tab, f"{screen}: /{path}")
        fits(tab, f"{screen}: /{path}")
    # the navigation: on these screens the sidebar starts closed; a tap opens it, a link takes you there
    tab.get_by_test_id("stExpandSidebarButton").tap()
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name="Train").tap()
    expect(tab.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    wait_idle(tab)
    assert tab.url.rstrip("/").endswith("/train"), tab.url
    start = tab.get_by_role("button", name="Start training")
    start.scroll_into_view_if_needed()
    box = start.bounding_box()
    assert 0 <= box["x"] and box["x"] + box["width"] <= tab.viewport_size["width"], f"{screen}: Start at {box}"
    assert_clean(tab, f"{screen}: the sidebar's link to Train")
