"""The dashboard in a real browser: `streamlit run app.py` driven by Playwright (Debian's chromium).

One server (a fresh runs folder) and one browser serve the whole module; every test opens its own tab.
The journeys a new user takes (issue 4):
  pages    every page loads inside app.py's frame, a cold deep link included
  draw     digits 0-9 drawn with the mouse are read by the shipped checkpoints; Clear; another checkpoint
  inspect  each network: the 88-channel Inception output, the 1408 / 512 flatten sizes, feature maps
  train    a short real-MNIST run: live chart and progress, a reload re-attaches, it finishes; then a
           long run paused, given a new learning rate, resumed and stopped
  compare  Train both: two live curves, then the table
  results  the confusion matrix and the misread-digit gallery; one digit opened in Inspect
After every step: no exception element, no error alert, no "Traceback", no browser console error.
Screenshots of every step go to artifacts/browser/ (scripts/refresh_screenshots.sh copies the README's).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.lab import catalogue, launch  # noqa: E402
from netlib.analysis.strokes import Style, digit_paths  # noqa: E402
from netlib.names import title  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHIPPED = [catalogue.shipped_checkpoint(m) for m in ("inception", "residual")]
CANVAS_PX = 280  # the Draw page's canvas, in its own pixels (digit_paths' coordinates)
LONG = 120_000  # ms: a generous ceiling for anything that involves training on 2 busy cores

expect.set_options(timeout=30_000)


# ---------------------------------------------------------------- the server and the browser
@dataclass
class Server:
    url: str
    runs: Path
    started_s: float  # from `streamlit run` to the first page served
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The direct children of pid (training processes the server started), from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is as good as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`streamlit run app.py` on a free port with a fresh runs folder; stopped, with its runs, at the end.
    Real MNIST (NETLIB_LAB_SYNTHETIC unset) and the shipped checkpoints."""
    with serving(tmp_path_factory, "server", {launch.SYNTHETIC_ENV: None, catalogue.CHECKPOINT_DIR_ENV: None}) as (
            server, proc):
        yield server
        assert not stop_server(proc), "training processes outlived the server"


@contextlib.contextmanager
def serving(tmp_path_factory, name: str, changes: dict):
    """(Server, its process): `streamlit run app.py` on a free port with a fresh runs folder and the
    environment's changes (None: unset), once it serves; stopped at the end. Its log: ARTIFACTS/NAME.log."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    runs = tmp_path_factory.mktemp(name) / "runs"
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **changes}
    env = {k: v for k, v in env.items() if v is not None}
    port, t0, log = _free_port(), time.perf_counter(), ARTIFACTS / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: stopped as a whole
    url = f"http://localhost:{port}"
    started = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                urllib.request.urlopen(url, timeout=5).read()
                started = time.perf_counter() - t0
                break
            except OSError:
                time.sleep(0.25)
        if started is None:
            raise AssertionError(f"streamlit did not serve within 60 s; see {log}:\n{log.read_text()[-3000:]}")
        yield Server(url, runs, started, log), proc
    finally:
        stop_server(proc)  # a second stop finds nothing left: the caller's check has run


@pytest.fixture(scope="module")
def browser(server):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab (its own Streamlit session) that records console errors and uncaught page errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    problems: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error" and not benign(msg.text, msg.location.get("url", "")):
            problems.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    tab.on("console", on_console)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.problems = problems
    yield tab
    context.close()


# ---------------------------------------------------------------- helpers
def benign(text: str, url: str) -> bool:
    """Two failed resource loads that Streamlit itself causes on every page, and nothing else:
    - on a page URL like /draw the frontend first probes /draw/_stcore/health and /draw/_stcore/host-config
      (in case /draw is the server's base path), gets 404, then uses /_stcore/...: the app works;
    - the favicon of page_icon=":material/neurology:" is fetched from fonts.gstatic.com, which an offline
      machine (this one, CI) cannot resolve: only the tab icon is missing.
    Any other console error, failed load or uncaught page error fails the test."""
    if not text.startswith("Failed to load resource"):
        return False
    if re.fullmatch(r"https?://[^/]+/[^/]+/_stcore/(health|host-config)", url) and "404" in text:
        return True
    return url.startswith("https://fonts.gstatic.com/s/i/") and "ERR_NAME_NOT_RESOLVED" in text


def stop_server(proc: subprocess.Popen) -> list[int]:
    """Stop a `streamlit run` and what it started; the pids still alive after 10 s. Training processes
    and sweep workers run in sessions of their own (they must survive a page reload): they go first,
    then the server's process group."""
    kids = _children(proc.pid)
    for pid in kids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in kids if _alive(p)]


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
    assert exc.count() == 0, f"/{path}: exception on the page (see {ARTIFACTS}/server.log): {exc.first.inner_text()[:500]}"
    expect(heading).to_be_visible()


