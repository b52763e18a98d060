"""The Handwriting page's set list: each set's digits and held-out share; rename, delete, download and upload a zip."""

from __future__ import annotations

import streamlit as st

from app_pages import _handwriting_store as store
from app_pages._common import guarded
from app_pages._escape import literal
from netlib.handwriting import archive, sets
from netlib.handwriting.split import HELD_OUT_SHARE

ZIP_UPLOAD = "hw_zip"
MAX_ROW = 12  # digits shown per row when looking at a set


def counts_row(info) -> dict:
    """One table row (a sets.SetInfo): the set's examples, how many are held out, the count per digit."""
    kind = "synthetic example" if info.synthetic else "unreadable" if info.problem else "yours"
    row = {"set": info.name, "kind": kind, "examples": info.total, "held out": info.held_out}
    row.update({str(d): n for d, n in enumerate(info.counts)})
    return row


def set_list(found: list) -> None:
    """The table of sets, then the actions on the one picked."""
    st.markdown("**Your handwriting sets**")
    if not found:
        st.caption("No set yet: collect one above, or upload a set's zip below.")
    else:
        st.dataframe([counts_row(hs) for hs in found], hide_index=True, width="stretch")
        for info in found:
            if info.problem:
                st.warning(f"{literal(info.name)}: {literal(info.problem)}", icon=":material/warning:")
        st.caption(f"About {HELD_OUT_SHARE:.0%} of each digit's examples, and at least one once it has two, is held out "
                   "for testing: chosen when the example is added and kept. Fine-tuning never trains on them, "
                   "so the accuracy on them says how well a network reads digits of yours it has not seen.")
        mine = [info.name for info in found if not info.synthetic]
        if mine:
            actions(mine, {info.name for info in found if info.problem})
        with st.expander("Look at a set's digits", icon=":material/grid_view:"):
            guarded(show_digits)([info.name for info in found if not info.problem])
    upload_zip()


def actions(names: list[str], unreadable: set) -> None:
    """Download, rename or delete one of your sets (one that cannot be read can still be renamed or deleted)."""
    a, b = st.columns([2, 3], vertical_alignment="bottom")
    name = a.selectbox("Set", names, key="hw_set_pick")
    with b:
        c1, c2, c3 = st.columns(3)
        data = None if name in unreadable else guarded(archive.export_zip)(None, name)
        if data is not None:
            c1.download_button("Download zip", data, file_name=f"{name}.zip", mime="application/zip",
                               icon=":material/download:", key="hw_download")
        with c2.popover("Rename", icon=":material/edit:"):
            new = st.text_input("New name", key="hw_rename_to")
            if st.button("Rename", key="hw_rename", disabled=not new.strip()):
                if guarded(sets.rename_set)(None, name, new.strip()) is not None:
                    st.rerun()
        with c3.popover("Delete", icon=":material/delete:"):
            st.markdown(f"Delete **{literal(name)}** and all its examples? Runs fine-tuned on it, and runs "
                        "training on it now, keep their own copy of it, their checkpoints and results; runs on it "
                        "still queued will fail when they start.")
            if st.button("Delete it", key="hw_delete", type="primary"):
                if guarded(store.delete)(name) is not None:
                    st.rerun()


def show_digits(names: list[str]) -> None:
    """A set's digits as the networks see them, a row per digit; the held-out ones marked."""
    name = st.selectbox("Set", names, key="hw_show_set")
    if name is None:
        return
    hs = sets.load_set(None, name)
    if hs.synthetic:
        st.caption(f"{literal(name)} is synthetic: drawn by the lab's stroke renderer in one made-up writer's style.")
    for digit in range(10):
        mine = [i for i in range(len(hs)) if hs.labels[i] == digit][:MAX_ROW]
        if not mine:
            continue
        cols = st.columns(MAX_ROW)
        for col, i in zip(cols, mine):
            col.image(hs.images[i], width=40, clamp=True, caption="test" if hs.held_out[i] else str(digit))
    st.caption(f"Up to {MAX_ROW} of each digit; “test”: held out for testing, never trained on.")


def upload_zip() -> None:
    """A set's zip (as downloaded here) back into the lab; a bad one refused in one line."""
    with st.expander("Upload a set's zip", icon=":material/upload:"):
        up = st.file_uploader("A handwriting set's zip (as Download zip makes it)", type=["zip"], key=ZIP_UPLOAD)
        if up is not None and st.button("Add this set", key="hw_zip_add", icon=":material/add:"):
            made = guarded(archive.import_zip)(None, up.getvalue())
            if made is not None:
                st.success(f"Added the set {literal(made)}.", icon=":material/check:")
