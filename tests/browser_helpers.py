"""What the browser tests do on a page: wait for Streamlit to be idle, open a page, check that nothing
a person should never see is there, read Plotly traces and the grid's cells, take screenshots, draw a
digit with the mouse, and read a run's files as the page writes them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import ARTIFACTS, Server  # noqa: E402
from netlib.analysis.strokes import Style, digit_paths  # noqa: E402
from netlib.lab import catalogue  # noqa: E402

SHIPPED = [catalogue.shipped_checkpoint(m) for m in ("inception", "residual")]
CANVAS_PX = 280  # the Draw page's canvas, in its own pixels (digit_paths' coordinates)
LONG = 120_000  # ms: a generous ceiling for anything that involves training on 2 busy cores


def shot(page, name: str, full_page: bool = True) -> None:
    """A screenshot to artifacts/browser/NAME.png. Streamlit scrolls inside its main container, not the
    document, so a full page means: scroll that to the top and grow the viewport to the content's height."""
    if not full_page:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        return
    height = page.evaluate("""() => Math.max(document.documentElement.scrollHeight, ...[
        '[data-testid=stMain]', '[data-testid=stAppViewContainer]', '[data-testid=stMainBlockContainer]'
    ].map(s => document.querySelector(s)).filter(Boolean).map(e => { e.scrollTo(0, 0); return e.scrollHeight; }))""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), 4000))})
    page.wait_for_timeout(600)  # let the charts re-lay themselves out
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(size)


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Until the script run is over (Streamlit marks the app 'notRunning') and the page is connected."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_timeout(300)


def open_page(page, server: Server, path: str, title: str, idle: bool = True) -> None:
    page.goto(f"{server.url}/{path}")
    heading = page.get_by_role("heading", name=title, exact=True).first
    exc = page.locator('[data-testid="stException"]')
    expect(heading.or_(exc).first).to_be_visible(timeout=60_000)  # the page, or why it is not there
    if idle:
        wait_idle(page)
    assert exc.count() == 0, f"/{path}: exception on the page (see the server's log in {ARTIFACTS}): {exc.first.inner_text()[:500]}"
    expect(heading).to_be_visible()


def assert_clean(page, where: str) -> None:
    """Journey 5: nothing a person should never see."""
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, f"{where}: exception on the page (see the server's log in {ARTIFACTS}): {exc.first.inner_text()[:500]}"
    err = page.locator('[data-testid="stAlertContentError"]')
    assert err.count() == 0, f"{where}: error message on the page: {err.first.inner_text()[:2000]}"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, f"{where}: a traceback is shown"
    assert not page.problems, f"{where}: {page.problems}"


# Plotly keeps a trace's x either as an array or, for numpy data, as {dtype, bdata} (base64): count both.
TRACES_JS = """([key, withText]) => {
    const size = {f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1, u1c: 1};
    const n = v => !v ? 0 : v.length !== undefined ? v.length
        : v.bdata ? atob(v.bdata).length / (size[v.dtype] || 8) : 0;
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    const traces = gd && gd.data ? gd.data.map(t => ({name: t.name || '', xaxis: t.xaxis || 'x', n: n(t.x)})) : [];
    return withText ? {traces, text: document.body.innerText} : traces;
}"""


def plot_traces(page, key: str) -> list[dict]:
    """The traces (name, xaxis, n points) of the Plotly chart with widget key `key`, as the browser has them."""
    return page.evaluate(TRACES_JS, [key, False])


def plot_points(page, key: str) -> int:
    return sum(t["n"] for t in plot_traces(page, key))


def wait_until(page, condition, what: str, timeout_ms: int = LONG):
    """Poll condition() (Python, reading the page) until it is truthy; return its value."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_ms / 1000:.0f} s waiting for {what}")
        page.wait_for_timeout(250)


def progress_value(page) -> float:
    bar = page.get_by_role("progressbar").first
    value = bar.get_attribute("aria-valuenow")
    return float(value) if value is not None else -1.0


def set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    expect(box).to_have_value(str(value))
    wait_idle(page)