def assert_clean(page, where: str) -> None:
    """Journey 5: nothing a person should never see."""
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, f"{where}: exception on the page (see {ARTIFACTS}/server.log): {exc.first.inner_text()[:500]}"
    err = page.locator('[data-testid="stAlertContentError"]')
    assert err.count() == 0, f"{where}: error message on the page: {err.first.inner_text()[:2000]}"
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, f"{where}: a traceback is shown"
    assert not page.problems, f"{where}: {page.problems}"


# Plotly keeps a trace's x either as an array or, for numpy data, as {dtype, bdata} (base64): count both.
_TRACES_JS = """([key, withText]) => {
    const size = {f8: 8, f4: 4, i4: 4, u4: 4, i2: 2, u2: 2, i1: 1, u1: 1, u1c: 1};
    const n = v => !v ? 0 : v.length !== undefined ? v.length
        : v.bdata ? atob(v.bdata).length / (size[v.dtype] || 8) : 0;
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    const traces = gd && gd.data ? gd.data.map(t => ({name: t.name || '', xaxis: t.xaxis || 'x', n: n(t.x)})) : [];
    return withText ? {traces, text: document.body.innerText} : traces;
}"""


def plot_traces(page, key: str) -> list[dict]:
    """The traces (name, xaxis, n points) of the Plotly chart with widget key `key`, as the browser has them."""
    return page.evaluate(_TRACES_JS, [key, False])


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


# ---------------------------------------------------------------- 5. every page
PAGES = [("train", "Train"), ("", "MNIST network lab"), ("compare", "Compare"), ("inspect", "Inspect"),
         ("results", "Results"), ("draw", "Draw")]


@pytest.mark.browser
def test_every_page_loads_in_the_frame(server, page):
    print(f"first page served {server.started_s:.1f} s after `streamlit run`")
    assert server.started_s < 30
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


def write_untrained_run(runs: Path, model: str) -> str:
    """A finished run whose checkpoint holds untrained (seeded random) weights: a checkpoint to switch to."""
    from support import untrained_run

    return untrained_run(runs, f"20000101-000000-{model}-untrained-001", model).name


@pytest.mark.browser
@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_draw_digits_with_the_mouse(server, page):
    untrained = write_untrained_run(server.runs, "inception")  # a second inception checkpoint to pick
    try:
        open_page(page, server, "draw", "Draw")
        hint = page.get_by_text("Draw a digit: the canvas is empty.")
        expect(hint).to_be_visible()
        assert_clean(page, "draw, empty")
        misread = {}
        for digit, style in DIGIT_STYLES.items():
            strokes = draw(page, digit, style)
            misread.update(misreadings(page, digit))
            # the page's hidden count of the strokes its answers come from (benchmarks wait on it)
            expect(page.locator(".drawn-strokes")).to_have_attribute("data-strokes", str(strokes))
            wait_idle(page)
            assert_clean(page, f"draw {digit}")
            shot(page, f"draw_{digit}", full_page=False)
            if digit == 5:
                shot(page, "draw")
            page.get_by_role("button", name="Clear").click()
            expect(hint).to_be_visible()  # the hint comes back
            expect(page.get_by_test_id("stMetric")).to_have_count(0)
            wait_idle(page)
        assert not misread, f"digits misread (digit, network): read as {misread}"

        # switch the Inception checkpoint: the same drawing, another answer
        draw(page, 3, DIGIT_STYLES[3])
        inception = reading(page, "Inception")
        expect(inception.get_by_test_id("stMetricValue")).to_have_text("3", timeout=20_000)
        wait_idle(page)
        before = inception.inner_text()
        residual_before = reading(page, "Residual").inner_text()
        page.get_by_label("Inception checkpoint", exact=True).click()
        page.get_by_role("option", name=re.compile(untrained)).click()
        expect(inception).not_to_have_text(before, timeout=30_000)
        wait_idle(page)
        assert reading(page, "Residual").inner_text() == residual_before  # only the switched one changed
        assert_clean(page, "draw, untrained inception checkpoint")
        shot(page, "draw_switched")
    finally:
        import shutil

        shutil.rmtree(server.runs / untrained, ignore_errors=True)


