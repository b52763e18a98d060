"""The Draw page's uploaded image: its ink colour and crop controls, and the ink it found (Streamlit side)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from app_pages._common import chart
from netlib.analysis.images import load_image
from netlib.analysis.preprocess import BLANK_HINT, BLOB_HINT, NO_CONTRAST_HINT, SCRIBBLE_HINT, Prepared, prepare
from netlib.charts import digits

UPLOAD = "upload"  # the file uploader's key
RESETS = "upload_resets"  # times Reset was pressed: part of the controls' keys
FULL = (0, 100)  # a crop range in percent: the whole side
INK_CHOICES = {"auto": None, "dark": True, "light": False}  # -> prepare's dark_ink
INK_LABELS = {"dark": "Dark ink on light paper", "light": "Light ink on dark paper"}
SHOW = 190  # px: the longer side of each image in the row
BOX_COLOR = (22, 163, 74)  # green: visible on white paper and on black
WAITING = "Upload an image of one digit: a photo, a scan or a drawing, dark ink on light paper or light on dark."
CROP_HINT = " The crop may leave the digit out: widen it, or press Reset."
# prepare's hints for a drawing, said of an image: no canvas to clear here, but an ink colour and a crop to set
IMAGE_HINTS = {
    SCRIBBLE_HINT: "That looks like a scribble, not one digit: too many strokes on top of each other. If the "
                   "paper is read as ink, change the ink colour; if the image holds more, crop it to one digit.",
    BLOB_HINT: "That looks like a dot or a blob, not a digit. If the paper is read as ink, change the ink "
               "colour; if the image holds more, crop it to the digit.",
}
FRAME = (203, 213, 225)  # a thin grey frame: white paper shows its edge on the white page
EXPLAINED = ("**What the networks see**: the ink it found, cropped to its box, scaled to fit 20 x 20 pixels "
             "and centred by its centre of mass in 28 x 28, as MNIST's digits were.")


@dataclass(frozen=True)
class Upload:
    """An uploaded image as the person has set it up: what `prepare` made of it, and how."""

    image: Image.Image
    name: str
    prepared: Prepared
    box: tuple[int, int, int, int] | None  # the crop in input pixels; None: the whole image
    seconds: float  # spent preparing it (both polarities when one was forced)


def pixel_box(size: tuple[int, int], crop_x=FULL, crop_y=FULL) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) in pixels of an image of `size` (w, h) for crop ranges in percent;
    None for the whole image."""
    if tuple(crop_x) == FULL and tuple(crop_y) == FULL:
        return None
    w, h = size
    (x0, x1), (y0, y1) = sorted(crop_x), sorted(crop_y)
    return round(x0 * w / 100), round(y0 * h / 100), round(x1 * w / 100), round(y1 * h / 100)


def read_upload(image: Image.Image, ink: str = "auto", crop_x=FULL, crop_y=FULL) -> tuple[Prepared, Prepared]:
    """(what the networks get, the automatic reading) of an image for the controls' values: ink one of
    INK_CHOICES, crops (low, high) in percent. An empty upload's hint speaks of the image, never the canvas."""
    box = pixel_box(image.size, crop_x, crop_y)
    auto = _worded(prepare(image, None, box), box)
    if INK_CHOICES.get(ink) is None:
        return auto, auto
    return _worded(prepare(image, INK_CHOICES[ink], box), box), auto


def _worded(prepared: Prepared, box) -> Prepared:
    """prepare's result with its hint said of an image (a transparent PNG gets the canvas's words)."""
    if not prepared.blank:
        return dataclasses.replace(prepared, hint=IMAGE_HINTS.get(prepared.hint, prepared.hint))
    hint = NO_CONTRAST_HINT if prepared.hint in ("", BLANK_HINT) else prepared.hint
    return dataclasses.replace(prepared, hint=hint + (CROP_HINT if box is not None else ""))


def _reset() -> None:
    st.session_state[RESETS] = st.session_state.get(RESETS, 0) + 1


def keys_for(file_id: str) -> dict[str, str]:
    """The controls' widget keys for this file and this many resets: a different file, or Reset, makes new
    widgets, which start from their defaults."""
    token = f"{file_id}_{st.session_state.get(RESETS, 0)}"
    return {name: f"upload_{name}_{token}" for name in ("ink", "crop_x", "crop_y")}


