"""The dashboard's pages under streamlit.testing (AppTest): render, train, compare, inspect, draw."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from app_pages._common import PAGES as PAGE_INFO
from netlib.lab import catalogue, launch
from netlib.models import build_model
from netlib.recipes import RECIPES
from netlib.runs.reader import list_runs
from netlib.runs.writer import RunWriter
from netlib.analysis.strokes import Style, render
from netlib.engine.loop import TrainConfig
from support import APP, SHIPPED, assert_clean, charts, fresh_app, open_app

PAGES = [p.path for p in PAGE_INFO]
open_page = open_app  # test_pages_steering imports it from here


@pytest.fixture(autouse=True)
def lab(tmp_path, monkeypatch):
    """A fresh runs directory and empty Streamlit caches (they outlive AppTest instances)."""
    fresh_app(monkeypatch)
    runs = tmp_path / "runs"
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(runs))
    threads = torch.get_num_threads()
    yield runs
    torch.set_num_threads(threads)  # the app sets 1 thread for its server process (this process here)
    for proc in list(launch._PROCESSES.values()):  # never leave a training process behind
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    launch.reap()


def values(data) -> list:
    """A trace's x or y: a plain list, or Plotly's typed array {"dtype", "bdata"} for numpy input."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data or [])


def points(spec: dict) -> int:
    return sum(len(values(trace.get("x"))) for trace in spec["data"])


def fake_run(root: Path, name: str, model: str = "residual", accs=(0.97, 0.985, 0.992),
             status: str = "done", reason: str = "", checkpoint: bool = False) -> Path:
    """A run directory written the way the engine writes one, without training (fast, deterministic)."""
    recipe = RECIPES["fast"]
    config = {**TrainConfig(model=model, recipe_name="fast", recipe=recipe).to_dict(),
              "argv": ["train", "--model", model]}
    writer = RunWriter(root / name, config)
    steps, n = 40, 5000
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": n, "test_samples": 10000,
                     "epochs": len(accs) + (1 if status == "running" else 0), "steps_per_epoch": steps,
                     "device": "cpu", "threads": 1, "pid": os.getpid(), "time": time.time()})
    elapsed = 0.0
    for epoch, acc in enumerate(accs, 1):
        for b in range(10, steps + 1, 10):
            writer.on_event({"event": "batch", "epoch": epoch, "batch": b, "batches": steps,
                             "loss": 1.0 / (epoch * b), "acc": acc - 0.01, "lr": 1e-3, "samples": b * 125,
                             "seconds": b * 0.05})
        elapsed += 2.5
        event = {"event": "epoch", "epoch": epoch, "epochs": len(accs), "train_loss": 0.1 / epoch,
                 "train_acc": acc - 0.01, "test_loss": 0.09 / epoch, "test_acc": acc, "seconds": 2.0,
                 "samples_per_s": 2500.0, "lr": 1e-3, "elapsed": elapsed}
        writer.on_event(event)
        if checkpoint:
            writer.save(build_model(model), event)
    if status != "running":
        writer.on_event({"event": "end", "status": status, "reason": reason,
                         "epochs_completed": len(accs), "test_acc": accs[-1] if accs else None,
                         "elapsed": elapsed})
    writer.close()
    return root / name


def digit_data_url(digit: int) -> str:
    """A canvas-like PNG (transparent background, white ink) of a clearly drawn digit."""
    img = render(digit, Style(box=0.7, width=18, polarity="transparent"))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def wait_for(at: AppTest, done, timeout: float = 180, every: float = 1.0, on_poll=None) -> AppTest:
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(every)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if on_poll:
            on_poll(at)
        if done(at):
            return at
    raise AssertionError(f"timed out after {timeout} s; errors {[e.value for e in at.error]}, "
                         f"info {[i.value for i in at.info]}")


# ---------------------------------------------------------------- every page
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_fresh_install(page):
    at = open_page(page)
    assert_clean(at)
    assert at.title and at.title[0].value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_saved_runs(lab, page):
    fake_run(lab, "20250101-000000-inception-fast-001", "inception", checkpoint=True)
    fake_run(lab, "20250101-000001-residual-fast-002", "residual", checkpoint=True)
    fake_run(lab, "20250101-000002-residual-fast-003", "residual", accs=(0.5,), status="diverged",
             reason="loss became nan in epoch 1")
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]


