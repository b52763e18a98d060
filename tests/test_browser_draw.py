"""Drawing in a real browser: digits 0-9, each in its own style, drawn with the mouse on the Draw page
are read by both shipped checkpoints; Clear empties the canvas; another checkpoint can be picked.
(browser_server.py's server and Chromium; screenshots to artifacts/browser/.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401  (the fixtures)
from browser_helpers import (DIGIT_STYLES, SHIPPED, assert_clean, draw, misreadings,  # noqa: E402
                             open_page, reading, shot, wait_idle)


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