def upload_input() -> Upload | None:
    """The uploader, then the controls for when the automatic reading is wrong; None until a file comes."""
    up = st.file_uploader("An image of one digit (PNG, JPEG, GIF, BMP, WebP)",
                          type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key=UPLOAD)
    if up is None:
        return None
    image = load_image(up.getvalue())
    keys = keys_for(getattr(up, "file_id", None) or f"{up.name}_{up.size}")
    ink_slot = st.container()  # above the crop, but drawn after it: its Automatic label needs the crop
    crop_x = st.slider("Crop, left to right (% of the width)", 0, 100, FULL, key=keys["crop_x"],
                       help="A box around the digit, when the image holds more than the digit")
    crop_y = st.slider("Crop, top to bottom (% of the height)", 0, 100, FULL, key=keys["crop_y"])
    st.button("Reset ink colour and crop", icon=":material/restart_alt:", key="upload_reset", on_click=_reset)
    t0 = time.perf_counter()  # the ink colour clicked is in the state before its widget is drawn again
    prepared, auto = read_upload(image, st.session_state.get(keys["ink"]) or "auto", crop_x, crop_y)
    seconds = time.perf_counter() - t0
    with ink_slot:
        st.segmented_control(
            "Ink colour", list(INK_CHOICES), default="auto", required=True, key=keys["ink"],
            format_func=lambda c: INK_LABELS.get(c) or f"Automatic ({'dark' if auto.dark_ink else 'light'} ink)",
            help="Automatic takes the ink to be the smaller tone that keeps off the image's edge: choose "
                 "the other when that is wrong")
    return Upload(image, up.name, prepared, pixel_box(image.size, crop_x, crop_y), seconds)


def _fit(image: Image.Image, side: int = SHOW, resample=Image.Resampling.LANCZOS) -> tuple[Image.Image, float]:
    """A copy whose longer side is `side` px, and the scale from input to display pixels."""
    f = side / max(image.size)
    size = (max(1, round(image.width * f)), max(1, round(image.height * f)))
    return image.resize(size, resample, reducing_gap=3.0), f  # a 4096 px photo: shrunk in steps, fast


def boxed(upload: Upload) -> Image.Image:
    """The upload, scaled for display, on paper of its own polarity where transparent; outside the crop
    dimmed, the ink's box drawn."""
    image = upload.image
    if image.mode in ("LA", "RGBA"):
        paper = Image.new("RGBA", image.size, "white" if upload.prepared.dark_ink else "black")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    shown, f = _fit(image.convert("RGB"))
    framed(shown)
    if upload.box is not None:
        inside = Image.new("L", shown.size, 0)
        ImageDraw.Draw(inside).rectangle([round(v * f) for v in upload.box], fill=255)
        shown = Image.composite(shown, Image.blend(shown, Image.new("RGB", shown.size), 0.65), inside)
    if upload.prepared.bbox is not None:
        left, top, right, bottom = (v * f for v in upload.prepared.bbox)
        ImageDraw.Draw(shown).rectangle([round(left), round(top), max(round(right) - 1, round(left)),
                                         max(round(bottom) - 1, round(top))], outline=BOX_COLOR, width=2)
    return shown


def framed(image: Image.Image) -> Image.Image:
    """The image with a thin grey frame drawn on its edge (in place)."""
    ImageDraw.Draw(image).rectangle([0, 0, image.width - 1, image.height - 1], outline=FRAME)
    return image


def found_image(prepared: Prepared) -> Image.Image:
    """The ink map as found (white ink on black), at display size."""
    found = prepared.found if prepared.found is not None else np.zeros((28, 28), np.uint8)
    return framed(_fit(Image.fromarray(found, "L"))[0].convert("RGB"))


def squared(image: Image.Image, side: int = SHOW) -> Image.Image:
    """The image centred on a transparent square: the row's images line up whatever their shapes."""
    out = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    out.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return out


def what_it_found(upload: Upload, footnote: str = "") -> None:
    """Three images in a row: the upload with the ink's box, the ink found, the 28 x 28 the networks see."""
    p = upload.prepared
    with st.container(border=True):
        a, b, c = st.columns(3)
        crop = "" if upload.box is None else ", the crop dimmed around"
        a.image(squared(boxed(upload)), width="stretch",
                caption=f"{upload.name}: the ink's box{crop}" if p.bbox else f"{upload.name}{crop}")
        polarity = "dark ink, inverted" if p.dark_ink else "light ink"
        b.image(squared(found_image(p)), width="stretch",
                caption=f"The ink it found ({polarity})" if p.bbox else "No ink found")
        with c:
            chart(digits.digit_figure(p.preview, height=SHOW), key="preview")
            st.caption("What the networks see (28 x 28)", text_alignment="center")
        st.markdown(EXPLAINED)
        if footnote:
            st.caption(footnote)
