"""Home: what the lab is, where to start, two networks as pictures, the shipped checkpoints, every page."""

import streamlit as st

from app_pages._common import PAGES, chart, checkpoint_meta, guarded, model_cost, pct, recorded_story
from app_pages._escape import literal
from netlib.charts import diagrams, training
from netlib.lab import catalogue, lessons
from netlib.analysis import cost
from netlib.models import BRANCHES, DESCRIPTIONS
from netlib.names import network_title


# The short path for a first visit: (page, what to do there), in order; the titles and icons come from PAGES.
START = (("app_pages/draw.py", "Draw a digit: both trained networks read it, and show why."),
         ("app_pages/train.py", "Train a network and watch it learn, live."),
         ("app_pages/compare.py", "Compare two networks, or your runs, side by side."))


def intro() -> None:
    st.title("MNIST network lab")
    st.markdown(
        "Four small convolutional networks trained on real MNIST handwritten digits: **Inception** "
        "(GoogLeNet-style), **Naive Inception** (Inception without the 1x1 convolutions in front of its 5x5 "
        "and 3x3 branches), **Residual** (ResNet-style) and **Plain** (Residual without its skip connections). "
        "Inception and Residual come trained."
    )
    st.subheader("Where to start")
    by_path = {p.path: p for p in PAGES}
    for n, (col, (path, text)) in enumerate(zip(st.columns(len(START)), START), 1):
        with col.container(border=True):
            st.page_link(path, label=f"{n}. **{by_path[path].title}**", icon=by_path[path].icon)
            st.caption(text)


@guarded
def network_card(model: str, title: str, dot: str, blurb: str) -> None:
    with st.container(border=True):
        st.subheader(title)
        st.caption(DESCRIPTIONS[model])
        st.graphviz_chart(dot)
        st.markdown(blurb)
        cost = model_cost(model)
        c1, c2, c3 = st.columns(3)
        c1.metric("parameters", f"{cost['params']:,}")
        c2.metric("multiply-adds / digit", f"{cost['macs'] / 1e6:.2f} M")
        path = catalogue.shipped_checkpoint(model)
        if path.is_file():
            meta = checkpoint_meta(path)
            c3.metric("test accuracy", pct(meta.get("metrics", {}).get("test_acc")),
                      help="the shipped checkpoint on MNIST's 10,000 test digits: "
                           + catalogue.checkpoint_summary(meta))
        else:
            c3.metric("test accuracy", "—", help=f"no shipped checkpoint ({path.name}): train one on the Train page")


@guarded
def skip_story() -> None:
    """Why skips matter, from two recorded runs: the gradient that reaches the first layer."""
    runs = recorded_story()
    if len(runs) < 2:
        return
    res, plain = runs
    with st.container(border=True):
        st.subheader("Why skip connections matter")
        left, right = st.columns([3, 2], gap="large", vertical_alignment="center")
        with left:
            chart(training.first_layer_grad_figure(runs), key="story_grads")
        ratio = lessons.grad_ratio(res["batches"], plain["batches"])  # the Lessons page's answer too
        blocks = lessons.blocks_of(res["grad_layers"])  # the recording's depth, from its layer names
        depth = {"blocks": blocks} if blocks else {}
        with right:
            st.markdown(
                f"Two runs recorded with the **{literal(res['recipe'])}** recipe: the Residual network and the same "
                "network without its skip connections (**Plain**), both stacked "
                f"**{blocks or '?'} blocks per stage** "
                f"({len(res['grad_layers'])} layers with weights).")
            c1, c2 = st.columns(2)
            for col, run in ((c1, res), (c2, plain)):  # each number names the recorded run it comes from
                n = len(run["epochs"])
                col.metric(f"{network_title(run['model'], depth)}, recorded run", pct(run["epochs"][-1]["test_acc"]),
                           help=f"test accuracy after {n} epoch{'s' if n != 1 else ''} of the run recorded in "
                                f"checkpoints/gradient_flow/{run['model']}-3.metrics.jsonl; not a shipped "
                                "checkpoint (the Lessons page's lesion test uses checkpoints/lesion/)")
            if ratio is not None:
                st.markdown(
                    f"At the end of the first epoch the gradient reaching Plain's first layer is about "
                    f"**{float(f'{ratio:.2g}'):,.0f}x smaller** than Residual's: each block without a skip "
                    "shrinks it, so the first layers hardly move and the network stays near chance. Try it "
                    "on the **Compare** page (Residual vs Plain), or predict it first on **Lessons**.")
            st.caption("Recorded with `bash scripts/record_gradient_flow.sh` (shipped in "
                       "checkpoints/gradient_flow/).")


def one_by_one_story() -> str:
    """What the 1x1 convs do in this network's two blocks, computed (they save work only on wide inputs)."""
    blocks = cost.network_blocks()
    said = "; ".join(f"in {name} ({in_ch} channels in) {cost.one_by_one_note(in_ch).removeprefix('here ')}"
                     for name, in_ch, _ in blocks)
    return (f"GoogLeNet puts 1x1 convolutions before its 5x5 and 3x3 ones to cut channels; they pay only "
            f"on inputs wider than about {cost.crossover_width():.0f} channels. Here: {said}. "
            "See it on **Inspect**, and in **Lessons**.")


def links() -> None:
    st.subheader("Where to go")
    items = [(p.path, p.title, p.icon, p.blurb) for p in PAGES if p.blurb]
    per_row = 4  # eight pages in one row left each caption a word wide
    cols = [c for i in range(0, len(items), per_row) for c in st.columns(per_row)]
    for col, (path, label, icon, text) in zip(cols, items):
        with col.container(border=True):
            st.page_link(path, label=f"**{label}**", icon=icon)
            st.caption(text)


def main() -> None:
    intro()
    left, right = st.columns(2, gap="large")
    with left:
        network_card("inception", "Inception network", diagrams.inception_dot(),
                     "Each Inception block runs four branches on the same input and concatenates "
                     f"them: **{' + '.join(str(c) for _, c in BRANCHES)} = {sum(c for _, c in BRANCHES)}** "
                     "channels. " + one_by_one_story())
    with right:
        network_card("residual", "Residual network", diagrams.residual_dot(),
                     "A residual block adds its input back to its output: **out = relu(x + F(x))**. "
                     "The skip path gives the gradient a route with factor 1 to the early layers, so "
                     "they keep learning.")
    skip_story()
    links()


guarded(main)()
