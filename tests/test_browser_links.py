"""A link that opens a view, in a real browser: a view set in one browser context, its URL opened in a fresh
one (another session, no shared state) shows the same view; a hostile link opens with one warning.

Uses browser_server.py's server (`streamlit run app.py` on a free port, a fresh runs folder) and Chromium.
"""

from __future__ import annotations

import re

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401,F811  (the fixtures)
from browser_helpers import assert_clean, open_page, set_number, wait_idle  # noqa: E402


def network(tab, name: str):
    return tab.get_by_test_id("stRadio").filter(has_text="Network").get_by_role("radio", name=name, exact=True)


def expect_residual_maps_view(tab) -> None:
    expect(network(tab, "Residual")).to_be_checked()
    expect(tab.get_by_label("Blocks per stage", exact=True)).to_have_value("3")
    expect(tab.get_by_role("tab", name="Feature maps", selected=True)).to_be_visible()
    expect(tab.get_by_label(re.compile(r"^Test digit number")).first).to_have_value("42")


@pytest.mark.browser
def test_a_link_opens_the_same_view_in_a_fresh_browser(server, browser, page):
    open_page(page, server, "inspect", "Inspect")
    page.get_by_test_id("stRadio").filter(has_text="Network").get_by_text("Residual", exact=True).click()
    wait_idle(page)
    set_number(page, "Blocks per stage", 3)
    page.get_by_role("tab", name="Feature maps").click()
    wait_idle(page)
    box = page.get_by_label(re.compile(r"^Test digit number")).first
    box.fill("42")
    box.press("Enter")
    wait_idle(page)
    link = page.url
    assert re.search(r"/inspect\?", link) and "network=residual" in link and "blocks=3" in link, link
    assert "tab=Feature+maps" in link and "digit=42" in link, link
    page.get_by_test_id("stSidebar").get_by_text("Link to this view").click()  # the same link, to copy
    expect(page.get_by_test_id("stSidebar").get_by_test_id("stCode")).to_contain_text("blocks=3")
    assert_clean(page, "inspect, view set")

    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        tab = fresh.new_page()
        tab.problems = []
        tab.goto(link)
        expect(tab.get_by_role("heading", name="Inspect", exact=True)).to_be_visible(timeout=60_000)
        wait_idle(tab)
        expect_residual_maps_view(tab)
        expect(tab.get_by_text("rblock2 · 32 × 4 × 4", exact=True)).to_be_visible()  # the maps are drawn
        assert_clean(tab, "the link in a fresh browser")
        assert tab.url == link  # nothing added, nothing dropped

        # a page switch: Streamlit empties the URL, so nothing of Inspect's view reaches Draw's
        tab.get_by_test_id("stSidebarNav").get_by_role("link", name="Draw").click()
        expect(tab.get_by_role("heading", name="Draw", exact=True)).to_be_visible()
        wait_idle(tab)
        assert tab.url.rstrip("/").endswith("/draw"), tab.url
        expect(tab.get_by_test_id("stAlertContentWarning")).to_have_count(0)

        # a hostile link: the page opens, one warning says what was ignored, the URL keeps the rest
        tab.goto(link + "&checkpoint=run:..%2F..%2Fetc%2Fpasswd&blocks=999&evil=%00")
        expect(tab.get_by_role("heading", name="Inspect", exact=True)).to_be_visible(timeout=60_000)
        wait_idle(tab)
        warning = tab.get_by_test_id("stAlertContentWarning")
        expect(warning).to_have_count(1)
        expect(warning).to_contain_text("checkpoint=run:../../etc/passwd")
        expect(warning).to_contain_text("blocks=999")
        expect(network(tab, "Residual")).to_be_checked()
        assert_clean(tab, "a hostile link")
        assert "passwd" not in tab.url and "evil" not in tab.url, tab.url
    finally:
        fresh.close()
