"""The Train and Compare pages under streamlit.testing (AppTest): start, watch, stop and re-attach to a run,
why a run failed, refused settings; overlay runs and train both networks at once."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from netlib.embedding.epochs import kept_epochs
from netlib.lab import launch
from netlib.runs.reader import list_runs
from support import APP, assert_clean, charts
from pages_support import fake_run, lab, open_page, start_tiny_run, values, wait_for  # noqa: F401


def points(spec: dict) -> int:
    return sum(len(values(trace.get("x"))) for trace in spec["data"])


# ---------------------------------------------------------------- train
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


@pytest.mark.process
def test_train_starts_a_run_and_the_charts_gain_points(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "4000")  # synthetic digits: no MNIST needed, quick
    at = open_page("app_pages/train.py")
    at.toggle(key="keep_epochs").set_value(True).run()  # every epoch's weights, for the Map's slider
    seen = _train_and_watch(at, epochs=2, limit=4000)
    print("loss chart points per poll:", seen)
    assert seen[-1] > seen[0] and seen == sorted(seen), seen
    final = charts(at)
    assert {"loss_chart", "acc_chart"} <= set(final)
    test_trace = [t for t in final["acc_chart"]["data"] if t.get("name") == "test"][0]
    assert len(values(test_trace["x"])) == 2  # one test point per epoch
    (run,) = list_runs(lab)
    assert run.status == "done" and run.has_checkpoint
    assert [epoch for epoch, _ in kept_epochs(run.dir)] == [1, 2] and "the Map page" in at.success[0].value


@pytest.mark.slow
def test_train_tiny_run_on_real_mnist(lab):
    at = open_page("app_pages/train.py")
    seen = _train_and_watch(at, epochs=1, limit=1000)
    assert seen[-1] > 0
    (run,) = list_runs(lab)
    assert run.config["limit"] == 1000 and run.epochs[0]["test_acc"] > 0.3


@pytest.mark.process
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


@pytest.mark.process
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


def test_custom_recipe_augmentation_toggle_is_not_squeezed_into_a_half_column():
    """Issue 29: in half the settings column the toggle's label was cut to 'Aug…'."""
    at = open_page("app_pages/train.py")
    at.radio(key="recipe").set_value("custom").run()
    assert any(t.key == "augment" for t in at.toggle)
    holding = [col for col in at.columns if any(w.key == "batch_size" for w in col.select_slider)]
    half = min(holding, key=lambda col: len(list(col)))  # the half column beside Epochs, not the page's
    assert not any(t.key == "augment" for t in half.toggle)


def test_train_without_a_run_points_to_the_notebook_on_runs():
    at = open_page("app_pages/train.py")
    said = " ".join(i.value for i in at.info)
    assert "**Runs**" in said and "Compare" not in said, said


def test_a_run_opened_on_train_fills_the_form_with_its_network_and_settings(lab):
    """Issue 29: a link to a Plain run showed it on the right while the form on the left said Inception."""
    from support import write_run

    run = write_run(lab, "20260101-000001-plain-seed-001", "plain", 1000, recipe_name="seed",
                    model_kwargs={"blocks": 3}, seed=4)
    at = open_page("app_pages/train.py")
    at.session_state["train_run"] = str(run)  # as a link's ?run= or Runs' Open on Train sets it
    at.run()
    assert_clean(at)
    assert at.selectbox(key="model").value == "plain" and at.number_input(key="blocks").value == 3
    assert at.radio(key="recipe").value == "seed" and at.number_input(key="seed").value == 4
    assert at.number_input(key="limit").value == 5000
    assert any(f"filled in from {run.name}" in c.value for c in at.caption)
    at.selectbox(key="model").set_value("residual").run()  # the person's own change then stands
    assert at.selectbox(key="model").value == "residual"
