"""The browser side of scripts/bench_load.py: Draw-page sessions drawing at once, and first page renders."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # netlib, and the browser tests' way of drawing
from browser_server import CHROMIUM_ARGS, benign  # noqa: E402
from browser_helpers import CANVAS_PX, DIGIT_STYLES  # noqa: E402  (one way to draw)

from netlib.analysis.preprocess import BLANK_HINT  # noqa: E402
from netlib.analysis.strokes import digit_paths  # noqa: E402

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
MODELS = ("Inception", "Residual")  # the Draw page's metrics: "<Model> reads"
# The first table or chart of a page's own content (the sidebar has neither).
CONTENT = ('[data-testid="stMain"] .js-plotly-plot, [data-testid="stMain"] [data-testid="stDataFrame"], '
           '[data-testid="stMain"] [data-testid="stTable"]')

# In the page: a stroke's mouse-up time, then the first moment after it that the answer is new: the Draw
# page's hidden marker (.drawn-strokes) counts the strokes drawn so far, not stale, and both networks'
# metrics are fresh (or, for a drawing with a hint instead of an answer, a fresh alert once the run is
# over). Streamlit marks an element stale (data-stale="true") while a rerun has not yet sent it again;
# a loaded browser may paint a whole rerun at once and never show that, which the stroke count does not
# need. Both times are the page's own clock: what a person at that browser would see, whatever the load.
OBSERVER_JS = r"""() => {
  if (window.__bench) return;
  const b = window.__bench = {armed: null, results: {}};
  const main = () => document.querySelector('[data-testid="stMain"]') || document.body;
  const stale = el => { const c = el.closest('[data-testid="stElementContainer"]');
                        return !!c && c.getAttribute('data-stale') === 'true'; };
  const state = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const running = !app || app.getAttribute('data-test-script-state') !== 'notRunning';
    const metrics = [...main().querySelectorAll('[data-testid="stMetric"]')]
      .filter(e => / reads/.test(e.innerText));
    const alerts = [...main().querySelectorAll('[data-testid="stAlert"]')];
    if (metrics.length && metrics.every(e => !stale(e))) return 'fresh';
    if (!running && !metrics.length && alerts.some(e => !stale(e))) return 'fresh';
    return 'stale';
  };
  const counted = n => { const m = main().querySelector('.drawn-strokes');
                         return !!m && !stale(m) && m.getAttribute('data-strokes') === String(n); };
  const check = () => {
    const a = b.armed;
    if (!a || a.up === null) return;
    const s = state();
    if (a.stale === null && s === 'stale') a.stale = performance.now();
    if (s === 'fresh' && counted(a.strokes)) {
      b.results[a.id] = {up: a.up, stale: a.stale, shown: performance.now()};
      b.armed = null;
    }
  };
  window.__benchArm = (id, strokes) => { b.armed = {id, strokes, up: null, stale: null}; };
  document.addEventListener('mouseup', () => { if (b.armed && b.armed.up === null) b.armed.up = performance.now(); }, true);
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true,
    attributeFilter: ['data-stale', 'data-test-script-state']});
}"""


@dataclass
class SessionStats:
    """What one session saw: a latency per stroke (ms), errors by kind, digits read otherwise than drawn."""
    index: int
    load_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rerun_ms: list[float] = field(default_factory=list)  # mouse-up to the rerun's start (the canvas's debounce)
    errors: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    digits: int = 0
    misread: int = 0

    def error(self, kind: str, note: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        if len(self.notes) < 5:
            self.notes.append(f"session {self.index}: {kind}: {note[:300]}")


@dataclass
class Session:
    context: object
    page: object
    stats: SessionStats


async def launch(pw):
    return await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


async def new_page(browser, timeout_s: float, stats: SessionStats | None = None):
    """A fresh context (its own Streamlit session) and tab; page errors and console errors count."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(timeout_s * 1000)
    page = await context.new_page()
    if stats is not None:
        page.on("pageerror", lambda e: stats.error("page error", str(e)))
        page.on("console", lambda m: m.type == "error" and not benign(m.text, m.location.get("url", ""))
                and stats.error("console error", m.text))
    return context, page


async def open_draw(browser, url: str, index: int, timeout_s: float) -> Session:
    """A session on the Draw page, its canvas shown and its script idle."""
    stats = SessionStats(index)
    context, page = await new_page(browser, timeout_s, stats)
    t0 = time.perf_counter()
    await page.goto(f"{url}/draw")
    await page.locator("canvas.upper-canvas").last.wait_for(state="visible")
    await page.get_by_text(BLANK_HINT).first.wait_for(state="visible")
    await page.wait_for_selector(IDLE)
    stats.load_s = time.perf_counter() - t0
    await page.evaluate(OBSERVER_JS)
    return Session(context, page, stats)


async def draw_session(s: Session, digits: int, seed: int, timeout_s: float) -> None:
    """`digits` digits, each answered stroke by stroke, read, then cleared; small random pauses between."""
    rng = random.Random(seed)
    for _ in range(digits):
        await asyncio.sleep(rng.uniform(0.2, 1.0))  # a person looks, then draws the next one
        try:
            await draw_digit(s, rng.randrange(10), rng, timeout_s)
            await clear(s.page)
        except Exception as e:  # noqa: BLE001 - a timeout or a lost page is a measured error, not a crash
            s.stats.error("timeout" if "Timeout" in type(e).__name__ else "exception", str(e).splitlines()[0])
            await recover(s.page)