def test_no_legacy_pages_folder_so_every_page_runs_in_the_frame():
    """A folder named pages/ beside the entry script switches on Streamlit's legacy multipage mode, in
    which a cold server's first visit to /x runs pages/x.py alone, without app.py's frame. The pages
    live in app_pages/ so that mode never starts (no private Streamlit API needed); the browser suite
    opens /train first on a cold server to show it end to end."""
    root = APP.parent
    assert not (root / "pages").exists(), "a pages/ folder would bring back Streamlit's legacy mode"
    on_disk = {f"app_pages/{f.name}" for f in (root / "app_pages").glob("*.py") if not f.name.startswith("_")}
    assert {p.path for p in PAGE_INFO} == on_disk  # the navigation lists every page, once


def test_a_page_opened_through_the_navigation_gets_the_frame():
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception
    assert at.title[0].value == "Compare"
    assert any("cpu" in m.value or "cuda" in m.value for m in at.sidebar.markdown)  # app.py's sidebar ran


def test_home_shows_networks_and_links():
    at = open_page("app_pages/home.py")
    text = " ".join(m.value for m in at.markdown)
    assert "16 + 24 + 24 + 24 = 88" in text and "relu(x + F(x))" in text
    assert {m.value for m in at.metric if m.label == "parameters"} == {"97,298", "41,514"}
    if all(p.is_file() for p in SHIPPED):
        assert all(m.value.endswith("%") for m in at.metric if m.label == "test accuracy")


def test_sidebar_shows_device_and_live_runs(lab):
    fake_run(lab, "20250101-000000-residual-fast-001", status="running")
    at = open_page("app_pages/home.py")
    side = " ".join(m.value for m in at.sidebar.markdown)
    assert "cpu" in side or "cuda" in side
    assert "20250101-000000-residual-fast-001" in side


# ---------------------------------------------------------------- train
def start_tiny_run(at: AppTest, epochs: int, limit: int, batch: int = 64, model: str = "residual") -> AppTest:
    at.selectbox(key="model").set_value(model)
    at.radio(key="recipe").set_value("custom").run()
    at.number_input(key="epochs").set_value(epochs)
    at.select_slider(key="batch_size").set_value(batch)
    at.number_input(key="limit").set_value(limit).run()
    assert_clean(at)
    at.button(key="start").click().run()
    assert not at.exception
    return at


def _train_and_watch(at: AppTest, epochs: int, limit: int) -> list[int]:
    seen = []

    def record(at):
        found = charts(at)
        seen.append(points(found["loss_chart"]) if "loss_chart" in found else 0)

    start_tiny_run(at, epochs, limit)
    wait_for(at, lambda a: bool(a.success) or bool(a.error), on_poll=record)
    assert_clean(at)
    assert "Done" in at.success[0].value
    return seen


def test_train_starts_a_run_and_the_charts_gain_points(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "4000")  # synthetic digits: no MNIST needed, quick
    at = open_page("app_pages/train.py")
    seen = _train_and_watch(at, epochs=2, limit=4000)
    print("loss chart points per poll:", seen)
    assert seen[-1] > seen[0] and seen == sorted(seen), seen
    final = charts(at)
    assert {"loss_chart", "acc_chart"} <= set(final)
    test_trace = [t for t in final["acc_chart"]["data"] if t.get("name") == "test"][0]
    assert len(values(test_trace["x"])) == 2  # one test point per epoch
    (run,) = list_runs(lab)
    assert run.status == "done" and run.has_checkpoint


@pytest.mark.slow
def test_train_tiny_run_on_real_mnist(lab):
    at = open_page("app_pages/train.py")
    seen = _train_and_watch(at, epochs=1, limit=1000)
    assert seen[-1] > 0
    (run,) = list_runs(lab)
    assert run.config["limit"] == 1000 and run.epochs[0]["test_acc"] > 0.3


def test_train_stop_ends_a_live_run(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "30000")
    at = open_page("app_pages/train.py")
    start_tiny_run(at, epochs=20, limit=30000, batch=32)
    wait_for(at, lambda a: any(b.key == "stop" for b in a.button) and bool(charts(a)))
    at.button(key="stop").click().run()
    wait_for(at, lambda a: bool(a.warning) or bool(a.success) or bool(a.error), timeout=60)
    assert "Stopped by request" in at.warning[0].value
    (run,) = list_runs(lab)
    assert run.status == "stopped"


