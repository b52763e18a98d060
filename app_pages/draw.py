"""Draw: a canvas (or an uploaded image) read by both networks, with what they see and how sure they are."""

import time

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from app_pages import _links as links
from app_pages import _upload_parts as upload_parts
from app_pages._canvas_clear import clear_button
from app_pages._common import chart, checkpoint_picker, guarded, load_model, runs_dir
from app_pages._export import onnx_button
from netlib.analysis.explain import BRANCH_HELP, METHODS, doubt, explain
from netlib.analysis.predict import probabilities
from netlib.analysis.preprocess import BLANK_HINT, prepare
from netlib.charts import digits, style
from netlib.charts import explain as explain_charts
from netlib.models import SHOWCASE
from netlib.runs import reader

CANVAS = 280
LAST_DRAWN = "last_drawn"  # read by the Inspect page
CANVAS_EMPTY = BLANK_HINT + " Draw on the black square with the mouse or a finger, or upload an image."


CLEARS = "canvas_clears"  # times the server had to empty the canvas (_canvas_clear's fallback only)


def drawing_input():
    """The canvas with its brush slider and Clear button; the RGBA array, or None when untouched."""
    width = st.slider("Brush width", 6, 40, 18, key="brush")
    # The canvas is CANVAS px wide in any column. From ~640 px wide (where columns stop stacking), a
    # tablet's 768 among them, to ~1,400 px with the sidebar open, its column was narrower, and the
    # component hid the canvas's right part behind a scrollbar, out of a finger's reach. Its column is
    # kept at least as wide as the canvas (the answers move below it where both do not fit).
    # Clear empties the canvas in the browser (app_pages/_canvas_clear.py); the initial drawing changes only
    # when that cannot be done there and the server empties it instead.
    clears = st.session_state.setdefault(CLEARS, 0)
    result = st_canvas(stroke_width=width, stroke_color="#FFFFFF", background_color="#000000",
                       height=CANVAS, width=CANVAS, drawing_mode="freedraw", return_image_data=True,
                       update_streamlit=True, initial_drawing={"objects": [], "clears": clears}, key="canvas")
    # Hidden: how many strokes the answers on the page were computed from, so a browser test or benchmark
    # knows an answer is its last stroke's even when a loaded browser paints a whole rerun at once.
    strokes = len((result.json_data or {}).get("objects") or [])
    st.html(f'<style>[data-testid="stColumn"]:has(.st-key-canvas) {{ min-width: {CANVAS}px }}'
            '[data-testid="stElementContainer"]:has(.drawn-strokes) { display: none }</style>'
            f'<span class="drawn-strokes" data-strokes="{strokes}"></span>')
    if clear_button("canvas", key="clear"):
        st.session_state[CLEARS] += 1
        st.session_state.pop(LAST_DRAWN, None)
        st.rerun()  # the canvas gets its new, empty initial drawing
    if not strokes:  # an empty canvas: nothing to read, and nothing for Inspect to show as the last drawing
        st.session_state.pop(LAST_DRAWN, None)
        return None
    return result.image_data


def answer(model: str, probs: list[float], column) -> None:
    """One network's reading: the digit, its confidence, the ten probability bars."""
    best = max(range(10), key=lambda d: probs[d])
    with column:
        st.metric(f"{model.capitalize()} reads", str(best), f"{100 * probs[best]:.1f}% sure",
                  delta_color="off", delta_arrow="off")
        chart(digits.probability_figure(probs, style.model_color(model)), key=f"probs_{model}")


