"""The Handwriting page under streamlit.testing (AppTest): the guided collection (keep, skip, undo, redraw),
an uploaded digit added to a set, the set list (held-out share, rename, delete, zip), bad input as one line."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from netlib.analysis.strokes import Style, draw_paths, render
from netlib.handwriting import sets
from support import assert_clean, charts
from pages_support import fake_run, lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)

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
    press(at, "hw_undo")  # the redraw taken back: the first drawing is in the set again, nothing lost
    assert stored().labels.tolist() == [0] and np.array_equal(stored().images[0], first)
    assert prompt(at) == "Draw a 1" and len([b for b in at.button if b.key.startswith("hw_redo_0_0_")]) == 1


def test_collect_refuses_a_scribble_and_keeps_nothing():
    at = start(open_page(PAGE))
    at = draw(at, 8, scribble=True)
    at.button(key="hw_keep").click().run()
    assert not at.exception
    assert at.warning and "scribble" in at.warning[0].value.lower()
    assert len(stored()) == 0 and prompt(at) == "Draw a 0"


def test_collect_a_name_with_nothing_usable_or_no_digit_is_one_line():
    at = open_page(PAGE)
    at.text_input(key="hw_new_name").input("///")
    at.button[0].click().run()
    assert not at.exception
    assert len(at.error) == 1 and "name" in at.error[0].value
    at.text_input(key="hw_new_name").input("ok")
    at.button_group(key="hw_digits").set_value([])
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["choose at least one digit to draw"]
    assert sets.list_sets(example=False) == []  # no set made for a collection that did not start


def test_collect_only_the_digits_asked_for():
    at = open_page(PAGE)
    at.button_group(key="hw_digits").set_value([1, 7])
    at = start(at, k=3)
    shown = []
    for _ in range(6):
        shown.append(prompt(at))
        press(draw(at, int(prompt(at)[-1])), "hw_keep")
    assert shown == ["Draw a 1", "Draw a 7"] * 3
    assert any("Done: 6 examples kept" in s.value for s in at.success)
    s = stored()
    assert s.labels.tolist() == [1, 7] * 3 and s.held_out.sum() == 2  # one of each held out


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
    at.selectbox(key="hw_show_set").set_value(sets.EXAMPLE_SET).run()
    assert any(c.value.startswith(f"{sets.EXAMPLE_SET} is synthetic") for c in at.caption)


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


def test_fine_tune_queues_one_run_per_variant_from_the_picked_checkpoint(lab):  # noqa: F811
    import json

    from netlib.handwriting import tuning
    from netlib.lab import catalogue
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "Fine-tune"
    at.run()
    assert_clean(at)
    at.selectbox(key="hw_model").set_value("residual").run()
    at.selectbox(key="hw_tune_set").set_value(sets.EXAMPLE_SET)
    at.radio(key="hw_variant").set_value("all three").run()
    assert any("synthetic" in c.value for c in at.caption)  # the example set says what it is
    press(at, "hw_tune")
    runs = sorted(p for p in lab.iterdir() if p.is_dir())
    asked = [json.loads((d / "queued.json").read_text())["request"] for d in runs]
    assert sorted((r["tune"], r.get("replay", 0)) for r in asked) == [("all", 0), ("all", tuning.REPLAY), ("last", 0)]
    assert all(r["handwriting"] == sets.EXAMPLE_SET and r["model"] == "residual" for r in asked)
    assert {r["start_from"] for r in asked} == {str(catalogue.shipped_checkpoint("residual"))}
    assert at.session_state["train_run"] in {str(d) for d in runs}  # Train watches the first of them


def tuned_run(lab, name: str, variant: str, set_name: str = sets.EXAMPLE_SET) -> Path:  # noqa: F811
    """A finished fine-tuning run written without training: its request and changes.json as a run's end
    writes them (changes.compute of two seeded untrained networks on the example set and its digits)."""
    import json

    import torch

    from netlib.data import normalize
    from netlib.handwriting import changes, tuning
    from netlib.lab import catalogue
    run = fake_run(lab, name, "residual", checkpoint=True)
    config = json.loads((run / "config.json").read_text())
    config["request"] = tuning.request("residual", catalogue.shipped_checkpoint("residual"), set_name,
                                       variant).to_dict()
    (run / "config.json").write_text(json.dumps(config))
    s = sets.load_set(None, set_name)
    before, after = (catalogue.untrained_model("residual", seed=i) for i in (0, 1 + len(variant)))
    out = changes.compute(before, after, s, normalize(s.images), torch.as_tensor(s.labels))
    (run / changes.CHANGES).write_text(json.dumps(out))
    changes.write_snapshot(run, s)
    return run


def test_what_changed_shows_the_variants_side_by_side_and_the_digits_read_differently(lab):  # noqa: F811
    from netlib.handwriting import changes
    runs = [tuned_run(lab, f"20260101-00000{i}-residual-tune-00{i}", v) for i, v in enumerate(("last", "all", "replay"))]
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "What changed"
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value.to_dict("records")
    assert [r["variant"] for r in table] == ["whole network with MNIST replay", "whole network", "last layer only"]
    for r, run in zip(table, runs[::-1]):
        measured = changes.read_changes(run)
        assert r["MNIST after %"] == round(100 * measured["mnist"]["after"], 2)
        assert r["held-out digits"] == measured["held_out"]["n"] == 10
    assert "hw_variants_chart" in charts(at)
    per_digit = at.dataframe[1].value.to_dict("records")
    assert [r["digit"] for r in per_digit] == list(range(10)) and all(r["held out"] == 1 for r in per_digit)
    changed = changes.read_changes(runs[2])["changed"]
    assert any(f"{len(changed)} of the set's 60 digits" in m.value for m in at.markdown)
    assert not at.error, [e.value for e in at.error]
    shown = min(len(changed), 48)  # as images; the rest counted
    assert len(changed) <= 48 or any(c.value == f"and {len(changed) - shown} more" for c in at.caption)


def test_draw_offers_a_fine_tuned_checkpoint_saying_on_which_set(lab):  # noqa: F811
    tuned_run(lab, "20260101-000000-residual-tune-001", "replay")
    at = open_page("app_pages/draw.py")
    labels = at.selectbox(key="draw_ckpt_residual").options
    assert any("fine-tuned on example-synthetic (whole network with MNIST replay)" in o for o in labels), labels


def test_compare_leads_to_the_fine_tuning_variants_side_by_side(lab):  # noqa: F811
    at = open_page("app_pages/compare.py")
    assert not [b for b in at.button if b.key == "cmp_tuning"]  # no fine-tuning run, no button
    tuned_run(lab, "20260101-000000-residual-tune-001", "last")
    at = open_page("app_pages/compare.py")
    press(at, "cmp_tuning")
    assert at.title[0].value == "Handwriting" and at.session_state["hw_tab"] == "What changed"
    assert at.dataframe[0].value.to_dict("records")[0]["variant"] == "last layer only"


def test_the_digits_read_differently_are_the_ones_the_run_trained_on_not_the_set_now(lab):  # noqa: F811
    from netlib.handwriting import changes
    ex = sets.load_set(None, sets.EXAMPLE_SET)
    sets.write_set(None, "mine", ex.images, ex.labels, ex.held_out)
    run = tuned_run(lab, "20260101-000000-residual-tune-001", "last", "mine")
    sets.delete_set(None, "mine")  # deleted and made again under the same name, with other digits
    sets.write_set(None, "mine", ex.images[:2], ex.labels[:2], [False, True])
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "What changed"
    at.run()
    assert_clean(at)
    changed = changes.read_changes(run)["changed"]
    assert changed and len(at.get("image")) == min(len(changed), 48)
