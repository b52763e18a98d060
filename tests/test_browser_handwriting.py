"""Teaching a network your handwriting in a real browser: a small set collected by drawing with the mouse on
the Handwriting page, a fine-tuning run started there, and a held-out drawing read on Draw with the new
checkpoint. (browser_server.py's server and Chromium; screenshots to artifacts/browser/.)"""

from __future__ import annotations

import dataclasses
import re

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401  (the fixtures)
from browser_helpers import (DIGIT_STYLES, LONG, SHIPPED, assert_clean, draw, new_runs, open_page,  # noqa: E402
                             reading, run_status, shot, wait_idle, wait_until)

DIGITS = (1, 7)  # the shipped networks read both when drawn as DIGIT_STYLES draws them
K = 3  # the least a collection asks for: the second drawing of each digit is held out


def style(digit: int, i: int):
    """The i-th drawing of a digit: DIGIT_STYLES' style, a little larger each time (a hand is never the same twice)."""
    base = DIGIT_STYLES[digit]
    return dataclasses.replace(base, box=base.box + 0.05 * i)


def collect(page) -> None:
    """Start a set named 'mouse' of DIGITS, K of each, and draw every prompt with the mouse, then Keep."""
    page.get_by_label("Set name", exact=True).fill("mouse")  # a form: nothing is sent before Start
    page.get_by_label("Examples per digit", exact=True).fill(str(K))
    pills = page.get_by_test_id("stButtonGroup")
    for d in set(range(10)) - set(DIGITS):  # all ten are chosen at first: unchoose the rest
        pills.get_by_role("button", name=str(d), exact=True).click()
    page.get_by_role("button", name="Start collecting").click()
    drawn = {d: 0 for d in DIGITS}
    for _ in range(len(DIGITS) * K):
        heading = page.get_by_role("heading", name=re.compile(r"^Draw a \d$"))
        expect(heading).to_be_visible()
        wait_idle(page)
        digit = int(heading.inner_text()[-1])
        strokes = draw(page, digit, style(digit, drawn[digit]))
        expect(page.locator(".drawn-strokes")).to_have_attribute("data-strokes", str(strokes))  # all of it
        wait_idle(page)
        page.get_by_role("button", name="Keep").click()
        drawn[digit] += 1
    expect(page.get_by_text(f"Done: {len(DIGITS) * K} examples kept")).to_be_visible()
    wait_idle(page)
    assert_clean(page, "handwriting, collected")
    shot(page, "handwriting_collected")


@pytest.mark.browser
@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_collect_by_mouse_fine_tune_and_read_a_held_out_drawing_on_draw(server, page):
    open_page(page, server, "handwriting", "Handwriting")
    collect(page)

    page.get_by_role("tab", name="Fine-tune").click()
    wait_idle(page)
    page.get_by_label("Network", exact=True).click()
    page.get_by_role("option", name="Residual", exact=True).click()  # its shipped checkpoint is picked first
    wait_idle(page)
    page.get_by_label("Handwriting set").click()
    page.get_by_role("option", name="mouse", exact=True).click()
    wait_idle(page)
    known = {p.name for p in server.runs.glob("*")}
    page.get_by_role("button", name="Fine-tune", exact=True).click()
    (run,) = new_runs(server, known, 1)
    wait_until(page, lambda: run_status(run) in ("done", "failed", "diverged"), "the fine-tuning run ends", LONG)
    assert run_status(run) == "done", (run / "process.log").read_text()[-2000:]

    open_page(page, server, "draw", "Draw")
    page.get_by_label("Residual checkpoint", exact=True).click()
    page.get_by_role("option", name=re.compile("fine-tuned on mouse")).click()
    wait_idle(page)
    held = 7
    draw(page, held, style(held, 1))  # as the held-out 7 was drawn (the second of each digit is held out)
    expect(reading(page, "Residual").get_by_test_id("stMetricValue")).to_have_text(str(held), timeout=45_000)
    wait_idle(page)
    assert_clean(page, "draw, fine-tuned checkpoint")
    shot(page, "handwriting_draw_fine_tuned")
