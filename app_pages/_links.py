"""Links that open a view (Streamlit side): a page's state restored from the URL, and written back to it.

Streamlit clears the query parameters when a person switches pages (st.navigation, st.switch_page), and a
widget's rerun sends back the URL this session last wrote. So a page applies the URL only when it differs
from what this session last wrote there, and only the keys it names: an empty URL after a page switch
leaves the session's state as it was, and publishing afterwards puts the page's view back in the URL.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import streamlit as st

from app_pages._common import PAGES, guarded, runs_dir, test_digits
from netlib.lab import catalogue
from netlib.lab.lessons import LESSON_IDS
from netlib.lab.links import Context, checkpoint_id, encode, parse, summary
from netlib.runs import reader

PAGE_NAMES = {p.path.rsplit("/", 1)[-1].removesuffix(".py") for p in PAGES}  # Streamlit's URL paths
WRITTEN = "_links_written"  # (page, params) this session last wrote to the URL


def context(options: dict) -> Context:
    """What this server has: its runs, checkpoints, test digits and lessons (each read once, if needed)."""
    entries: list = []

    def runs_listed() -> list:
        if not entries:
            entries.append(reader.run_index(runs_dir()))
        return entries[0]

    return Context(runs=lambda: {e.name: str(e.dir) for e in runs_listed()},
                   checkpoints=lambda model: [checkpoint_id(c) for c in
                                              catalogue.checkpoint_choices(model, runs_listed())],
                   test_size=lambda: len(test_digits()[1]), lessons=lambda: LESSON_IDS, options=options)


def url_params() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def as_lists(params: dict) -> dict[str, list[str]]:
    return {k: list(v) if isinstance(v, (list, tuple)) else [v] for k, v in params.items()}


@guarded
def restore(page: str, options: dict) -> None:
    """Before the page's widgets: copy a link's checked values into session state, once per new URL."""
    params = url_params()
    if not params or st.session_state.get(WRITTEN) == (page, params):
        return  # a page switch (Streamlit emptied the URL) or this session's own URL: nothing new
    updates, messages = parse(page, params, context(options), dict(st.session_state))
    for key, value in updates.items():
        st.session_state[key] = value
    if messages:
        st.warning(summary(messages), icon=":material/link_off:")


@guarded
def publish(page: str, options: dict, leaves_out: str = "") -> None:
    """After the page: its view into the URL (defaults left out), and a link to copy in the sidebar;
    leaves_out: what of the view a link cannot carry, said under it."""
    params = encode(page, dict(st.session_state), context(options))
    if as_lists(params) != url_params():
        st.query_params.from_dict(params)
    st.session_state[WRITTEN] = (page, as_lists(params))
    with st.sidebar.expander("Link to this view", icon=":material/link:"):
        st.caption("Opens this page as it is now, in any browser that can reach this lab."
                   + (f" It does not carry {leaves_out}." if leaves_out else ""))
        st.code(f"{app_base(st.context.url or '')}/{'' if page == 'home' else page}" + (f"?{urlencode(params, doseq=True)}" if params else ""),
                language=None, wrap_lines=True)


def app_base(url: str) -> str:
    """The app's own address from the browser's URL, whichever page it was opened on: scheme, host and
    any path prefix, without the page's name or the query ('http://host:8501/lab/train?x=1' ->
    'http://host:8501/lab')."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[-1] in PAGE_NAMES:
        segments.pop()
    return f"{parts.scheme}://{parts.netloc}" + "".join(f"/{s}" for s in segments) if parts.netloc else ""


def run(page: str, main, leaves_out: str = "", **options) -> None:
    """The page: main between restore and publish. options: {session key: the choices its widget offers}
    for choices that only the page knows (its tabs, Compare's pairs); leaves_out: what a link leaves out."""
    restore(page, options)
    guarded(main)()
    publish(page, options, leaves_out)
