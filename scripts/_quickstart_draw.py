"""The quick start's browser steps (scripts/bench_quickstart.sh): Home, Draw, a 7 drawn, the Residual picker.

Usage: python scripts/_quickstart_draw.py URL [--expect-run]   (prints each step's seconds, what both networks
read and the Residual checkpoint choices; --expect-run: exit 1 unless a trained run is among them)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from netlib.analysis.strokes import Style, digit_paths  # noqa: E402  (the repo on the path first)

WAIT_MS = 300_000


def draw_seven(page) -> None:
    """A 7 in the stroke renderer's hand, drawn with the mouse on Draw's canvas (280 px wide)."""
    canvas = page.locator("canvas.upper-canvas").last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    scale = box["width"] / 280
    for stroke in digit_paths(7, Style(box=0.7), rng=np.random.default_rng(7)):
        page.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale, steps=2)
        page.mouse.up()


def main(url: str, expect_run: bool = False) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        t = time.perf_counter()
        page.goto(url + "/")
        page.get_by_role("heading", name="MNIST network lab").first.wait_for(timeout=WAIT_MS)
        print(f"    Home: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        page.get_by_role("link", name="Draw").first.click()
        page.locator("canvas.upper-canvas").last.wait_for(timeout=WAIT_MS)
        print(f"    Draw: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        draw_seven(page)
        read = page.get_by_test_id("stMetric").filter(has_text="reads")
        read.first.wait_for(timeout=WAIT_MS)
        texts = [" ".join(m.split()) for m in read.all_inner_texts()]
        print(f"    a 7 drawn until read: {time.perf_counter() - t:.1f} s: {texts}")
        page.get_by_label("Residual checkpoint").first.click()
        choices = page.get_by_role("option").all_inner_texts()
        print(f"    Residual checkpoint choices: {choices}")
        browser.close()
    if expect_run and not any(c.startswith("run ") for c in choices):
        raise SystemExit("the trained run is not among Draw's Residual checkpoints")


if __name__ == "__main__":
    main(sys.argv[1], "--expect-run" in sys.argv[2:])
