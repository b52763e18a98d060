"""Results: where a trained network fails (confusion matrix, accuracy per digit, the digits it misreads),
and sharing checkpoints (download one with its metrics, upload one to use everywhere)."""

from pathlib import Path

import numpy as np
import streamlit as st

from app_pages import _evaluations
from app_pages._escape import literal
from app_pages._export import onnx_button
from app_pages._report import checkpoint_report_button
from app_pages import _links as links
from app_pages._common import (chart, checkpoint_meta, checkpoint_picker, friendly, guarded,
                              load_model, open_on_inspect, pct, runs_dir, test_digits)
from netlib.analysis.evaluation import evaluate
from netlib.charts import evaluation as evaluation_charts
from netlib.charts import style
from netlib.checkpoint import CheckpointError
from netlib.lab import catalogue
from netlib.lab.uploads import MAX_UPLOAD_BYTES, remove_upload, shared_files, store_upload
from netlib.models import MODELS, title
from netlib.runs import reader

# Misread digits shown first, and added by each "Show more" (most confident mistakes first). Twelve, not
# thirty: each card is an image, text and a button for the browser to lay out before the charts settle
# (a fresh session's first chart came 0.6 s sooner with 6 than with 30 on the 2-vCPU machine).
GALLERY = 12
SHOWN = "results_shown"  # how many misread digits the gallery shows now
PER_ROW = 6
SELECT = "results_select"  # (model, checkpoint path) to select on the next run: set by an upload
UPLOAD_DONE = "results_upload_done"  # file_id of the upload already handled (the uploader keeps its file)
UPLOAD_MESSAGE = "results_upload_message"  # ("success" | "error", text) about that upload
MNIST = _evaluations.MNIST_SOURCE


def evaluation(path: Path, source: str):
    """Shared by all sessions, read-only (_evaluations: the shipped checkpoints' are begun at server start)."""
    def compute():
        net, _ = load_model(path)
        images, labels, _ = test_digits()
        return evaluate(net, images, labels)

    key = _evaluations.key(path, source)
    if _evaluations.ready(key):
        return _evaluations.shared(key, compute)
    with st.spinner("Reading every test digit with this checkpoint..."):
        return _evaluations.shared(key, compute)


def apply_selection(runs: list) -> None:
    """Select the checkpoint an upload just stored (before the widgets are drawn)."""
    want = st.session_state.pop(SELECT, None)
    if not want or want[0] not in MODELS:
        return
    model, path = want
    st.session_state["results_model"] = model
    picked = catalogue.choice_id(catalogue.checkpoint_choices(model, runs), path)
    if picked is not None:
        st.session_state[f"results_ckpt_{model}"] = picked


def report(model: str, choice) -> None:
    images, labels, source = test_digits()
    if source != MNIST:
        st.warning("MNIST's test set is not available here, so these results are over "
                   f"{len(labels)} digits drawn by the lab itself, not MNIST's 10,000. Fetch MNIST with "
                   "`python -m netlib data` and reload.", icon=":material/warning:")
    ev = evaluation(choice.path, source)
    worst = int(np.nanargmin(ev.per_class))
    a, b, c, d = st.columns(4)
    a.metric("test accuracy", pct(ev.accuracy))
    b.metric("misread", f"{ev.wrong:,} of {ev.count:,}")
    c.metric("hardest digit", str(worst), f"{pct(ev.per_class[worst])} read correctly",
             delta_color="off", delta_arrow="off")
    d.metric("evaluated in", f"{ev.seconds:.1f} s", "all digits, no gradients", delta_color="off",
             delta_arrow="off")
    st.caption(f"{literal(choice.label)}: {literal(catalogue.checkpoint_summary(checkpoint_meta(choice.path)))}")
    left, right = st.columns([1.15, 1], gap="large")
    with left:
        chart(evaluation_charts.confusion_figure(ev.confusion), key="results_confusion")
    with right:
        chart(evaluation_charts.per_class_figure(ev.per_class, style.COLORS.get(model, "#4F46E5")),
              key="results_per_class")
    st.caption("Rows are the true digit, columns what the network read: the diagonal is right, every "
               "other cell a kind of mistake (hover for counts).")
    gallery(model, choice, ev, images)