# ---------------------------------------------------------------- 4. inspect
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


# ---------------------------------------------------------------- 2. train
@pytest.mark.browser
def test_train_watch_reload_finish_and_stop(server, page):
    open_page(page, server, "train", "Train")
    expect(page.get_by_text("No run in progress")).to_be_visible()
    page.get_by_test_id("stRadio").filter(has_text="Recipe").get_by_text("custom", exact=True).click()
    wait_idle(page)
    set_number(page, "Epochs", 2)
    page.get_by_test_id("stExpander").filter(has_text="Data, seed and device").locator("summary").click()
    set_number(page, "Training images (0 = all 60,000)", 6000)
    assert_clean(page, "train settings")
    known = {p.name for p in server.runs.glob("*")} if server.runs.is_dir() else set()
    page.get_by_role("button", name="Start training").click()
    run = new_runs(server, known, 1)[0]

    # live: the loss chart gains points and the bar moves
    wait_until(page, lambda: plot_points(page, "loss_chart") > 0, "the loss chart's first points")
    first_points, first_progress = plot_points(page, "loss_chart"), progress_value(page)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text(run.name, exact=True)).to_be_visible()  # listed as live
    shot(page, "train_live")

    # a reload mid-run: a new session re-attaches to the live run
    assert run_status(run) == "running", "the run ended before the reload: make it longer"
    page.reload()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text(run.name).first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("progressbar")).to_be_visible()
    assert_clean(page, "train, reloaded mid-run")
    shot(page, "train_reloaded")
    wait_until(page, lambda: plot_points(page, "loss_chart") > first_points, "the loss chart to gain points")
    wait_until(page, lambda: progress_value(page) > first_progress, "the progress bar to move")
    shot(page, "train")

    # it finishes
    expect(page.get_by_text(re.compile(r"Done: test accuracy \d+\.\d\d% after 2 epoch"))).to_be_visible(
        timeout=LONG)
    assert run_status(run) == "done"
    assert progress_value(page) == 100
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    wait_idle(page)
    assert_clean(page, "train, done")
    shot(page, "train_done")

    # a long run, stopped: the reload began a fresh session, so the settings are the defaults again
    # (fast recipe, 5 epochs of all 60,000 images)
    expect(page.get_by_test_id("stRadio").filter(has_text="Recipe").locator("input[type=radio]").first).to_be_checked()
    known.add(run.name)
    page.get_by_role("button", name="Start training").click()
    long_run = new_runs(server, known, 1)[0]

    # steer it (issue 6): pause, a new learning rate while paused, resume
    wait_until(page, lambda: plot_points(page, "loss_chart") > 0, "the long run's first points")
    page.get_by_role("button", name="Pause").click(timeout=LONG)
    wait_until(page, lambda: run_status(long_run) == "paused", "the run to pause", 60_000)
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    held = len(run_events(long_run, "batch"))
    page.wait_for_timeout(1500)
    assert len(run_events(long_run, "batch")) == held, "batches trained while paused"
    assert_clean(page, "train, paused")
    shot(page, "train_paused")
    set_number(page, "Learning rate", 0.0005)
    page.get_by_role("button", name="Set rate").click()
    page.get_by_role("button", name="Resume").click()
    wait_until(page, lambda: len(run_events(long_run, "batch")) > held, "training to go on after Resume")
    (change,) = run_events(long_run, "lr_change")
    assert change["to"] == 0.0005 and run_events(long_run, "batch")[-1]["lr"] == 0.0005
    assert len(run_events(long_run, "pause")) == 1 and len(run_events(long_run, "resume")) == 1
    steered = plot_points(page, "loss_chart")
    wait_until(page, lambda: plot_points(page, "loss_chart") > steered, "the chart to go on after Resume")
    assert_clean(page, "train, steered")
    shot(page, "train_steered")
    page.get_by_role("button", name="Stop").click(timeout=LONG)
    expect(page.get_by_text(re.compile(r"Stopped by request in epoch \d+\. (No epoch had finished|The last finished epoch)"))).to_be_visible(
        timeout=60_000)
    assert run_status(long_run) == "stopped"
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    wait_idle(page)
    assert_clean(page, "train, stopped")
    shot(page, "train_stopped")