def test_train_reattaches_to_the_newest_live_run(lab):
    fake_run(lab, "20250101-000000-residual-fast-001", accs=(0.97,), status="done")
    live = fake_run(lab, "20250101-000005-inception-fast-002", "inception", accs=(0.96,), status="running")
    at = open_page("app_pages/train.py")  # a new session: nothing of its own to watch
    assert_clean(at)
    assert any(live.name in m.value for m in at.markdown)
    assert at.session_state["train_run"] == str(live)
    assert at.get("progress") and "epoch 1/2" in at.get("progress")[0].proto.text
    assert points(charts(at)["loss_chart"]) > 0


def test_train_shows_why_a_run_failed(lab):
    failed = fake_run(lab, "20250101-000000-residual-fast-001", accs=(0.5,), status="diverged",
                      reason="loss became nan in epoch 1, batch 30: training diverged")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.session_state["train_run"] = str(failed)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception
    assert "loss became nan" in at.error[0].value


def test_train_refuses_a_batch_larger_than_the_images():
    at = open_page("app_pages/train.py")
    at.radio(key="recipe").set_value("custom").run()
    at.select_slider(key="batch_size").set_value(1024)
    at.number_input(key="limit").set_value(1000).run()
    assert not at.exception
    assert "larger than" in at.error[0].value
    assert not any(b.key == "start" for b in at.button)


# ---------------------------------------------------------------- compare
def test_compare_lists_and_overlays_runs(lab):
    inc = fake_run(lab, "20250101-000000-inception-fast-001", "inception", accs=(0.97, 0.98, 0.989))
    res = fake_run(lab, "20250101-000001-residual-fast-002", "residual", accs=(0.975, 0.991, 0.993))
    at = open_page("app_pages/compare.py")
    assert_clean(at)
    picker = at.multiselect(key="compare_runs")
    assert set(picker.options) >= {inc.name, res.name} or len(picker.options) == 2
    assert set(picker.value) == {inc.name, res.name}
    fig = charts(at)["compare_chart"]
    names = {t["name"] for t in fig["data"]}
    assert any("Inception" in n for n in names) and any("Residual" in n for n in names)
    rows = at.dataframe[0].value
    assert list(rows["network"]) == ["Inception", "Residual"]
    assert list(rows["parameters"]) == [97298, 41514]
    assert rows["time to 99%"].tolist() == ["not reached", "5 s"]
    at.radio(key="cmp_axis").set_value("time").run()
    assert_clean(at)
    xs = [values(t["x"]) for t in charts(at)["compare_chart"]["data"] if t.get("mode") == "lines+markers"]
    assert xs[0] == [2.5, 5.0, 7.5]  # epoch ends in wall-time seconds
    at.multiselect(key="compare_runs").unselect(inc.name).run()
    assert len([t for t in charts(at)["compare_chart"]["data"] if t.get("mode") == "lines+markers"]) == 1


def test_compare_train_both_runs_two_networks_at_once(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "1000")
    at = open_page("app_pages/compare.py")
    at.number_input(key="cmp_epochs").set_value(1)
    at.number_input(key="cmp_limit").set_value(1000).run()
    at.button(key="train_both").click().run()
    assert not at.exception

    def both_done(at):
        runs = list_runs(lab)
        return len(runs) == 2 and all(r.status == "done" for r in runs) and not at.info

    wait_for(at, both_done, timeout=240)
    at.run()
    assert_clean(at)
    runs = list_runs(lab)
    assert {r.config["model"] for r in runs} == {"inception", "residual"}
    assert all(r.config["threads"] == 1 for r in runs)
    assert set(at.multiselect(key="compare_runs").value) == {r.name for r in runs}
    assert len(at.dataframe[0].value) == 2


