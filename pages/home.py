"""Home: what the lab is, the two networks as pictures, the shipped checkpoints, links to the pages."""

import streamlit as st

from netlib import diagrams, ui_state
from netlib.models import DESCRIPTIONS
from pages._common import checkpoint_meta, guarded, model_cost, pct, require_frame

require_frame()


def intro() -> None:
    st.title("MNIST network lab")
    st.markdown(
        "Two small convolutional networks from the GoogLeNet and ResNet families, trained on real "
        "MNIST handwritten digits. **Train** one and watch its loss and accuracy live, **compare** "
        "both side by side, **inspect** what every layer computes, and **draw** a digit for them to read."
    )


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
        path = ui_state.shipped_checkpoint(model)
        if path.is_file():
            meta = checkpoint_meta(path)
            c3.metric("test accuracy", pct(meta.get("metrics", {}).get("test_acc")),
                      help="the shipped checkpoint on MNIST's 10,000 test digits: "
                           + ui_state.checkpoint_summary(meta))
        else:
            c3.metric("test accuracy", "—", help=f"no shipped checkpoint ({path.name}): train one on the Train page")


def links() -> None:
    st.subheader("Where to go")
    cols = st.columns(4)
    items = [
        ("pages/train.py", "Train", ":material/model_training:",
         "Pick a network and recipe, start a run, watch loss and accuracy live."),
        ("pages/compare.py", "Compare", ":material/compare_arrows:",
         "Train both networks at once and overlay any saved runs."),
        ("pages/inspect.py", "Inspect", ":material/layers:",
         "Layer-by-layer shapes and costs, and the feature maps of a digit."),
        ("pages/draw.py", "Draw", ":material/draw:",
         "Draw a digit with the mouse and see what both networks read."),
    ]
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
                     "them: **16 + 24 + 24 + 24 = 88** channels. The 1x1 convolutions cut channels "
                     "before the expensive 5x5 and 3x3 ones.")
    with right:
        network_card("residual", "Residual network", diagrams.residual_dot(),
                     "A residual block adds its input back to its output: **out = relu(x + F(x))**. "
                     "The skip path gives the gradient a route with factor 1 to the early layers, so "
                     "they keep learning.")
    links()


guarded(main)()
