"""The Map page's parts: maps computed once per checkpoint, method and N for every visitor (with progress
while a slow one is made), a run's epoch frames, the chosen digit's card, and the Draw page's digit as a star."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import streamlit as st

from app_pages import _evaluations
from app_pages._common import guarded, load_model, open_on_inspect, test_digits
from netlib.embedding import charts
from netlib.embedding.epochs import kept_epochs
from netlib.embedding.features import features
from netlib.embedding.maps import build_map, epoch_maps
from netlib.embedding.project import NEIGHBOURS, TITLES
from netlib.embedding.separation import K, MAX_POINTS
from netlib.lab import catalogue

DIGIT = "map_digit"  # (chart key, test digit index) whose card shows: a click on a map, or the misread list
LAST_DRAWN = "last_drawn"  # set by the Draw page: the 28x28 uint8 its networks read


def with_progress(key: tuple, compute):
    """_evaluations.shared(key, ...) with a progress bar while this session computes it; compute(progress)."""
    if _evaluations.ready(key):
        return _evaluations.shared(key, lambda: compute(None))
    bar = st.progress(0.0, text="Making the map...")

    def progress(fraction: float, what: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"Making the map: {what}")
    try:
        return _evaluations.shared(key, lambda: compute(progress))
    finally:
        bar.empty()


def checkpoint_map(path: Path, method: str, n: int):
    """The map of a checkpoint's first n test digits, shared by every session (computed once)."""
    images, labels, source = test_digits()
    n = min(n, len(labels))

    def compute(progress):
        net, _ = load_model(path)
        return build_map(net, images, labels, method, n, progress=progress)

    return with_progress(("map", *_evaluations.key(path, source), method, n), compute)


def run_frames(run_dir: Path, method: str, n: int) -> tuple[list[int], list]:
    """(epochs, aligned maps) of a run's kept epochs, shared by every session."""
    from netlib.checkpoint import load_checkpoint

    kept = [(e, catalogue.allowed_checkpoint(p)) for e, p in kept_epochs(run_dir)]
    images, labels, source = test_digits()
    n = min(n, len(labels))
    stamps = tuple((e, str(p), catalogue.file_stamp(p)) for e, p in kept)

    def compute(progress):
        models = [load_checkpoint(p)[0] for _, p in kept]
        return epoch_maps(models, images, labels, method, n, progress=progress)

    return [e for e, _ in kept], with_progress(("map-epochs", str(run_dir), stamps, method, n, source), compute)


def figures(m, column=st) -> None:
    """The separation figures beside a map."""
    column.markdown(f"**{K}-NN accuracy**")
    a, b = column.columns(2)
    a.metric("features", f"{100 * m.separation['knn_features']:.1f}%",
             help=f"A digit counts as placed right when most of its {K} nearest other digits, in the network's "
                  f"{m.vectors.shape[1]:,} last features, share its true label (over the first "
                  f"{min(m.count, MAX_POINTS):,} digits)")
    b.metric("map", f"{100 * m.separation['knn_map']:.1f}%",
             help="The same count on the 2-D map: how much of the separation the picture keeps")
    column.caption(f"Silhouette (−1 to 1, by true digit): features {m.separation['silhouette_features']:.2f}, "
                   f"map {m.separation['silhouette_map']:.2f}. {len(m.misread):,} of {m.count:,} misread.")


def star(m, path: Path):
    """(point, hover words) for the Draw page's digit on this map, or (None, '') when nothing is drawn."""
    drawn = st.session_state.get(LAST_DRAWN)
    if not isinstance(drawn, np.ndarray) or drawn.shape != (28, 28) or not m.can_place():
        return None, ""
    net, _ = load_model(path)
    f = features(net, drawn[None].astype(np.uint8))
    where = ("placed exactly by the map's PCA axes" if m.basis is not None else
             f"placed at the mean of its {NEIGHBOURS} nearest test digits' places, among the first "
             f"{len(m.vectors):,} (a {TITLES[m.method]} map has no formula for a new point)")
    return m.place(f.vectors)[0], f"<br>read as <b>{f.predictions[0]}</b> ({f.confidence[0]:.0%})<br>{where}"


def scatter(m, key: str, title: str, path: Path, ranges=None) -> None:
    """The map, a click on a point choosing its digit."""
    point, words = star(m, path)
    fig = charts.map_figure(m, title, star=point, star_text=words, ranges=ranges)
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False},
                    on_select=functools.partial(picked, key), selection_mode="points")
    if point is not None:
        st.caption("★ your drawing from the Draw page (hover it for where and how it was placed).")


def picked(key: str) -> None:
    """A click on a map (before the rerun): its digit's card shows."""
    event = st.session_state.get(key)
    points = (event or {}).get("selection", {}).get("points") or []
    data = points[0].get("customdata") if points else None
    if isinstance(data, dict):  # Plotly hands a typed array back as {"0": ..., "1": ...}
        data = [data[k] for k in sorted(data, key=lambda k: int(k) if str(k).isdigit() else 99)]
    if isinstance(data, (list, tuple)) and data:
        st.session_state[DIGIT] = (key, int(data[0]))


def misread_picker(m, key: str) -> None:
    """The misread digits as a list too (a keyboard, a screen reader): choosing one shows its card."""
    wrong = [int(i) for i in m.misread]
    if not wrong:
        return
    st.selectbox("Misread digits", [None, *wrong], key=f"{key}_misread", on_change=chose, args=(key,),
                 format_func=lambda i: "pick one" if i is None else
                 f"#{i}: true {m.labels[i]}, read {m.predictions[i]} ({m.confidence[i]:.0%})")


def chose(key: str) -> None:
    i = st.session_state.get(f"{key}_misread")
    if i is not None:
        st.session_state[DIGIT] = (key, int(i))


@guarded
def card(m, key: str, model: str, path: Path, opens: str = "") -> None:
    """The chosen digit (of this map): its image, truth, reading and confidence, and Inspect's button."""
    chosen = st.session_state.get(DIGIT)
    if not chosen or chosen[0] != key or not 0 <= chosen[1] < m.count:
        st.caption("Hover a point for its digit; click one to see its image here.")
        return
    i = chosen[1]
    images = test_digits()[0]
    with st.container(border=True, key=f"{key}_card"):
        big = np.kron(np.asarray(images[i], dtype=np.uint8), np.ones((4, 4), dtype=np.uint8))  # 112 x 112
        st.image(big, caption=f"test digit #{i}", width=112)
        right = m.labels[i] == m.predictions[i]
        st.markdown(f"true **{m.labels[i]}** · read **{m.predictions[i]}** ({100 * m.confidence[i]:.1f}%)"
                    + ("" if right else " · :red[misread]"))
        if st.button("Open on Inspect", key=f"{key}_inspect", icon=":material/layers:",
                     help=opens or "this digit's feature maps, layer by layer"):
            open_on_inspect(model, path, i)
