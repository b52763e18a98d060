"""A report of a 3-seed comparison of two networks (python -m netlib report), opened from disk (file://) in
Chromium with the network cut off: every chart draws, every misread digit shows, nothing but the file itself
is asked for, and the file stays within 6 MB (plotly.js alone is 4.8 MB).

No Streamlit server is needed, so this module launches Chromium itself, as browser_server.py does."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")
from browser_server import CHROMIUM, CHROMIUM_ARGS, sync_api  # noqa: E402

from netlib.cli.main import main  # noqa: E402
from report_support import three_seed_comparison  # noqa: E402

MB = 2**20
DRAWN = """n => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')];
    return plots.length === n && plots.every(p => p.querySelector('svg.main-svg') && p._fullData);
}"""


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.browser
def test_a_three_seed_comparison_report_opens_offline_with_every_chart_drawn(tmp_path, chromium):
    out = tmp_path / "report.html"
    assert main(["report", *map(str, three_seed_comparison(tmp_path / "runs")), "-o", str(out)]) == 0
    size = out.stat().st_size
    print(f"report of a 3-seed comparison of two networks: {size / MB:.2f} MB")
    assert size <= 6 * MB
    text = out.read_text()
    charts, digits = text.count('class="plotly-graph-div"'), text.count('<img alt="test digit')
    assert charts >= 1 + 6 * 3  # the comparison; each run's loss, accuracy and gradient flow (and evaluation)

    context = chromium.new_context(offline=True, viewport={"width": 1300, "height": 900})
    asked, problems = [], []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                  else route.abort())
    try:
        tab = context.new_page()
        tab.on("request", lambda r: asked.append(r.url))
        tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        tab.goto(out.as_uri())
        tab.wait_for_function(DRAWN, arg=charts, timeout=120_000)
        shown = tab.evaluate("[...document.images].filter(i => i.complete && i.naturalWidth === 28).length")
    finally:
        context.close()
    assert shown == digits  # each misread digit, from its data: URI
    assert [u for u in asked if not u.startswith(("file://", "data:"))] == []
    assert problems == []
