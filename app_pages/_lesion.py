"""Inspect's Lesion tab: remove one residual block at a time and see what the network still reads."""

from __future__ import annotations

import streamlit as st

from app_pages._common import chart, checkpoint_meta, checkpoint_picker, lesion_rows, runs_dir, test_digits
from netlib.analysis.lesion import NONE, describe, one_block_note, title_of
from netlib.charts.lesion import lesion_figure
from netlib.lab import catalogue
from netlib.models import title
from netlib.runs import reader

OTHER = {"residual": "plain", "plain": "residual"}
DONE = "lesion_done"  # checkpoint paths whose lesion test was run in this session: shown on every rerun
INTRO = ("The lesion test (Veit, Wilber and Belongie, 2016) removes one residual block at test time and "
         "measures test accuracy without it. In Residual the skip path stays (the block's output becomes "
         "relu(x)); in Plain there is no skip, so the block is bypassed. If the network behaves like an "
         "ensemble of shallower paths, losing one block costs little; if it is one deep chain, every "
         "later layer loses the input it was trained on.")


def lesion_view(model: str) -> None:
    """The tab for network `model` ("residual", "plain", or one without residual blocks)."""
    if model not in catalogue.LESION_MODELS:
        st.info(f"The lesion test removes residual blocks, so it applies to the Residual and Plain networks: "
                f"{title(model)} has none.", icon=":material/info:")
        return
    st.caption(INTRO)
    runs = reader.run_index(runs_dir())
    key = f"lesion_ckpt_{model}"
    if key not in st.session_state:  # start on the shipped ×3 checkpoint: it has depth to remove
        shipped = catalogue.choice_id(catalogue.checkpoint_choices(model, runs), catalogue.lesion_checkpoint(model))
        if shipped is not None:
            st.session_state[key] = shipped
    choice = checkpoint_picker(model, runs, key=key)
    if choice is None:
        return
    meta = checkpoint_meta(choice.path)
    note = one_block_note((meta.get("model_kwargs") or {}).get("blocks", 1))
    if note:
        st.info(note, icon=":material/info:")
    other = catalogue.lesion_checkpoint(OTHER[model])
    compare = other.is_file() and st.toggle(
        f"Compare with the other network (shipped {title_of(checkpoint_meta(other))})", value=True,
        key=f"lesion_compare_{model}")
    done = st.session_state.setdefault(DONE, set())
    if st.button("Run the lesion test", icon=":material/content_cut:", key=f"lesion_run_{model}"):
        done.add(str(choice.path))
    if str(choice.path) not in done:
        return
    series = _series(model, choice.path, meta, OTHER[model], other if compare else None)
    show_results(series)


def _series(model, path, meta, other_model, other_path) -> list:
    """(label, model, rows) for the chosen checkpoint and, when compared, the other network's."""
    images, _, source = test_digits()
    with st.spinner(f"Removing each block in turn, {len(images):,} digits ({source}) each time..."):
        out = [(title_of(meta), model, lesion_rows(path, len(images)))]
        if other_path is not None:
            out.append((title_of(checkpoint_meta(other_path)), other_model, lesion_rows(other_path, len(images))))
    return out


def show_results(series: list) -> None:
    _, _, source = test_digits()
    chart(lesion_figure(series), key="lesion_chart")
    for label, _, rows in series:
        st.markdown(describe(label, rows))
    names = [name for name, _ in series[0][2]]
    names += [name for _, _, rows in series[1:] for name, _ in rows if name not in names]
    table = []
    for name in names:
        row = {"block removed": name}
        for label, _, rows in series:
            accs = dict(rows)
            acc, full = accs.get(name), rows[0][1]
            row[f"{label}: test accuracy"] = None if acc is None else round(100 * acc, 2)
            row[f"{label}: vs none (points)"] = (None if acc is None or name == NONE
                                                 else round(100 * (acc - full), 2))
        table.append(row)
    numbers = {k: st.column_config.NumberColumn(format="%.2f") for k in table[0] if k != "block removed"}
    st.dataframe(table, hide_index=True, width="stretch", column_config=numbers)
    st.caption(f"Accuracy in % on the {source}; each row removes one block, the rest of the network as "
               "trained. The \"none\" row has every block.")
