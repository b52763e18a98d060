"""The Handwriting page under streamlit.testing (AppTest): the guided collection (keep, skip, undo, redraw),
an uploaded digit added to a set, the set list (held-out share, rename, delete, zip), bad input as one line."""

from __future__ import annotations

import base64
import io

import numpy as np
from streamlit.testing.v1 import AppTest

from netlib.analysis.strokes import Style, draw_paths, render
from netlib.handwriting import sets
from support import assert_clean
from pages_support import lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)

PAGE = "app_pages/handwriting.py"


def digit_url(digit: int, scribble: bool = False) -> str:
    """A canvas-like PNG (transparent, white ink) of a clearly drawn digit, or of a scribble (ten random
    strokes on top of each other)."""
    img = render(digit, Style(box=0.7, width=18, polarity="transparent"))
    if scribble:
        rng = np.random.default_rng(1)
        strokes = []
        for _ in range(10):
            pts = rng.uniform(0.03, 0.97, size=(6, 2)) * 280
            strokes.append([tuple(a + (b - a) * t) for a, b in zip(pts[:-1], pts[1:]) for t in np.linspace(0, 1, 30)])
        img = draw_paths(strokes, Style(width=18, polarity="transparent"))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def draw(at: AppTest, digit: int, scribble: bool = False) -> AppTest:
    """What the canvas now shown reports after a drawing (one stroke object, its image)."""
    key = at.session_state["hw_canvas_key"]
    at.session_state[key] = {"drawing": {"raw": {"objects": [{"type": "path"}]}, "data": digit_url(digit, scribble)}}
    return at.run()


def press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert_clean(at)
    return at


def prompt(at: AppTest) -> str:
    return at.subheader[0].value if at.subheader else ""


def start(at: AppTest, name: str = "mine", k: int = 3) -> AppTest:
    at.text_input(key="hw_new_name").input(name)
    at.number_input(key="hw_k").set_value(k)
    at.button[0].click().run()  # the form's Start collecting
    assert_clean(at)
    return at


def stored(name: str = "mine") -> sets.HandwritingSet:
    return sets.load_set(None, name)


def test_collect_keep_skip_undo_and_redraw():
    at = start(open_page(PAGE))
    assert prompt(at) == "Draw a 0"
    assert at.button(key="hw_keep").disabled  # nothing drawn yet
    press(draw(at, 0), "hw_keep")
    assert prompt(at) == "Draw a 1" and stored().labels.tolist() == [0]
    press(at, "hw_skip")
    assert prompt(at) == "Draw a 2"
    press(at, "hw_undo")  # the skip taken back: 1 again, on an empty canvas
    assert prompt(at) == "Draw a 1" and at.button(key="hw_keep").disabled
    press(draw(at, 1), "hw_keep")
    press(at, "hw_undo")  # the kept 1 leaves the set
    assert prompt(at) == "Draw a 1" and stored().labels.tolist() == [0]
    first = stored().images[0].copy()
    press(at, "hw_redo_0_0_1")  # the kept 0, drawn again: it replaces the first drawing
    assert prompt(at) == "Draw a 0 again"
    press(draw(at, 6), "hw_keep")  # (a 6 drawn where the 0 was: the stored image shows it was replaced)
    assert stored().labels.tolist() == [0] and not np.array_equal(stored().images[0], first)
    assert prompt(at) == "Draw a 1"


def test_collect_refuses_a_scribble_and_keeps_nothing():
    at = start(open_page(PAGE))
    at = draw(at, 8, scribble=True)
    at.button(key="hw_keep").click().run()
    assert not at.exception
    assert at.warning and "scribble" in at.warning[0].value.lower()
    assert len(stored()) == 0 and prompt(at) == "Draw a 0"


def test_collect_a_name_with_nothing_usable_is_one_line():
    at = open_page(PAGE)
    at.text_input(key="hw_new_name").input("///")
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "name" in at.error[0].value


def a_set(name: str = "mine", per_digit: int = 2) -> None:
    """A set of drawn digits written through the sets API: per_digit of each, one of each held out."""
    from netlib.analysis.preprocess import prepare
    sets.create_set(None, name)
    for i in range(per_digit):
        for d in range(10):
            image = render(d, Style(box=0.6 + 0.05 * i, width=18, polarity="light_on_dark"))
            sets.add_example(None, name, prepare(image).preview, d)


def sets_tab(at: AppTest) -> AppTest:
    at.session_state["hw_tab"] = "Your sets"
    return at.run()


def test_the_set_list_shows_each_digit_and_the_held_out_share():
    a_set()
    at = sets_tab(open_page(PAGE))
    assert_clean(at)
    rows = at.dataframe[0].value.to_dict("records")
    mine = next(r for r in rows if r["set"] == "mine")
    assert (mine["examples"], mine["held out"], mine["3"]) == (20, 10, 2)
    assert any(r["kind"] == "synthetic example" for r in rows)  # the shipped example set, said so
    assert any("held out" in c.value for c in at.caption)


def test_rename_and_delete_a_set():
    a_set()
    at = sets_tab(open_page(PAGE))
    at.text_input(key="hw_rename_to").input("renamed").run()
    press(at, "hw_rename")
    assert [s.name for s in sets.list_sets(example=False)] == ["renamed"]
    at.selectbox(key="hw_set_pick").set_value("renamed")
    press(at.run(), "hw_delete")
    assert sets.list_sets(example=False) == []


def test_a_set_s_zip_comes_back_and_a_bad_zip_is_one_line():
    from netlib.handwriting import archive
    a_set()
    data = archive.export_zip(None, "mine")
    sets.delete_set(None, "mine")
    at = sets_tab(open_page(PAGE))
    at.file_uploader(key="hw_zip").upload("mine.zip", data, "application/zip")
    press(at.run(), "hw_zip_add")
    assert len(sets.load_set(None, "mine")) == 20
    assert any("mine" in s.value for s in at.success)
    at.file_uploader(key="hw_zip").upload("bad.zip", b"PK\x03\x04 not a zip at all", "application/zip")
    at.run().button(key="hw_zip_add").click().run()
    assert not at.exception and len(at.error) == 1, [e.value for e in at.error]
    assert [s.name for s in sets.list_sets(example=False)] == ["mine"]  # nothing else written
