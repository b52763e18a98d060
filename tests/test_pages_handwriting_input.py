"""The Handwriting page's other ways in and bad input (AppTest): an uploaded digit image added to a set with
its label, a set folder that cannot be read listed with its problem, a set fine-tuning cannot learn from."""

from __future__ import annotations

import io

from netlib.analysis.strokes import Style, render
from netlib.handwriting import sets
from support import assert_clean
from pages_support import lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)

PAGE = "app_pages/handwriting.py"


def png(digit: int) -> bytes:
    """A photo-like image of one digit: dark ink on light paper."""
    buf = io.BytesIO()
    render(digit, Style(polarity="dark_on_light", width=20)).convert("RGB").save(buf, "PNG")
    return buf.getvalue()


def test_an_uploaded_digit_is_added_with_its_label():
    sets.create_set(None, "mine")
    at = open_page(PAGE)
    at.file_uploader(key="upload").upload("four.png", png(4), "image/png")
    at.run()
    assert_clean(at)
    assert at.button(key="hw_upload_add").disabled  # no label yet
    at.selectbox(key="hw_upload_label").set_value(4).run()
    at.button(key="hw_upload_add").click().run()
    assert_clean(at)
    s = sets.load_set(None, "mine")
    assert s.labels.tolist() == [4] and s.images[0].shape == (28, 28) and s.images[0].any()
    assert at.button(key="hw_upload_add").disabled  # the label is cleared: a second click adds no copy


def test_a_set_folder_that_cannot_be_read_is_listed_with_its_problem():
    sets.create_set(None, "broken")
    (sets.set_dir(None, "broken") / "set.json").write_text("{ not json")
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "Your sets"
    at.run()
    assert not at.exception and not at.error
    assert any(w.value.startswith("broken:") for w in at.warning)
    rows = at.dataframe[0].value.to_dict("records")
    assert next(r for r in rows if r["set"] == "broken")["kind"] == "unreadable"


def test_fine_tuning_on_a_set_of_one_digit_is_refused_in_one_line(lab):  # noqa: F811
    from netlib.analysis.preprocess import prepare
    sets.create_set(None, "ones")
    for i in range(3):
        sets.add_example(None, "ones", prepare(render(1, Style(box=0.6 + 0.05 * i))).preview, 1)
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "Fine-tune"
    at.run()
    at.selectbox(key="hw_tune_set").set_value("ones").run()
    at.button(key="hw_tune").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "only 1s" in at.error[0].value, [e.value for e in at.error]
    assert not any(p.is_dir() for p in lab.glob("*"))  # nothing queued


def test_a_kept_drawing_that_cannot_be_stored_says_why_and_stays_to_keep():
    """The set deleted in another tab while collecting: Keep says so in one line, the prompt stays."""
    import base64
    at = open_page(PAGE)
    at.text_input(key="hw_new_name").input("gone")
    at.button[0].click().run()
    sets.delete_set(None, "gone")
    url = "data:image/png;base64," + base64.b64encode(png_canvas(3)).decode()
    at.session_state[at.session_state["hw_canvas_key"]] = {"drawing": {"raw": {"objects": [{}]}, "data": url}}
    at.run().button(key="hw_keep").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "gone" in at.error[0].value
    assert at.subheader[0].value == "Draw a 0"


def png_canvas(digit: int) -> bytes:
    buf = io.BytesIO()
    render(digit, Style(box=0.7, width=18, polarity="transparent")).save(buf, "PNG")
    return buf.getvalue()


def test_a_link_opens_the_handwriting_page_on_its_tab():
    from streamlit.testing.v1 import AppTest

    from support import APP
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params["tab"] = "What changed"
    at.run().switch_page(PAGE).run()
    assert not at.exception
    assert at.session_state["hw_tab"] == "What changed"
