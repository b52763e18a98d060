"""The MNIST network lab: the frame (page config, navigation, shared sidebar). Run: streamlit run app.py

The pages live in app_pages/, not pages/: a pages/ folder beside the entry script switches on
Streamlit's legacy multipage mode, which runs a page without this frame on a cold deep link (/train).
"""

import streamlit as st

st.set_page_config(page_title="MNIST network lab", page_icon=":material/neurology:", layout="wide")

from app_pages._common import PAGES, device_label, guarded, runs_dir, setup_server  # noqa: E402
from app_pages._escape import code, literal  # noqa: E402
from app_pages._queue import sidebar_queue  # noqa: E402
from netlib.runs import queue  # noqa: E402
from netlib.runs import reader  # noqa: E402  (after set_page_config, which must come first)


@guarded
def sidebar() -> None:
    with st.sidebar:
        st.caption("Device")
        st.markdown(f"`{device_label()}`")
        entries = reader.run_index(runs_dir())
        if queue.pump(runs_dir(), entries):  # queued runs that fit start now (reads nothing when none wait)
            entries = reader.run_index(runs_dir())
        live = [r for r in entries if r.live]
        st.caption("Live runs")
        if not live:
            st.markdown("none right now")
        for r in live:
            st.markdown(f":green[●] **{literal(r.network or r.model)}** · {literal(r.recipe)}  \n{code(r.name)}")
        if live:
            st.page_link("app_pages/train.py", label="Watch on Train", icon=":material/monitoring:")
        sidebar_queue(entries)


setup_server()
page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)])
sidebar()
page.run()
