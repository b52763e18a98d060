"""The Map page under streamlit.testing (AppTest): a checkpoint's map with its figures, a misread digit's card
and its hand-over to Inspect, the Draw page's digit as a star, two maps side by side, and a run's epochs."""

from __future__ import annotations

import numpy as np
import pytest

from netlib.cli import main as netlib_cli
from netlib.data import load_mnist
from netlib.lab import catalogue
from pages_support import lab, open_page, values  # noqa: F401  (lab: autouse, a fresh runs folder and caches)
from support import SHIPPED, assert_clean, charts

needs_shipped = pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
N = 500  # the smallest map the page offers: cheap on 2 busy cores


def map_page(view: str = "one"):
    at = open_page("app_pages/map.py")
    at.select_slider(key="map_n").set_value(N)
    at.radio(key="map_view").set_value(view).run()
    assert_clean(at)
    return at


def points(spec: dict, name_start: str = "") -> int:
    return sum(len(values(t["x"])) for t in spec["data"] if t.get("name", "").startswith(name_start))


@needs_shipped
def test_the_map_of_a_shipped_checkpoint_has_every_digit_and_its_figures():
    at = map_page()
    at.radio(key="map_model").set_value("residual").run()
    assert_clean(at)
    spec = charts(at)["map_one"]
    digits = [t for t in spec["data"] if t["name"] in {str(d) for d in range(10)}]
    assert len(digits) == 10 and sum(len(values(t["x"])) for t in digits) == N
    misread = points(spec, "misread")
    assert 0 < misread < N // 20  # a 99%-accurate network misreads a few
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["features"].rstrip("%")) > 90
    assert "map" in metrics
    assert any(f"{misread:,} of {N:,} misread" in c.value for c in at.caption)


@needs_shipped
def test_a_misread_digit_shows_its_card_and_opens_on_inspect():
    at = map_page()
    at.radio(key="map_model").set_value("residual").run()
    box = at.selectbox(key="map_one_misread")
    first = box.options[1]  # "pick one", then the misread digits
    index = int(first.split(":")[0].lstrip("#"))
    box.set_value(index).run()
    assert_clean(at)
    assert f"test digit #{index}" in [c for im in at.image for c in im.captions]
    assert any(":red[misread]" in m.value for m in at.markdown)
    at.button(key="map_one_inspect").click().run()
    assert not at.exception, [e.value for e in at.exception]
    if at.title[0].value != "Inspect":  # AppTest did not follow st.switch_page: go there as a browser would
        assert at.session_state["inspect_request"] == {
            "model": "residual", "checkpoint": str(catalogue.shipped_checkpoint("residual")), "index": index}
        at.switch_page("app_pages/inspect.py").run()
    assert at.title[0].value == "Inspect" and at.number_input(key="inspect_index").value == index


@needs_shipped
def test_the_draw_pages_digit_is_a_star_on_the_map():
    at = map_page()
    assert not [t for t in charts(at)["map_one"]["data"] if t["name"] == "your drawing"]
    images, _ = load_mnist(False)
    at.session_state["last_drawn"] = images[0].numpy().astype(np.uint8)  # what Draw keeps: the 28x28 it read
    at.run()
    assert_clean(at)
    star = [t for t in charts(at)["map_one"]["data"] if t["name"] == "your drawing"]
    assert len(star) == 1 and "read as <b>7</b>" in star[0]["hovertemplate"]
    assert any("your drawing" in c.value for c in at.caption)


@needs_shipped
def test_two_networks_side_by_side():
    at = map_page("two")
    found = charts(at)
    assert {"map_a", "map_b"} <= set(found)
    assert points(found["map_a"]) >= N and points(found["map_b"]) >= N
    titles = [found[k]["layout"]["title"]["text"] for k in ("map_a", "map_b")]
    assert titles[0].startswith("Inception") and titles[1].startswith("Residual")
    assert len([m for m in at.metric if m.label == "features"]) == 2


def test_epoch_view_explains_how_to_keep_epochs_when_no_run_did():
    at = map_page("epochs")
    assert any("--keep-epochs" in i.value for i in at.info)


def test_a_run_that_kept_its_epochs_moves_on_the_slider(lab, capsys):
    run = lab / "kept"
    assert netlib_cli.main(["train", "--model", "residual", "--synthetic", "200", "--epochs", "2", "--batch-size",
                            "50", "--keep-epochs", "--run-dir", str(run), "--quiet"]) == 0, capsys.readouterr().err
    at = map_page("epochs")
    slider = at.select_slider(key="map_epoch")
    assert slider.options == ["1", "2"] and slider.value == 2
    last = charts(at)["map_frame"]
    per_epoch = charts(at)["map_separation"]
    assert [values(t["x"]) for t in per_epoch["data"]] == [[1, 2], [1, 2]]
    slider.set_value(1).run()
    assert_clean(at)
    first = charts(at)["map_frame"]
    assert "epoch 1" in first["layout"]["title"]["text"]
    assert first["layout"]["xaxis"]["range"] == last["layout"]["xaxis"]["range"]  # the axes stay: points move
    assert values(first["data"][0]["x"]) != values(last["data"][0]["x"])
    box = at.selectbox(key="map_frame_misread")  # a 2-epoch run on 200 synthetic digits misreads plenty
    index = int(box.options[1].split(":")[0].lstrip("#"))
    box.set_value(index).run()
    at.button(key="map_frame_inspect").click().run()
    if at.title[0].value != "Inspect":  # Inspect opens a run's last checkpoint: an epoch's weights are no choice there
        assert at.session_state["inspect_request"] == {"model": "residual", "checkpoint": str(run / "checkpoint.pt"),
                                                       "index": index}
        at.switch_page("app_pages/inspect.py").run()
    assert at.selectbox(key="inspect_ckpt_residual").value == "run:kept"  # not the shipped one it fell back to
    assert at.number_input(key="inspect_index").value == index


@needs_shipped
def test_the_map_lesson_checks_a_prediction_against_the_pairs_maps(lab):
    import shutil

    from netlib.lab import lessons
    from support import write_run

    for name, model in (("20261202-100000-inception-fast", "inception"), ("20261202-100001-residual-fast", "residual")):
        shutil.copy(catalogue.shipped_checkpoint(model), write_run(lab, name, model, 700) / "checkpoint.pt")
    at = open_page("app_pages/lessons.py")
    at.radio(key="lesson").set_value("map-separation").run()
    assert not [b for b in at.button if b.key == "pair_map-separation"]  # predict first
    at.radio(key="q_map-separation_separates").set_value(lessons.INCEPTION).run()
    at.button(key="pair_map-separation").click().run()
    assert_clean(at)
    found = charts(at)
    assert {"lesson_map_inception", "lesson_map_residual"} <= set(found)
    # the shipped checkpoints' features: Residual's 5-NN accuracy is over a point above Inception's
    assert any("Measured: **Residual**" in m.value for m in at.markdown)
    assert any("not this time" in m.value for m in at.markdown)


@needs_shipped
def test_a_tsne_map_is_made_with_progress_and_keeps_the_neighbours():
    at = map_page()
    at.radio(key="map_model").set_value("residual")
    at.radio(key="map_method").set_value("tsne").run()
    assert_clean(at)
    spec = charts(at)["map_one"]
    assert spec["layout"]["title"]["text"].startswith("Residual: t-SNE of 500")
    metrics = {m.label: float(m.value.rstrip("%")) for m in at.metric}
    assert metrics["map"] > 90  # t-SNE keeps each digit's neighbours: most of the features' separation survives
