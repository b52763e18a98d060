"""Map: every test digit placed where a network's last features put it, two networks side by side, and how
one run's map forms epoch by epoch."""

import html

import streamlit as st

from app_pages import _links as links
from app_pages import _map_parts as parts
from app_pages._common import chart, checkpoint_picker, guarded, runs_dir, test_digits
from app_pages._escape import code
from netlib.embedding.charts import frame_ranges, separation_figure
from netlib.embedding.epochs import kept_epochs
from netlib.embedding.maps import DEFAULT_N
from netlib.embedding.project import TITLES
from netlib.models import MODELS, SHOWCASE, title
from netlib.runs import reader
from netlib.runs.files import CHECKPOINT

METHODS = {"pca": "PCA (instant)", "tsne": "t-SNE (seconds, once per map)"}
SIZES = (500, 1000, 2000, 5000, 10000)
VIEWS = {"one": "One network", "two": "Side by side", "epochs": "Epoch by epoch"}


def one_map(model: str, choice, method: str, n: int, key: str) -> None:
    m = parts.checkpoint_map(choice.path, method, n)
    left, right = st.columns([3, 1], gap="medium")
    with left:
        parts.scatter(m, key, f"{title(model)}: {TITLES[method]} of {m.count:,} test digits", choice.path)
    with right:
        parts.figures(m)
        parts.misread_picker(m, key)
        parts.card(m, key, model, choice.path)


def side_by_side(runs: list, method: str, n: int) -> None:
    for col, side, default in zip(st.columns(2, gap="large"), "ab", SHOWCASE):
        with col:
            model = st.radio("Network", list(MODELS), horizontal=True, key=f"map_{side}_model",
                             index=list(MODELS).index(default), format_func=title)
            choice = checkpoint_picker(model, runs, key=f"map_{side}_ckpt_{model}")
            if choice is None:
                continue
            guarded(side_map)(model, choice, method, n, f"map_{side}")


def side_map(model: str, choice, method: str, n: int, key: str) -> None:
    m = parts.checkpoint_map(choice.path, method, n)
    parts.figures(m)
    parts.scatter(m, key, f"{title(model)}: {TITLES[method]}", choice.path)
    parts.misread_picker(m, key)
    parts.card(m, key, model, choice.path)


def by_epoch(runs: list, method: str, n: int) -> None:
    kept = {str(r.dir): r for r in runs if kept_epochs(r.dir)}
    if not kept:
        st.info("No run has kept its epochs yet. Train one that does: `python -m netlib train --model residual "
                "--epochs 5 --keep-epochs` (each epoch's weights go to its folder's epochs/), then come back.",
                icon=":material/history:")
        return
    run = st.selectbox("Run (those that kept every epoch)", list(kept), key="map_run",
                       format_func=lambda d: f"{kept[d].name} · {kept[d].network or kept[d].model} ({kept[d].status})")
    entry = kept[run]
    epochs, frames = parts.run_frames(entry.dir, method, n)
    if len(epochs) > 1:
        if st.session_state.get("map_epoch") not in epochs:  # another run, or its first look: the last epoch
            st.session_state["map_epoch"] = epochs[-1]
        epoch = st.select_slider("Epoch", epochs, key="map_epoch")
    else:
        epoch = epochs[0]
        st.caption(f"One epoch kept so far (epoch {epoch}).")
    m = frames[epochs.index(epoch)]
    left, right = st.columns([3, 1], gap="medium")
    with left:
        parts.scatter(m, "map_frame", f"{html.escape(entry.name)}, epoch {epoch}: {TITLES[method]}",
                      entry.dir / CHECKPOINT, ranges=frame_ranges(frames))
    with right:
        parts.figures(m)
        parts.misread_picker(m, "map_frame")
        parts.card(m, "map_frame", entry.model, entry.dir / CHECKPOINT,  # Inspect lists a run's last checkpoint only
                   opens="this digit's feature maps, layer by layer, with the run's last checkpoint (Inspect does "
                         "not open a single epoch's weights)")
    chart(separation_figure(epochs, frames, epoch), key="map_separation")
    st.caption("Each epoch's map is turned, mirrored and scaled onto the last one (orthogonal Procrustes): the "
               "shape of a frame is its own, only its pose is matched, so a digit's path between frames can be "
               "followed." + (" t-SNE starts each frame from the one before." if method == "tsne" else ""))


def main() -> None:
    st.title("Map")
    st.caption("Every test digit placed where the network's last features put it: the inputs of its final "
               "layer, projected to two dimensions. Colour: the true digit; a cross: the network misread it.")
    a, b, c = st.columns([2, 2, 3])
    view = a.radio("View", list(VIEWS), format_func=VIEWS.get, key="map_view", horizontal=True)
    method = b.radio("Projection", list(METHODS), format_func=METHODS.get, key="map_method", horizontal=True)
    sizes = [s for s in SIZES if s <= len(test_digits()[1])] or [len(test_digits()[1])]
    if st.session_state.get("map_n") not in sizes:  # set before the widget: a link may have set it already
        st.session_state["map_n"] = min(DEFAULT_N, sizes[-1])
    n = c.select_slider("Test digits on the map", sizes, key="map_n")
    runs = reader.run_index(runs_dir())
    if view == "one":
        model = st.radio("Network", list(MODELS), horizontal=True, key="map_model", format_func=title)
        choice = checkpoint_picker(model, runs, key=f"map_ckpt_{model}")
        if choice is not None:
            guarded(one_map)(model, choice, method, n, "map_one")
    elif view == "two":
        side_by_side(runs, method, n)
    else:
        by_epoch(runs, method, n)
    st.caption(f"A map is computed once per checkpoint, projection and number of digits, and shared by everyone "
               f"using this lab. PCA keeps the features' two widest directions; t-SNE keeps each digit's "
               f"neighbours, so its distances between clusters mean little. The separation figures are computed "
               f"the same way for every map: see {code('python -m netlib map')}.")


links.run("map", main, leaves_out="the digit you clicked, the side-by-side choices and the run on the slider")
