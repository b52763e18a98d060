"""Screenshots of every page of the app (its page list, app_pages/_common.PAGES) into docs/screenshots/.

Starts a real `streamlit run app.py` on a free port and opens each page in Debian's Chromium (Playwright):
1400 px wide, the whole page; Draw with a digit drawn, also at a phone's (390 px) and a tablet's (768 px)
width. Runs come from $NETLIB_RUNS_DIR if set (Train opens the newest finished run that is no sweep
trial), else a fresh empty folder. Each PNG is reduced to 256 colours when that makes it smaller.
Usage: python scripts/take_screenshots.py [NAME ...]   (only those shots; default: all)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app_pages._common import PAGES  # noqa: E402  (after the repository is on the path)

OUT = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
WIDE, TALL, MAX_TALL = 1400, 900, 3000  # px: the viewport, and the most of a long page a shot keeps
CANVAS_PX = 280  # the Draw page's canvas in its own pixels (netlib.analysis.strokes' coordinates)


@dataclass(frozen=True)
class Shot:
    name: str  # docs/screenshots/NAME.png
    page: str  # a PAGES path
    title: str
    width: int = WIDE
    height: int = TALL
    touch: bool = False


def _stem(path: str) -> str:
    return Path(path).stem


# One shot per page of the app, named after its file; then Draw at a phone's and a tablet's width.
DRAW = next(p for p in PAGES if _stem(p.path) == "draw")
SHOTS = tuple(Shot(_stem(p.path), p.path, p.title) for p in PAGES) + (
    Shot("draw_phone", DRAW.path, DRAW.title, 390, 844, True),
    Shot("draw_tablet", DRAW.path, DRAW.title, 768, 1024, True),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs: Path) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free port, once it answers; its output in runs' parent."""
    port = _free_port()
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs), "PYTHONUNBUFFERED": "1"}
    log = open(runs.parent / "streamlit.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port",
                             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url, deadline = f"http://localhost:{port}", time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"streamlit ended: see {log.name}")
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
            return proc, url
        except OSError:
            time.sleep(0.25)  # polling a server that is starting: nothing to wait on but the socket
    proc.kill()
    sys.exit(f"streamlit did not answer within 120 s: see {log.name}")


def newest_done_run(runs: Path) -> str | None:
    from netlib.runs import reader

    done = [r for r in reader.list_runs(runs) if r.status == "done" and "sweep" not in r.config]  # a run of its own
    return max(done, key=lambda r: r.name).name if done else None


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Until Streamlit's script run is over and the page is connected, then a moment for charts to lay out."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms)
    page.wait_for_timeout(1500)  # Plotly draws after the script ends; nothing in the DOM says when it is done


def draw_digit(page, digit: int = 7) -> None:
    """A digit drawn with the mouse on the canvas, then until both networks' readings are there."""
    import numpy as np

    from netlib.analysis.strokes import Style, digit_paths

    canvas = page.locator("canvas.upper-canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    sx, sy = box["width"] / CANVAS_PX, box["height"] / CANVAS_PX
    for stroke in digit_paths(digit, Style(box=0.7), rng=np.random.default_rng(digit)):
        page.mouse.move(box["x"] + stroke[0][0] * sx, box["y"] + stroke[0][1] * sy)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=2)
        page.mouse.up()
    try:
        page.get_by_test_id("stMetric").filter(has_text="reads").first.wait_for(timeout=60_000)
    except Exception:  # the shot is still worth taking; say so rather than stop
        print("  (no reading within 60 s)")
    wait_idle(page)


def full_page(page, path: Path) -> None:
    """The whole page: Streamlit scrolls its main container, so the viewport grows to the content's height."""
    height = page.evaluate("""() => Math.max(document.documentElement.scrollHeight, ...[
        '[data-testid=stMain]', '[data-testid=stAppViewContainer]', '[data-testid=stMainBlockContainer]'
    ].map(s => document.querySelector(s)).filter(Boolean).map(e => { e.scrollTo(0, 0); return e.scrollHeight; }))""")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), MAX_TALL))})
    page.wait_for_timeout(800)  # the charts re-lay themselves out at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def shrink(path: Path) -> None:
    """256 colours when that is smaller (screenshots are mostly flat colour), saved optimised."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
    before = path.stat().st_size
    small = path.with_suffix(".small.png")
    im.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE).save(small, optimize=True)
    if small.stat().st_size < before:
        small.replace(path)
    else:
        small.unlink()


def take(browser, url: str, shot: Shot, run: str | None) -> Path:
    context = browser.new_context(viewport={"width": shot.width, "height": shot.height},
                                  has_touch=shot.touch, is_mobile=shot.touch)
    page = context.new_page()
    query = f"?run={run}" if run and shot.name == "train" else ""
    path = "" if shot.page == PAGES[0].path else _stem(shot.page)  # the first page is the app's root
    page.goto(f"{url}/{path}{query}")
    page.locator("h1").first.wait_for(timeout=120_000)  # the page's title (Home's is the lab's name)
    wait_idle(page)
    if shot.page == DRAW.path:
        draw_digit(page)
    out = OUT / f"{shot.name}.png"
    full_page(page, out)
    context.close()
    shrink(out)
    return out


def main(names: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    unknown = set(names) - {s.name for s in SHOTS}
    if unknown:
        print(f"unknown shots: {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in SHOTS)}")
        return 2
    given = os.environ.get("NETLIB_RUNS_DIR")
    runs = Path(given) if given else Path(tempfile.mkdtemp(prefix="screenshots-")) / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(runs)
    run = newest_done_run(runs)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for shot in (s for s in SHOTS if not names or s.name in names):
                t0 = time.perf_counter()
                out = take(browser, url, shot, run)
                print(f"{out.relative_to(REPO)}: {out.stat().st_size / 1024:.0f} KiB, {time.perf_counter() - t0:.0f} s")
            browser.close()
    finally:
        os.killpg(proc.pid, 15)  # the server and anything it started
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