# ---------------------------------------------------------------- inspect
def test_inspect_shows_the_88_channel_and_1408_rows():
    at = open_page("app_pages/inspect.py")
    assert_clean(at)
    rows = at.dataframe[0].value
    incep1 = rows[rows["layer"] == "incep1"].iloc[0]
    assert incep1["output shape"] == "88 × 12 × 12" and "= 88" in incep1["note"]
    flatten = rows[rows["layer"] == "flatten"].iloc[0]
    assert flatten["output shape"] == "1408" and "1408" in flatten["note"]
    assert any("branch5x5_1" in name for name in rows["layer"])  # the branches, broken down
    assert rows[rows["layer"] == "total"].iloc[0]["parameters"] == 97298
    assert any("1408" in m.value for m in at.markdown)
    maps = [k for k in charts(at) if k.startswith("fmap_inception_")]
    assert len(maps) == 8  # every stage, conv1 .. fc

    at.radio(key="inspect_model").set_value("residual").run()
    assert_clean(at)
    rows = at.dataframe[0].value
    assert rows[rows["layer"] == "flatten"].iloc[0]["output shape"] == "512"


def test_inspect_random_digit_button_picks_another_test_digit():
    at = open_page("app_pages/inspect.py")
    picked = set()
    for _ in range(3):
        at.button(key="inspect_random").click().run()
        assert_clean(at)
        picked.add(at.number_input(key="inspect_index").value)
    assert len(picked) > 1


def test_inspect_shows_the_last_drawn_digit():
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:16] = 255
    at.session_state["last_drawn"] = digit
    at.switch_page("app_pages/inspect.py").run()
    at.radio(key="inspect_source").set_value("last drawn digit").run()
    assert_clean(at)
    assert "your drawing" in json.dumps(charts(at)["inspect_digit"]["layout"]["title"])


# ---------------------------------------------------------------- draw
def test_draw_empty_canvas_gets_a_hint_not_a_prediction():
    at = open_page("app_pages/draw.py")
    assert_clean(at)
    assert any("Draw a digit" in i.value for i in at.info)
    assert not at.metric


def draw_on_canvas(at: AppTest, url: str) -> AppTest:
    key = f"canvas_{at.session_state['canvas_n']}"
    at.session_state[key] = {"drawing": {"raw": {"objects": []}, "data": url}}
    return at.run()


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
@pytest.mark.parametrize("digit", [3, 7])
def test_draw_predicts_an_injected_digit(digit):
    at = open_page("app_pages/draw.py")
    t0 = time.perf_counter()
    draw_on_canvas(at, digit_data_url(digit))
    elapsed = time.perf_counter() - t0
    assert_clean(at)
    answers = {m.label: m.value for m in at.metric}
    assert answers == {"Inception reads": str(digit), "Residual reads": str(digit)}, answers
    assert {"probs_inception", "probs_residual", "preview"} <= set(charts(at))
    assert at.session_state["last_drawn"].shape == (28, 28)
    assert elapsed < 10


def test_draw_clear_gives_a_fresh_canvas():
    at = open_page("app_pages/draw.py")
    draw_on_canvas(at, digit_data_url(1))
    at.button(key="clear").click().run()
    assert at.session_state["canvas_n"] == 1
    assert any("Draw a digit" in i.value for i in at.info)


@pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")
def test_draw_reads_an_uploaded_image():
    img = render(4, Style(polarity="dark_on_light", width=20)).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    at = open_page("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    at.file_uploader(key="upload").upload("four.jpg", buf.getvalue(), "image/jpeg")
    at.run()
    assert_clean(at)
    assert {m.value for m in at.metric} == {"4"}


def test_draw_bad_upload_is_a_message_not_a_traceback():
    at = open_page("app_pages/draw.py")
    at.radio(key="draw_mode").set_value("Upload an image").run()
    at.file_uploader(key="upload").upload("notes.png", b"this is not a png", "image/png")
    at.run()
    assert not at.exception
    assert "not an image" in at.error[0].value


def test_draw_broken_checkpoint_is_a_message_not_a_traceback(lab, monkeypatch):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(lab / "no-shipped"))
    run = fake_run(lab, "20250101-000000-residual-fast-001", accs=(0.9,), checkpoint=True)
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    at = open_page("app_pages/draw.py")
    draw_on_canvas(at, digit_data_url(2))
    assert not at.exception
    assert any(e.value.startswith("checkpoint.pt:") for e in at.error), [e.value for e in at.error]
    assert any("No trained inception checkpoint" in w.value for w in at.warning)


# The real-browser tests (a real server, Playwright, mouse drawing) are in test_browser.py.