def predictions(image, upload: upload_parts.Upload | None = None, empty: str = CANVAS_EMPTY) -> None:
    """Both networks' answers side by side, then what the networks see (for an upload: the ink found
    too); `empty`: the hint while there is no image."""
    runs = reader.run_index(runs_dir())
    picks = {}
    for model, col in zip(SHOWCASE, st.columns(2)):
        with col:
            picks[model] = checkpoint_picker(model, runs, key=f"draw_ckpt_{model}",
                                             label=f"{model.capitalize()} checkpoint")
            onnx_button(picks[model], key=f"draw_onnx_{model}")
    if image is None:
        st.info(empty, icon=":material/draw:")
        return
    nets = {m: load_model(c.path)[0] for m, c in picks.items() if c is not None}
    t0 = time.perf_counter() - (upload.seconds if upload else 0.0)
    prepared = upload.prepared if upload else prepare(image)  # an upload comes prepared as the person set it
    if prepared.blank or prepared.scribble:
        if prepared.blank:
            st.info(prepared.hint or BLANK_HINT, icon=":material/draw:")
        else:  # a scribble or a blob: no digit to read, so no confident answer either
            st.warning(prepared.hint, icon=":material/gesture:")
        if upload:
            upload_parts.what_it_found(upload)
        return
    probs = {m: probabilities(net, prepared.tensor)[0].tolist() for m, net in nets.items()}
    ms = 1000 * (time.perf_counter() - t0)
    st.session_state[LAST_DRAWN] = prepared.preview
    if note := doubt(probs):
        st.warning(note, icon=":material/help:")
    for (model, p), col in zip(probs.items(), st.columns(2)):
        answer(model, p, col)
    footnote = (f"preprocessing + {len(nets)} prediction(s): {ms:.0f} ms on the server · the Inspect "
                "page can show this digit's feature maps")
    if upload:
        upload_parts.what_it_found(upload, footnote)
    else:
        seen(prepared.preview, footnote)
    if nets:
        explanation(prepared.tensor, prepared.preview, nets)


def seen(preview, footnote: str) -> None:
    """What the networks see of a drawing, and how long reading it took."""
    with st.container(border=True):
        a, b = st.columns([1, 2], vertical_alignment="center")
        with a:
            chart(digits.digit_figure(preview, height=170), key="preview")
        b.markdown("**What the networks see**: your digit cropped, scaled to fit 20 x 20 pixels and "
                   "centred by its centre of mass in 28 x 28, as MNIST's digits were.")
        b.caption(footnote)


def explanation(tensor, preview, nets: dict) -> None:
    """Why each network read what it read: a saliency map over the digit; Inception's branches."""
    t0 = time.perf_counter()
    found = {m: explain(net, tensor) for m, net in nets.items()}
    ms = 1000 * (time.perf_counter() - t0)
    with st.container(border=True):
        st.markdown("**Why these answers**")
        method = st.radio("Explain with", list(METHODS), horizontal=True, key="explain_method",
                          label_visibility="collapsed")
        st.caption(METHODS[method])
        signed = method == "Gradient x input"
        for (model, e), col in zip(found.items(), st.columns(2)):
            with col:
                chart(explain_charts.saliency_figure(preview, e.gradient_x_input if signed else e.grad_cam,
                                                     signed, title=f"{model.capitalize()}: why {e.target}"),
                      key=f"saliency_{model}")
        blocks = found.get("inception") and found["inception"].branches
        if blocks:
            st.markdown("**Inception's four branches** on this digit")
            chart(explain_charts.branch_figure(blocks), key="branches")
            st.caption(BRANCH_HELP)
        st.caption(f"explanations for {len(found)} network(s): {ms:.0f} ms on the server")


def main() -> None:
    st.title("Draw")
    left, right = st.columns([1, 2], gap="large")
    with left:
        mode = st.radio("Input", ["Draw", "Upload an image"], horizontal=True, key="draw_mode",
                        label_visibility="collapsed")
        upload = None if mode == "Draw" else guarded(upload_parts.upload_input)()
        image = guarded(drawing_input)() if mode == "Draw" else upload and upload.image
    with right:
        guarded(predictions)(image, upload, CANVAS_EMPTY if mode == "Draw" else upload_parts.WAITING)


# A drawing is strokes in this browser (an upload, a file): too big for a link, and not the lab's to publish
links.run("draw", main, leaves_out="the drawing or the uploaded image: it opens an empty canvas with these "
                                   "checkpoints")