# ---------------------------------------------------------------- 3. compare
@pytest.mark.browser
def test_compare_train_both(server, page):
    open_page(page, server, "compare", "Compare")
    set_number(page, "Epochs", 2)
    set_number(page, "Training images (0 = all)", 6000)
    assert_clean(page, "compare settings")
    known = {p.name for p in server.runs.glob("*")} if server.runs.is_dir() else set()
    page.get_by_role("button", name="Train both").click()
    pair = new_runs(server, known, 2)
    assert {run.name.split("-")[2] for run in pair} == {"inception", "residual"}

    # two live curves: both runs' loss lines on the chart while the runs are still going
    def two_live_curves():
        seen = page.evaluate(_TRACES_JS, ["compare_chart", True])
        live = re.search(r"(inception|residual): epoch \d+/\d+", seen["text"])
        losses = {t["name"] for t in seen["traces"] if t["xaxis"] == "x2" and t["n"] > 1}
        return live and len(losses) == 2

    wait_until(page, two_live_curves, "both runs' loss curves while they train")
    assert_clean(page, "compare, live")
    shot(page, "compare_live")

    # both finish; the picker holds the pair and the table has a row for each
    picker = page.get_by_test_id("stMultiSelect")
    for run in pair:  # named like 20261128-063702-residual-fast-260; labelled "Residual · ... · 06:37:02 (done)"
        day, hms, model = run.name.split("-")[:3]
        when = f"{hms[:2]}:{hms[2:4]}:{hms[4:]}"
        expect(picker).to_contain_text(re.compile(rf"{title(model)} · [^·]+ · {when} \(done\)"), timeout=LONG)
    expect(picker).not_to_contain_text("(running)")
    wait_idle(page)
    assert all(run_status(r) == "done" for r in pair)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    rows = table_rows(page)
    assert len(rows) == 2 and {r[1] for r in rows} == {"Inception", "Residual"}, rows
    assert all(re.fullmatch(r"\d+\.\d\d%", r[9]) for r in rows), rows  # best test acc filled in
    # the accuracy panel: one point per epoch for each run
    assert sorted(t["n"] for t in plot_traces(page, "compare_chart") if t["xaxis"] == "x") == [2, 2]
    assert_clean(page, "compare, done")
    shot(page, "compare")


def table_rows(page) -> list[list]:
    """The first st.dataframe's body cells, from the grid's accessible table (it draws on a canvas). Each
    cell sits at its aria-colindex: a column the grid has not rendered yet is a None, never a shift."""
    return page.evaluate(
        """() => {
            const grid = document.querySelector('[data-testid="stDataFrame"] table[role=grid]');
            if (!grid) return [];
            const at = (td, i) => { const c = parseInt(td.getAttribute('aria-colindex')); return isNaN(c) ? i : c; };
            const rows = [...grid.querySelectorAll('tr')].map(tr => [...tr.querySelectorAll('td')]).filter(r => r.length);
            const first = Math.min(...rows.map(r => at(r[0], 0)));
            return rows.map(r => { const out = [];
                r.forEach((td, i) => { out[at(td, i + first) - first] = td.textContent.trim(); });
                return Array.from(out, v => v === undefined ? null : v); });
        }""")