def new_runs(server: Server, known: set[str], n: int, timeout: float = 60) -> list[Path]:
    """The n run folders that appear under the runs folder, besides `known`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(p for p in server.runs.glob("*") if p.is_dir() and p.name not in known) \
            if server.runs.is_dir() else []
        if len(found) >= n:
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {n} new run folder(s) under {server.runs}")


def run_events(run_dir: Path, kind: str) -> list[dict]:
    """The run's metrics.jsonl events of one kind (a line being written is skipped)."""
    out = []
    try:
        lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == kind:
            out.append(event)
    return out


def run_status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "status.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- 1. draw
# One style per digit: sizes from a third to four fifths of the canvas, off-centre, slanted, rotated,
# trembling, and the second form of 1, 4, 5 and 7 (flag, open top, one stroke, crossed).
DIGIT_STYLES = {
    0: Style(box=0.70),
    1: Style(box=0.55, offset=(-0.15, -0.10), variant=1),
    2: Style(box=0.80, slant=0.15),
    3: Style(box=0.45, offset=(0.18, 0.15), rotation=-8),
    4: Style(box=0.65, jitter=1.0, variant=1),
    5: Style(box=0.60, offset=(-0.10, 0.12), slant=-0.1, variant=1),
    6: Style(box=0.75, rotation=6, aspect=0.9),
    7: Style(box=0.55, offset=(0.12, -0.12), variant=1),
    8: Style(box=0.70, aspect=0.85, jitter=0.8),
    9: Style(box=0.50, offset=(0.10, 0.05), slant=0.2),
}


def canvas(page):
    # the drawing component: fabric.js draws on its top canvas, the one that takes the mouse
    return page.locator("canvas.upper-canvas").last


def draw(page, digit: int, style: Style) -> int:
    """Draw `digit` stroke by stroke with the mouse; the number of strokes."""
    c = canvas(page)
    c.scroll_into_view_if_needed()
    box = c.bounding_box()
    sx, sy = box["width"] / CANVAS_PX, box["height"] / CANVAS_PX  # the element may be scaled
    strokes = digit_paths(digit, style, rng=np.random.default_rng(digit))
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0 * sx, box["y"] + y0 * sy)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=2)
        page.mouse.up()
    return len(strokes)


def reading(page, model: str):
    return page.get_by_test_id("stMetric").filter(has_text=f"{model} reads")


def misreadings(page, digit: int) -> dict:
    """{(digit, network): what it shows} for each network that does not come to read `digit`."""
    wrong = {}
    for model in ("Inception", "Residual"):
        value = reading(page, model).get_by_test_id("stMetricValue")
        try:  # a multi-stroke digit is read after each stroke: wait for the whole digit's answer
            expect(value).to_have_text(str(digit), timeout=45_000)  # a loaded 2-core CI machine is slow
        except AssertionError:
            shown = value.inner_text() if value.count() else None
            if shown != str(digit):  # the answer came just after the wait: right, only late
                wrong[(digit, model)] = shown
    return wrong


def table_rows(page) -> list[list]:
    """The first st.dataframe's body cells, from the grid's accessible table (it draws on a canvas); none
    while that grid has not drawn it yet. Each cell sits at its aria-colindex: a column the grid has not
    rendered yet is a None, never a shift."""
    return page.evaluate(
        """() => {
            // the first grid's own table: a later grid's may be drawn sooner, and is not the one asked for
            const frame = document.querySelector('[data-testid="stDataFrame"]');
            const grid = frame && frame.querySelector('table[role=grid]');
            if (!grid) return [];
            const at = (td, i) => { const c = parseInt(td.getAttribute('aria-colindex')); return isNaN(c) ? i : c; };
            const rows = [...grid.querySelectorAll('tr')].map(tr => [...tr.querySelectorAll('td')]).filter(r => r.length);
            const first = Math.min(...rows.map(r => at(r[0], 0)));
            return rows.map(r => { const out = [];
                r.forEach((td, i) => { out[at(td, i + first) - first] = td.textContent.trim(); });
                return Array.from(out, v => v === undefined ? null : v); });
        }""")
