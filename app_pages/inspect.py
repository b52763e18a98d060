"""Inspect: the per-layer table of either network, and every stage's feature maps for one digit."""

import numpy as np
import streamlit as st

from app_pages import _links as links
from app_pages._common import (INSPECT_REQUEST, chart, checkpoint_picker, guarded, layer_rows, load_model,
                              runs_dir, shape_inputs, test_digits)
from app_pages._lesion import lesion_view
from netlib.analysis import cost
from netlib.analysis.inspection import feature_maps
from netlib.analysis.predict import probabilities
from netlib.charts import cost as cost_charts
from netlib.charts import digits, style
from netlib.data import normalize
from netlib.lab import catalogue
from netlib.models import BRANCHES, MODELS, WIDTH_MODELS, branches_text, title
from netlib.runs import reader

LAST_DRAWN = "last_drawn"  # set by the Draw page: the 28x28 uint8 the network saw
TABS = ["Layers", "Feature maps", "Lesion"]
FROM_RESULTS = "inspect_from_results"  # (model, test index) handed over by the Results page


def layer_table(model: str) -> None:
    blocks, width = shape_inputs(model, "inspect", column=st.columns([1, 3])[0])
    rows = layer_rows(model, blocks, width)
    shown = [{
        # inner layers indented under their block, without repeating its name
        "layer": ("    ↳ " + r["name"].split(".", 1)[1]) if r["depth"] else r["name"],
        "type": r["type"],
        "output shape": " × ".join(str(d) for d in r["output_shape"][1:]),
        "parameters": r["params"],
        "mult-adds": r["macs"],
        "note": r["note"],
    } for r in rows]
    top = [r for r in rows if r["depth"] == 0]
    shown.append({"layer": "total", "type": "", "output shape": "", "parameters": sum(r["params"] for r in top),
                  "mult-adds": sum(r["macs"] for r in top), "note": "per digit, forward pass"})
    st.dataframe(shown, hide_index=True, width="stretch", height=35 * (len(shown) + 1) + 3,
                 column_config={
                     "layer": st.column_config.TextColumn(width=125),
                     "type": st.column_config.TextColumn(width=95),
                     "output shape": st.column_config.TextColumn(width=105),
                     "parameters": st.column_config.NumberColumn(format="localized", width=85),
                     "mult-adds": st.column_config.NumberColumn(format="localized", width=90),
                     "note": st.column_config.TextColumn(width=520),
                 })
    st.markdown(flatten_text(rows))
    if model in WIDTH_MODELS:
        st.caption("Inside each InceptionA block the four branches read the same input; their outputs "
                   f"are concatenated on channels: {branches_text()}.")
        one_by_one_cost(width)


def flatten_text(rows: list[dict]) -> str:
    """'Why 1408?', from the shapes in the table: the last stage with channels, then flatten."""
    n = next(r for r in rows if r["type"] == "Flatten")["output_shape"][-1]
    c, h, w = [r for r in rows if r["depth"] == 0 and len(r["output_shape"]) == 4][-1]["output_shape"][1:]
    return (f"**Why {n}?** After the last block each digit is {c} channels of {h} x {w}: flatten lays them "
            f"out as {c} x {h} x {w} = **{n}** numbers, and the last linear layer maps those {n} to 10 "
            "scores, one per digit.")


def one_by_one_cost(width: int) -> None:
    """Inception against Naive at this width: per block and branch, and the cost curve."""
    st.subheader(f"What the 1x1 convs cost at width {width}")
    rows = cost.comparison_rows(width)
    for r in rows:
        if r["branch"] == "block":
            st.markdown(f"**{r['block']}** ({r['in_ch']} channels in): {r['note']}.")
    st.dataframe([{"block": r["block"], "branch": r["branch"],
                   "params with 1x1": r["params_inception"], "params without": r["params_naive"],
                   "mult-adds with 1x1": r["macs_inception"], "mult-adds without": r["macs_naive"]}
                  for r in rows], hide_index=True, width="stretch",
                 column_config={k: st.column_config.NumberColumn(format="localized")
                                for k in ("params with 1x1", "params without", "mult-adds with 1x1",
                                          "mult-adds without")})
    marks = {name: in_ch for name, in_ch, _ in cost.network_blocks(width)}
    chart(cost_charts.block_cost_figure(marks), key="one_by_one_cost")
    st.caption(f"With the 1x1 convs = Inception; without = Naive Inception (same outputs, 88 channels). "
               f"Both costs grow linearly with the input width; they meet at about "
               f"{cost.crossover_width():.1f} channels. Train both on **Compare** to see whether fewer "
               "multiply-adds also means less time on this machine.")


