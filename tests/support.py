"""Shared by the test modules: AppTest set-up for the dashboard, and a pickle payload that runs code."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import streamlit as st
import streamlit.testing.v1.app_test
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from netlib import ui_state

APP = Path(__file__).resolve().parent.parent / "app.py"
SHIPPED = [ui_state.shipped_checkpoint(m) for m in ("inception", "residual")]


class WarmServerPagesManager(PagesManager):
    """AppTest resets Streamlit's legacy 'pages/ folder' mode before every run; a real server leaves it
    after the first st.navigation call. Emulate the server, so a click is not spent on the one-time
    switch to app.py's frame (pages/_common.require_frame; tested on its own in test_pages.py)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


def fresh_app(monkeypatch) -> None:
    """Before an AppTest: the warm pages manager, real MNIST (no synthetic runs), empty Streamlit caches
    (they outlive AppTest instances)."""
    monkeypatch.setattr(streamlit.testing.v1.app_test, "PagesManager", WarmServerPagesManager)
    monkeypatch.delenv(ui_state.SYNTHETIC_ENV, raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()


def open_app(page: str, timeout: float = 90) -> AppTest:
    """app.py run once (its frame), then `page` through the navigation, as a person clicks it."""
    at = AppTest.from_file(str(APP), default_timeout=timeout).run()
    if page != "pages/home.py":
        at.switch_page(page).run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page as JSON specs, by widget key."""
    return {el.key or el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


class WritesMarker:
    """A pickled object whose unpickling runs code (Python's exec, or a shell): it writes a marker file."""

    def __init__(self, marker: Path, via: str = "exec"):
        self.marker, self.via = str(marker), via

    def __reduce__(self):
        if self.via == "shell":
            return os.system, (f"echo code ran > {shlex.quote(self.marker)}",)
        return exec, (f"open({self.marker!r}, 'w').write('code ran\\n')",)
