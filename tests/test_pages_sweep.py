"""The Sweep page under AppTest (the form, refusals, a tiny grid run to the end, Optuna's figures) and its
logic in netlib.lab.sweeps (the form's spec, the estimate from measured speeds, the trial table)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from netlib.charts import sweep as sweep_charts
from netlib.lab import launch
from netlib.lab import sweeps as lab
from netlib.runs.reader import run_index
from netlib.sweeps import trials as T
from netlib.sweeps import workers
from netlib.sweeps.space import SpaceError, SweepSpec
from netlib.sweeps.storage import STORAGE_ENV, open_storage
from netlib.sweeps.worker import work
from support import assert_clean, fresh_app, open_app, write_run

PAGE = "app_pages/sweep.py"


@pytest.fixture
def lab_app(runs_dir, monkeypatch):
    fresh_app(monkeypatch)
    monkeypatch.delenv(STORAGE_ENV, raising=False)
    return runs_dir


def errors(at) -> list[str]:
    return [e.value for e in at.error]


# ---------------------------------------------------------------- the page
def test_the_page_renders_with_no_sweeps(lab_app):
    at = open_app(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Sweep"
    assert any("No sweeps yet" in i.value for i in at.info)
    assert any("Sweeps are stored in the file" in c.value for c in at.caption)
    text = " ".join(m.value for m in at.markdown)
    assert "2 trials" in text and "No measured speed for Residual" in text  # nothing typed in: no run yet


def test_the_form_refuses_an_empty_list_and_a_bad_name(lab_app):
    at = open_app(PAGE)
    at.text_input(key="sweep_lr").set_value("").run()
    assert errors(at) == ["learning rates: the list is empty; give at least one (such as 0.001, 0.003, or "
                          "choose each recipe's own)"]
    assert not [b for b in at.button if b.key == "sweep_start"]  # nothing to start
    at.text_input(key="sweep_lr").set_value("0.01, fast").run()
    assert errors(at) == ["learning rates: 'fast' is not a number"]
    at.text_input(key="sweep_lr").set_value("0.01")
    at.text_input(key="sweep_new_name").set_value("../evil").run()
    assert len(errors(at)) == 1 and "sweep name '../evil' refused" in errors(at)[0]
    assert not at.exception


@pytest.mark.parametrize("url, said", [("postgresql://lab:secret@127.0.0.1:1/sweeps", "cannot reach"),
                                       ("not a url", "is not a database URL")])
def test_an_unusable_storage_is_one_line_without_its_password(lab_app, monkeypatch, url, said):
    monkeypatch.setenv(STORAGE_ENV, url)
    at = open_app(PAGE)
    assert not at.exception
    assert len(at.error) == 1 and said in at.error[0].value and "secret" not in at.error[0].value
    assert "\n" not in at.error[0].value.strip()


def test_a_tiny_grid_runs_to_the_end_with_its_table_and_figures(lab_app, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "128")
    started = []
    monkeypatch.setattr(workers, "start", lambda *a: started.append(a) or SimpleNamespace(pid=1, poll=lambda: 0))
    at = open_app(PAGE)
    at.text_input(key="sweep_new_name").set_value("tiny")
    at.text_input(key="sweep_lr").set_value("0.01, 0.03")
    at.text_input(key="sweep_batch").set_value("16, 32")
    at.text_input(key="sweep_epochs").set_value("1")
    at.number_input(key="sweep_threads").set_value(1).run()
    assert_clean(at)
    assert any("4 trials" in m.value for m in at.markdown)
    at.button(key="sweep_start").click().run()
    assert_clean(at)
    assert started == [(lab_app, "tiny", None)]  # one worker asked for, on this sweep, default storage
    assert any("4 trials waiting and no worker" in i.value for i in at.info)  # the fake one ended at once

    at.button(key="sweep_start_worker").click().run()  # a sweep left without a worker goes on
    assert len(started) == 2 and not at.exception

    study, spec = T.load("tiny", open_storage(None, lab_app), with_sampler=True)
    assert spec.synthetic == 128 and spec.threads == 1
    assert work(study, spec, lab_app, None) == 4  # the worker, in this process
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["State"]) == ["complete"] * 4 and table["Accuracy"].notna().all()
    assert table["Best so far"].iloc[-1] == pytest.approx(table["Accuracy"].max())
    assert list(table["Where"]) == ["here"] * 4 and table["Run"].str.contains("/train?run=", regex=False).all()
    assert any("4 of 4 trials finished" in (p.proto.text or "") for p in at.get("progress"))
    shown = {c.key for c in at.get("plotly_chart")}
    assert {f"sweep_fig_{k}" for k, _, _ in sweep_charts.FIGURES} <= shown
    best = T.best(study)
    assert any(f"Best trial: {best.number}" in m.value for m in at.markdown)
    assert not at.button(key="sweep_open_draw").disabled and not at.button(key="sweep_open_results").disabled
    at.button(key="sweep_open_compare").click().run()
    assert at.session_state["compare_runs"] == [best.run]

    train = open_app("app_pages/train.py")  # the run names its trial, and opens the sweep
    train.session_state["train_run"] = str(lab_app / best.run)
    train.run()
    assert_clean(train)
    button = train.button(key="train_open_sweep")
    assert button.label == f"Sweep tiny · trial {best.number}"
    button.click().run()
    assert train.session_state["sweep_name"] == "tiny" and train.title[0].value == "Sweep"


def test_a_sampled_sweep_with_a_learning_rate_range_and_pruning(lab_app, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "96")
    at = open_app(PAGE)
    at.text_input(key="sweep_new_name").set_value("ranged")
    at.radio(key="sweep_lr_mode").set_value("range").run()
    assert errors(at) and "use --sampler random or tpe" in errors(at)[0]  # a grid needs a list
    at.selectbox(key="sweep_sampler").set_value("tpe")
    at.selectbox(key="sweep_prune").set_value("median")
    at.number_input(key="sweep_trials").set_value(3)
    at.number_input(key="sweep_workers").set_value(0)
    at.number_input(key="sweep_threads").set_value(1)
    at.text_input(key="sweep_epochs").set_value("2").run()
    assert_clean(at)
    assert any("3 trials" in m.value for m in at.markdown)
    at.button(key="sweep_start").click().run()
    assert any("no worker here" in s.value for s in at.success)
    study, spec = T.load("ranged", open_storage(None, lab_app), with_sampler=True)
    assert work(study, spec, lab_app, None) == 3
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table["State"]) <= {"complete", "pruned"} and table["lr"].between(*spec.lr_range).all()
    assert "sweep_fig_history" in {c.key for c in at.get("plotly_chart")}


# ---------------------------------------------------------------- the logic
def form(**changes) -> dict:
    return {"name": "s1", "model": ["residual"], "recipe": ["fast"], "lr_mode": "list", "lr": "0.01, 0.02",
            "seed": "0", "epochs": "2", "limit": 1000, "sampler": "grid", "prune": "none", **changes}


def test_the_form_becomes_a_checked_spec():
    spec = lab.build_spec(form(batch_size="32 64", augment=["on", "off"]))
    assert spec.lr == [0.01, 0.02] and spec.batch_size == [32, 64] and spec.total_trials() == 8
    assert lab.build_spec(form(lr_mode="recipe")).lr == []
    assert lab.build_spec(form(lr_mode="range", lr_low=1e-3, lr_high=1e-1, sampler="tpe", trials=5)).lr_range == [1e-3, 1e-1]
    for bad, said in ((form(lr=""), "learning rates: the list is empty"), (form(seed=" "), "seeds: the list is empty"),
                      (form(epochs="1.5"), "epochs: '1.5' is not a whole number"), (form(name="a/b"), "refused"),
                      (form(lr_mode="range", lr_low=0.1, lr_high=0.01, sampler="random"), "upside down"),
                      (form(recipe=[]), "recipes: the list is empty")):
        with pytest.raises(SpaceError, match=said):
            lab.build_spec(bad)
    assert lab.threads_per_trial(0, 3, cores=8) == 2 and lab.threads_per_trial(0, 0, cores=8) == 8
    assert lab.threads_per_trial(3, 2, cores=8) == 3


def test_the_estimate_comes_from_measured_runs_only(runs_dir):
    def sform(**changes):
        return form(**{"limit": 5000, **changes})

    # each fake run: 1 epoch of 5,000 images in 5.0 s -> 1 ms per image; the sweeps train on 5,000 too
    write_run(runs_dir, "20260101-000001-residual-fast-001", "residual", 1000)
    write_run(runs_dir, "20260101-000002-residual-fast-002", "residual", 1000)
    write_run(runs_dir, "20260101-000003-residual-fast-003", "residual", 1000, status="failed")
    write_run(runs_dir, "20260101-000004-residual-fast-004", "residual", 1000, device="cuda")
    write_run(runs_dir, "20260101-000005-residual-fast-005", "residual", 1000, model_kwargs={"blocks": 3})
    entries = run_index(runs_dir)
    est = lab.estimate(lab.build_spec(sform()), entries, "cpu")  # 2 trials x 2 epochs x 5,000 images x 1 ms
    assert est.seconds == pytest.approx(20.0) and [(s.title, s.runs) for s in est.speeds] == [("Residual", 2)]
    text = lab.estimate_text(est, "cpu")
    assert "**20 s** for 2 trials" in text and "from 2 runs of Residual at 5,000 images per epoch on this machine (cpu)" in text
    deep = lab.estimate(lab.build_spec(sform(blocks="1, 3")), entries, "cpu")
    assert [(s.title, s.runs) for s in deep.speeds] == [("Residual", 2), ("Residual ×3", 1)]
    sampled = lab.estimate(lab.build_spec(sform(sampler="random", trials=5, prune="median")), entries, "cpu")
    assert sampled.seconds == pytest.approx(50.0) and "at most" in lab.estimate_text(sampled, "cpu")
    none = lab.estimate(lab.build_spec(sform(model=["residual", "naive"])), entries, "cpu")
    assert none.seconds is None and none.missing == ["Naive Inception"]
    assert lab.estimate_text(none, "cpu").startswith("No measured speed for Naive Inception on this machine")
    assert lab.estimate(lab.build_spec(sform()), entries, "cuda").seconds == pytest.approx(20.0)
    other = lab.estimate(lab.build_spec(form(limit=2000)), entries, "cpu")  # a test pass costs the same at any limit
    assert other.seconds is None and "at 2,000 training images per epoch" in lab.estimate_text(other, "cpu")
    # a random search over a space far larger than its trials (1.28 million points): estimated at once,
    # from its networks and epoch counts only (every point listed took minutes)
    huge = sform(sampler="random", trials=3, lr="0.001 0.002 0.003 0.004 0.005 0.006 0.007 0.008",
                 batch_size="16 24 32 40 48 56 64 72", seed=" ".join(map(str, range(5000))), augment=["on", "off"],
                 optimizer=["sgd", "adam"])
    began = time.monotonic()
    assert lab.estimate(lab.build_spec(huge), entries, "cpu").seconds == pytest.approx(30.0)
    assert time.monotonic() - began < 10


def test_a_run_whose_log_starts_nested_past_pythons_limit_is_left_out_of_the_estimate(runs_dir):
    write_run(runs_dir, "20260101-000001-residual-fast-001", "residual", 1000)
    hostile = write_run(runs_dir, "20260101-000002-residual-fast-002", "residual", 1000)
    (hostile / "metrics.jsonl").write_text("[" * 60_000 + "\n")  # a folder anyone could have copied in
    est = lab.estimate(lab.build_spec(form(limit=5000)), run_index(runs_dir), "cpu")
    assert [(s.title, s.runs) for s in est.speeds] == [("Residual", 1)] and est.seconds == pytest.approx(20.0)


def test_the_trial_table_says_where_each_run_is(runs_dir):
    run = write_run(runs_dir, "20260101-000001-residual-fast-001", "residual", 1000)
    rows = [T.TrialRow(0, "COMPLETE", {"lr": 0.01}, 90.0, run.name, str(runs_dir.resolve()), T.HOST),
            T.TrialRow(1, "RUNNING", {"lr": 0.02}, None, "x", "/elsewhere/runs", "gpu-box", epochs={1: 50.0, 2: 70.0}),
            T.TrialRow(2, "COMPLETE", {"lr": 0.03}, 95.0, "y", "/elsewhere/runs", "gpu-box", retry_of=1),
            T.TrialRow(3, "WAITING", {}, None)]
    table = lab.trial_table(rows, ["lr"], runs_dir, "http://lab:8501")
    assert [r["Best so far"] for r in table] == [90.0, 90.0, 95.0, 95.0]
    assert [r["Where"] for r in table] == ["here", "on gpu-box", "on gpu-box", ""]
    assert table[0]["Run"] == f"http://lab:8501/train?run={run.name}" and table[1]["Run"] is None
    assert table[1]["Accuracy"] == 70.0 and table[1]["Epoch"] == 2 and "retry of trial 1" in table[2]["Note"]
    assert lab.best_checkpoint(rows[0], runs_dir) is None  # write_run saves no checkpoint
    assert lab.finished({"COMPLETE": 2, "RUNNING": 1, "WAITING": 1, "PRUNED": 1}) == (3, 5)


def test_optunas_figures_wait_for_what_they_need():
    import optuna

    study = optuna.create_study(direction="maximize")
    assert {k: sweep_charts.figure(study, k)[1] for k in ("history", "intermediate")} == {
        "history": "No trial has finished yet.", "intermediate": "No trial has finished an epoch yet."}
    study.enqueue_trial({"lr": 0.01})
    trial = study.ask()
    trial.suggest_categorical("lr", [0.01, 0.03])
    trial.report(50.0, 1)
    study.tell(trial, 60.0)
    fig, note = sweep_charts.figure(study, "history")
    assert note is None and fig.layout.template.layout.font.family.startswith("Inter")  # the lab's style
    assert sweep_charts.figure(study, "importance") == (None, "Importances need at least 2 finished trials.")
    study.enqueue_trial({"lr": 0.01})
    trial = study.ask()
    trial.suggest_categorical("lr", [0.01, 0.03])
    study.tell(trial, 70.0)
    assert sweep_charts.figure(study, "importance")[1] == ("Importances need a parameter that differs between "
                                                           "the finished trials.")
    assert all(sweep_charts.figure(study, k)[0] is not None for k in ("parallel", "slice", "intermediate"))