def pick_model(model: str):
    """(model, caption): the chosen checkpoint, or random weights when none exists."""
    choice = checkpoint_picker(model, reader.run_index(runs_dir()), key=f"inspect_ckpt_{model}")
    if choice is None:
        return catalogue.untrained_model(model), "random weights (untrained)"
    net, meta = load_model(choice.path)
    return net, catalogue.checkpoint_summary(meta)


def pick_digit() -> tuple[np.ndarray, str]:
    """The input digit: one of the test set, or the last digit drawn on the Draw page."""
    drawn = st.session_state.get(LAST_DRAWN)
    images, labels, source = test_digits()
    options = [source] + (["last drawn digit"] if drawn is not None else [])
    which = st.radio("Digit", options, horizontal=True, key="inspect_source",
                     help="draw one on the Draw page to inspect it here")
    if which == "last drawn digit" and drawn is not None:
        return np.asarray(drawn, dtype=np.uint8), "your drawing"
    i = st.number_input(f"Test digit number (0-{len(images) - 1})", 0, len(images) - 1, key="inspect_index")
    st.button("Random test digit", icon=":material/casino:", key="inspect_random", width="stretch",
              on_click=lambda: st.session_state.update(
                  inspect_index=int(np.random.default_rng().integers(len(images)))))
    return images[int(i)], f"label {int(labels[int(i)])}"


def maps_view(model_name: str) -> None:
    left, right = st.columns([1, 2.5], gap="large")
    with left:
        net, caption = pick_model(model_name)
        st.caption(caption)
        image, label = pick_digit()
        came = st.session_state.get(FROM_RESULTS)
        if (came and came[0] == model_name and st.session_state.get("inspect_index") == came[1]
                and st.session_state.get("inspect_source") != "last drawn digit"):
            st.page_link("app_pages/results.py", label=f"Back to Results (digit #{came[1]})",
                         icon=":material/grading:")
        x = normalize(image)
        probs = probabilities(net, x)[0].tolist()
        a, b = st.columns(2)
        with a:
            chart(digits.digit_figure(image, label, height=180), key="inspect_digit")
        with b:
            st.metric("the network reads", str(int(np.argmax(probs))), f"{100 * max(probs):.1f}% sure",
                      delta_color="off", delta_arrow="off")
        chart(digits.probability_figure(probs, style.model_color(model_name), height=200), key="inspect_probs")
    with right:
        st.caption("Each stage's output for this digit; every channel is scaled to its own range "
                   "(bright = strongest). Hover for the channel number.")
        maps = feature_maps(net, x)
        cols = st.columns(2)
        for i, (name, out) in enumerate(maps):
            shape = " × ".join(str(d) for d in out.shape)
            groups = BRANCHES if name.startswith("incep") else None
            fig = digits.feature_map_figure(out.numpy(), f"{name} · {shape}", groups=groups)
            with cols[i % 2]:
                chart(fig, key=f"fmap_{model_name}_{name}")


def take_request() -> None:
    """A digit handed over by the Results page: select its network, checkpoint and test digit, and
    open the feature maps. Read once; every value is checked (the checkpoint must be one the picker
    lists), so session state cannot point this page at an arbitrary file."""
    req = st.session_state.pop(INSPECT_REQUEST, None)
    if not isinstance(req, dict) or req.get("model") not in MODELS:
        return
    model = req["model"]
    st.session_state["inspect_model"] = model
    choices = catalogue.checkpoint_choices(model, reader.run_index(runs_dir()))
    picked = catalogue.choice_id(choices, req.get("checkpoint") or "")
    if picked is not None:
        st.session_state[f"inspect_ckpt_{model}"] = picked
    images, _, source = test_digits()
    index = req.get("index")
    if isinstance(index, (int, np.integer)) and 0 <= int(index) < len(images):
        st.session_state["inspect_source"] = source
        st.session_state["inspect_index"] = int(index)
        st.session_state[FROM_RESULTS] = (model, int(index))
    st.session_state["inspect_tab"] = TABS[1]


def main() -> None:
    st.title("Inspect")
    take_request()
    model = st.radio("Network", list(MODELS), horizontal=True, key="inspect_model", format_func=title)
    tab_layers, tab_maps, tab_lesion = st.tabs(TABS, key="inspect_tab", on_change="rerun")
    with tab_layers:
        guarded(layer_table)(model)
    with tab_maps:
        guarded(maps_view)(model)
    with tab_lesion:
        guarded(lesion_view)(model)


links.run("inspect", main, inspect_tab=TABS)