def gallery(model: str, choice, ev, images: np.ndarray) -> None:
    st.subheader("Misread digits")
    digit = [None] + list(range(10))
    a, b, c = st.columns([1, 1, 3], vertical_alignment="bottom")
    true = a.selectbox("True digit", digit, format_func=lambda v: "any" if v is None else str(v),
                       key="results_true")
    read = b.selectbox("Read as", digit, format_func=lambda v: "any" if v is None else str(v),
                       key="results_read")
    idx = ev.misread(true, read)
    if not len(idx):
        c.caption("")
        st.info("No misread digits of this kind.", icon=":material/check_circle:")
        return
    limit = int(st.session_state.get(SHOWN, GALLERY))
    c.caption(f"{len(idx):,} misread, the most confident mistakes first"
              + (f"; the first {limit} shown" if len(idx) > limit else "")
              + ". **Inspect** opens a digit in the Inspect page's feature maps.")
    shown = [int(i) for i in idx[:limit]]
    for start in range(0, len(shown), PER_ROW):
        for col, i in zip(st.columns(PER_ROW), shown[start:start + PER_ROW]):
            with col:
                digit_card(model, choice, ev, images, i)
    if len(idx) > limit:
        more = min(GALLERY, len(idx) - limit)
        st.button(f"Show {more} more", key="results_more", icon=":material/expand_more:",
                  on_click=lambda: st.session_state.__setitem__(SHOWN, limit + more))


def digit_card(model: str, choice, ev, images: np.ndarray, i: int) -> None:
    with st.container(border=True):
        big = np.kron(np.asarray(images[i], dtype=np.uint8), np.ones((3, 3), dtype=np.uint8))  # 84 x 84
        st.image(big, caption=f"test digit #{i}", width=84)
        st.markdown(f"true **{ev.labels[i]}** → read **{ev.predictions[i]}**")
        st.caption(" · ".join(f"{d}: {100 * p:.0f}%" if p >= 0.005 else f"{d}: <1%"
                              for d, p in zip(ev.top_digits[i], ev.top_probs[i])))
        if st.button("Inspect", key=f"results_inspect_{i}", width="stretch",
                     help="open this digit in the Inspect page's feature maps"):
            open_on_inspect(model, choice.path, i)


def downloads(choice) -> None:
    st.markdown("**Download**")
    if choice is None:
        st.caption("No checkpoint of this network yet.")
        return
    for f in shared_files(choice.path):
        size = f.path.stat().st_size
        what = "Checkpoint" if f.what == "checkpoint" else "Per-epoch metrics"
        st.download_button(f"{what}: {f.file_name} ({size / 1024:,.0f} KB)", data=f.read,
                           file_name=f.file_name, mime=f.mime, on_click="ignore", key=f"results_dl_{f.what}",
                           icon=":material/download:")
    onnx_button(choice, key="results_dl_onnx")
    checkpoint_report_button(choice.path, "results")  # its run as one HTML file
    if choice.uploaded:
        if st.button("Remove this upload", key="results_remove", icon=":material/delete:"):
            remove_upload(choice.path)
            st.rerun()


def uploader() -> None:
    st.markdown("**Upload a checkpoint**")
    up = st.file_uploader(f"A netlib checkpoint (.pt, up to {MAX_UPLOAD_BYTES // 2**20} MB): once checked, "
                          "every checkpoint picker (Draw, Inspect, Results) offers it",
                          type=["pt", "pth", "ckpt"], key="results_upload")
    if up is None:
        st.session_state.pop(UPLOAD_DONE, None)
        st.session_state.pop(UPLOAD_MESSAGE, None)
        return
    if st.session_state.get(UPLOAD_DONE) != up.file_id:  # the uploader hands back its file every run
        st.session_state[UPLOAD_DONE] = up.file_id
        try:
            stored = store_upload(up.getvalue(), up.name)
        except CheckpointError as e:
            st.session_state[UPLOAD_MESSAGE] = ("error", f"Refused: {e}")
        except Exception as e:  # noqa: BLE001 - e.g. the uploads folder is not writable
            st.session_state[UPLOAD_MESSAGE] = ("error", friendly(e))
        else:
            again = "" if stored.new else " (already uploaded: the same file)"
            st.session_state[UPLOAD_MESSAGE] = (
                "success", f"Checked and stored as **{stored.label}**{again}: a {stored.model} checkpoint, "
                           "now in every checkpoint picker.")
            st.session_state[SELECT] = (stored.model, str(stored.path))
            st.rerun()
    kind, text = st.session_state.get(UPLOAD_MESSAGE, (None, None))
    if kind == "error":
        st.error(text, icon=":material/block:")
    elif kind == "success":
        st.success(text, icon=":material/check_circle:")


def main() -> None:
    st.title("Results")
    st.caption("Where a trained network fails: every MNIST test digit read once, the mistakes counted "
               "and shown.")
    runs = reader.run_index(runs_dir())
    apply_selection(runs)
    a, b = st.columns([1, 2])
    with a:
        model = st.radio("Network", list(MODELS), horizontal=True, key="results_model",
                         format_func=title)
    with b:
        choice = checkpoint_picker(model, runs, key=f"results_ckpt_{model}")
    if choice is not None:
        guarded(report)(model, choice)
    st.divider()
    st.subheader("Share")
    left, right = st.columns(2, gap="large")
    with left:
        guarded(downloads)(choice)
    with right:
        guarded(uploader)()


links.run("results", main)
