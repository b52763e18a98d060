"""Handwriting: collect your own digits, fine-tune a network on them, and see what it learned and forgot."""

import streamlit as st

from app_pages import _handwriting_changes as changes
from app_pages import _handwriting_collect as collect
from app_pages import _handwriting_sets as set_list
from app_pages import _handwriting_tune as tune
from app_pages import _links as links
from app_pages._common import guarded
from netlib.handwriting import sets

TABS = ("Collect", "Your sets", "Fine-tune", "What changed")
TAB_KEY = "hw_tab"


def main() -> None:
    st.title("Handwriting")
    st.markdown("Teach a network **your** handwriting: draw each digit a few times, fine-tune a trained "
                "network on them, then measure what it learned (your held-out digits) and what it forgot "
                "(MNIST's 10,000 test digits).")
    found = guarded(sets.list_sets)() or []
    mine = [s.name for s in found if not s.synthetic]
    tabs = dict(zip(TABS, st.tabs(TABS, key=TAB_KEY, on_change="rerun")))
    with tabs["Collect"]:
        if tabs["Collect"].open:
            guarded(collect_tab)(mine)
    with tabs["Your sets"]:
        if tabs["Your sets"].open:
            guarded(set_list.set_list)(found)
    with tabs["Fine-tune"]:
        if tabs["Fine-tune"].open:
            usable = [s for s in found if not s.problem and s.total]
            guarded(tune.tune_form)([s.name for s in usable], {s.name for s in usable if s.synthetic})
    with tabs["What changed"]:
        if tabs["What changed"].open:
            guarded(changes.changes_tab)()


def collect_tab(mine: list[str]) -> None:
    plan = collect.plan()
    if plan is None:
        st.markdown("Name a set and draw each digit as you write it, k times: **Keep** stores a drawing, "
                    "**Skip** leaves one out, **Undo** takes the last back, and any kept digit can be drawn "
                    "again. Each drawing is read the way the Draw page reads it.")
        collect.start_form(mine)
    else:
        collect.collect(plan)
    with st.expander("Add an image of a digit (a photo, a scan)", icon=":material/upload:"):
        collect.upload_example(mine)


links.run("handwriting", main, leaves_out="your drawings and sets", hw_tab=TABS)