async def draw_digit(s: Session, digit: int, rng: random.Random, timeout_s: float) -> None:
    """Draw `digit` as tests/test_browser_draw.py does; time each stroke's answer; check the page and reading."""
    page, stats = s.page, s.stats
    c = page.locator("canvas.upper-canvas").last
    box = await c.bounding_box()
    sx, sy = box["width"] / CANVAS_PX, box["height"] / CANVAS_PX  # the element may be scaled
    strokes = digit_paths(digit, DIGIT_STYLES[digit], rng=np.random.default_rng(digit))
    for k, stroke in enumerate(strokes):
        sid = f"{stats.digits}.{k}"
        await page.evaluate("([id, n]) => window.__benchArm(id, n)", [sid, k + 1])
        await page.mouse.move(box["x"] + stroke[0][0] * sx, box["y"] + stroke[0][1] * sy)
        await page.mouse.down()
        for x, y in stroke[1:]:
            await page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=2)
        await page.mouse.up()
        try:
            got = await (await page.wait_for_function("id => window.__bench.results[id]", arg=sid,
                                                      polling=50, timeout=timeout_s * 1000)).json_value()
        except Exception:  # noqa: BLE001
            stats.error("timeout", f"no new answer within {timeout_s:.0f} s of stroke {k + 1} of "
                                   f"{len(strokes)} of a {digit}")
            await page.evaluate("() => { window.__bench.armed = null; }")
            continue
        stats.latencies_ms.append(got["shown"] - got["up"])
        if got["stale"] is not None:  # not seen when the browser painted the whole rerun at once
            stats.rerun_ms.append(got["stale"] - got["up"])
        if k < len(strokes) - 1:
            await asyncio.sleep(rng.uniform(0.05, 0.3))  # the pen lifted between strokes
    stats.digits += 1
    await page.wait_for_selector(IDLE)
    await check_page(page, stats, digit)


async def check_page(page, stats: SessionStats, digit: int) -> None:
    """After a digit: no exception or error on the page, and both networks' readings shown."""
    exc = page.locator('[data-testid="stException"]')
    if await exc.count():
        stats.error("exception on the page", await exc.first.inner_text())
    err = page.locator('[data-testid="stAlertContentError"]')
    if await err.count():
        stats.error("error on the page", await err.first.inner_text())
    reads = []
    for model in MODELS:
        value = page.get_by_test_id("stMetric").filter(has_text=f"{model} reads").get_by_test_id("stMetricValue")
        reads.append(await value.inner_text() if await value.count() else None)
    if None in reads:
        stats.error("wrong page state", f"no reading shown for a drawn {digit}: {reads}")
    elif any(r != str(digit) for r in reads):
        stats.misread += 1


async def clear(page) -> None:
    await page.get_by_role("button", name="Clear").click()
    await page.get_by_text(BLANK_HINT).first.wait_for(state="visible")
    await page.wait_for_selector(IDLE)


async def recover(page) -> None:
    """After an error: back to an empty canvas if the page still answers; the next digit goes on."""
    try:
        await page.evaluate("() => { if (window.__bench) window.__bench.armed = null; }")
        await clear(page)
    except Exception:  # noqa: BLE001 - counted already; a dead page counts again on the next digit
        pass


async def first_render(browser, url: str, path: str, title: str, timeout_s: float, context=None) -> dict:
    """A fresh session opening /path: seconds from goto to the heading, to the first chart or table, and
    to the script's end; plus any exception or error shown. context: a browser context to open a new tab
    in (its HTTP cache already holds the app's scripts); None: a new context, as a first-time visitor."""
    stats = SessionStats(-1)
    own = context is None
    if own:
        context, page = await new_page(browser, timeout_s, stats)
    else:
        page = await context.new_page()
        page.on("pageerror", lambda e: stats.error("page error", str(e)))
    out = {"page": path}
    try:
        t0 = time.perf_counter()
        await page.goto(f"{url}/{path}")
        await page.get_by_role("heading", name=title, exact=True).first.wait_for(state="visible")
        out["heading_s"] = time.perf_counter() - t0
        await page.locator(CONTENT).first.wait_for(state="visible")
        out["content_s"] = time.perf_counter() - t0
        await page.wait_for_selector(IDLE)
        out["idle_s"] = time.perf_counter() - t0
        if await page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count():
            stats.error("exception or error on the page", path)
    except Exception as e:  # noqa: BLE001
        stats.error("timeout" if "Timeout" in type(e).__name__ else "exception", str(e).splitlines()[0])
    finally:
        await page.close()
    out["errors"], out["notes"] = sum(stats.errors.values()), stats.notes
    return out, context


async def watch_train(browser, url: str, run_name: str, timeout_s: float):
    """A Train page watching the live run (the run trains "on the Train page"); its context, to close."""
    context, page = await new_page(browser, timeout_s)
    await page.goto(f"{url}/train")
    await page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=120_000)
    attached = await page.get_by_text(run_name).count() > 0
    return context, attached
