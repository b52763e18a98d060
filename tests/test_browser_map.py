"""The Map page in a real browser: hover a misread digit (its truth and reading), click it and see its image;
move a run's epoch slider and watch the frame change on fixed axes.

Uses browser_server.py's server (`streamlit run app.py` on a free port, a fresh runs folder) and Chromium.
"""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401,F811  (the fixtures)
from browser_helpers import SHIPPED, assert_clean, open_page, wait_idle, wait_until  # noqa: E402
from netlib.cli import main as netlib_cli  # noqa: E402

# Where the first misread point is drawn, in page pixels, and its test digit (customdata[0]).
MISREAD_JS = """(key) => {
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!gd || !gd._fullLayout || !gd._fullData) return null;
    const d = gd._fullData.find(d => (d.name || '').startsWith('misread'));  // _fullData: typed arrays decoded
    if (!d || !d.x || !d.x.length) return null;
    const L = gd._fullLayout, box = gd.getBoundingClientRect();
    return {x: box.left + L._size.l + L.xaxis.d2p(d.x[0]), y: box.top + L._size.t + L.yaxis.d2p(d.y[0]),
            digit: Number(d.customdata[0][0])};
}"""


def title_of(page, key: str) -> str:
    return page.evaluate("(k) => { const g = document.querySelector(`.st-key-${k} .js-plotly-plot`);"
                         " return g && g.layout ? g.layout.title.text : ''; }", key)


@pytest.mark.browser
@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_hover_and_click_a_misread_digit_then_move_the_epoch_slider(server, page):
    open_page(page, server, "map?network=residual&digits=500", "Map")
    wait_until(page, lambda: page.evaluate(MISREAD_JS, "map_one"), "the map's misread points")
    # a misread digit sits among others: a double click on its legend entry shows the misread ones alone
    page.locator(".st-key-map_one .legend .traces").filter(has_text="misread").dblclick()
    page.wait_for_function("() => document.querySelectorAll('.st-key-map_one .legend .traces[style*=\"opacity: 0.5\"]').length >= 10")
    spot = page.evaluate(MISREAD_JS, "map_one")
    page.mouse.move(spot["x"], spot["y"])
    label = page.locator(".hoverlayer .hovertext").first
    expect(label).to_contain_text(f"test digit #{spot['digit']}")
    expect(label).to_contain_text("read")
    page.mouse.click(spot["x"], spot["y"])
    wait_idle(page)
    card = page.locator(".st-key-map_one_card")
    expect(card.get_by_text(f"test digit #{spot['digit']}")).to_be_visible()
    expect(card.locator("img").first).to_be_visible()
    expect(card).to_contain_text("misread")
    assert_clean(page, "map, a misread digit clicked")

    run = server.runs / "kept"  # a tiny run that kept both its epochs
    assert netlib_cli.main(["train", "--model", "residual", "--synthetic", "200", "--epochs", "2", "--batch-size",
                            "50", "--keep-epochs", "--run-dir", str(run), "--quiet"]) == 0
    open_page(page, server, "map?view=epochs&digits=500", "Map")
    wait_until(page, lambda: "epoch 2" in title_of(page, "map_frame"), "the last epoch's frame")
    slider = page.get_by_role("slider").filter(has_text="").last
    slider.focus()
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    wait_until(page, lambda: "epoch 1" in title_of(page, "map_frame"), "the first epoch's frame")
    assert_clean(page, "map, epoch slider moved")
