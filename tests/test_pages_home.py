"""The Home page (AppTest): it says where to start and links every page of the app's page list."""

from __future__ import annotations

from app_pages._common import PAGES
from pages_support import lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)
from support import assert_clean


def test_home_says_where_to_start_and_links_every_page():
    at = open_page("app_pages/home.py")
    assert_clean(at)
    assert "Where to start" in [h.value for h in at.subheader]
    links = [(link.proto.page, link.value) for link in at.get("page_link")]
    start = [label for _, label in links[:3]]
    assert [s.split(". ", 1)[-1].strip("*") for s in start] == ["Draw", "Train", "Compare"]  # the short path
    every = {p.path.removeprefix("app_pages/").removesuffix(".py") for p in PAGES} - {"home"}
    assert every <= {page for page, _ in links[3:]}  # "Where to go": every other page, from PAGES


def test_home_names_the_four_networks():
    at = open_page("app_pages/home.py")
    intro = at.markdown[0].value
    assert all(name in intro for name in ("Inception", "Naive Inception", "Residual", "Plain"))
