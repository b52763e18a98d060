"""The MNIST network lab: the frame (page config, navigation, shared sidebar). Run: streamlit run app.py"""

import streamlit as st

st.set_page_config(page_title="MNIST network lab", page_icon=":material/neurology:", layout="wide")

from netlib import ui_state  # noqa: E402  (after set_page_config, which must come first)
from pages._common import device_label, guarded, runs_dir, setup_server  # noqa: E402

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("pages/inspect.py", title="Inspect", icon=":material/layers:"),
    st.Page("pages/results.py", title="Results", icon=":material/grading:"),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:"),
]


@guarded
def sidebar() -> None:
    with st.sidebar:
        st.caption("Device")
        st.markdown(f"`{device_label()}`")
        live = [r for r in ui_state.run_index(runs_dir()) if r.live]
        st.caption("Live runs")
        if not live:
            st.markdown("none right now")
        for r in live:
            st.markdown(f":green[●] **{r.network or r.model}** · {r.recipe}  \n`{r.name}`")
        if live:
            st.page_link("pages/train.py", label="Watch on Train", icon=":material/monitoring:")


setup_server()
page = st.navigation(PAGES)
sidebar()
page.run()
