"""Compare with repeated seeds and labelled runs: each run keeps its own label in the picker, the chart and
the table (two seeds never merge), the default picks a batch's every seed, and its sentences say what
the chart shows."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from netlib.engine.loop import TrainConfig
from netlib.recipes import recipe_for
from netlib.runs import manage
from netlib.runs.processes import start_time
from netlib.runs.writer import RunWriter
from support import assert_clean, batch, charts, epoch_event, fresh_app, open_app, stop_children

SAME_SECOND = "20261206-073419"  # Train both starts a batch's runs within one second


@pytest.fixture
def lab(runs_dir, monkeypatch):
    fresh_app(monkeypatch)
    yield runs_dir
    stop_children()


def run(root: Path, name: str, model: str, seed: int, accs, epochs: int | None = None, grads: bool = False,
        **recipe) -> Path:
    """A finished run folder as the engine writes one: one epoch event per accuracy, at 1000 samples/s
    (grads: with the gradient norms of two layers)."""
    base = replace(recipe_for("fast", model), **recipe)
    if epochs:
        base = replace(base, epochs=epochs)
    config = TrainConfig(model=model, recipe_name="fast", recipe=base, seed=seed, limit=5000, threads=1)
    writer = RunWriter(root / name, {**config.to_dict(), "argv": ["train", "--model", model]})
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": 5000, "test_samples": 10000,
                     "epochs": len(accs), "steps_per_epoch": 40, "device": "cpu", "threads": 1,
                     "pid": os.getpid(), "time": time.time(), "grad_layers": ["conv1", "fc"] if grads else []})
    for epoch, acc in enumerate(accs, 1):
        if grads:
            writer.on_event(batch(epoch, 0.5))
        writer.on_event(epoch_event(epoch, acc))
    writer.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": len(accs),
                     "test_acc": accs[-1], "elapsed": 5.0 * len(accs)})
    writer.close()
    return root / name


def two_seeds_each(root: Path, accs=((0.9148,), (0.9125,)), other=((0.95,), (0.96,))) -> dict:
    """Train both with 2 seeds: Residual and Inception, seeds 0 and 1, all started in one second."""
    made = {}
    for seed in (0, 1):
        made[("residual", seed)] = run(root, f"{SAME_SECOND}-residual-fast-{seed}1", "residual", seed, accs[seed])
        made[("inception", seed)] = run(root, f"{SAME_SECOND}-inception-fast-{seed}2", "inception", seed, other[seed])
    return made


def test_two_seeds_keep_their_own_labels_and_never_merge(lab):
    made = two_seeds_each(lab)
    at = open_app("app_pages/compare.py")
    picker = at.multiselect(key="compare_runs")
    assert len(set(picker.options)) == len(picker.options) == 4, picker.options
    assert any("seed 0" in o for o in picker.options) and any("seed 1" in o for o in picker.options)
    seeds = [made[("residual", 0)].name, made[("residual", 1)].name]
    picker.set_value(seeds).run()  # the widget sends its choice back by its words
    assert_clean(at)
    assert at.session_state["compare_runs"] == seeds
    fig = charts(at)["compare_chart"]
    assert [t["name"] for t in fig["data"] if t.get("fill")] == ["min to max of 2 seeds"]  # one band: both seeds


def test_a_fresh_page_overlays_every_seed_of_the_newest_batch(lab):
    made = two_seeds_each(lab)
    at = open_app("app_pages/compare.py")
    assert_clean(at)
    assert sorted(at.session_state["compare_runs"]) == sorted(d.name for d in made.values())
    words = " ".join(m.value for m in at.markdown)
    assert "One seed each" not in words and "2 seeds" in words


def test_a_label_saved_on_runs_names_the_run_on_compare(lab):
    one = run(lab, "20261206-073103-residual-fast-001", "residual", 0, (0.97, 0.98))
    run(lab, "20261206-073104-inception-fast-002", "inception", 0, (0.96, 0.975))
    manage.set_label(lab, one.name, "my wide residual")
    at = open_app("app_pages/compare.py")
    assert_clean(at)
    assert "my wide residual (done)" in at.multiselect(key="compare_runs").options
    legend = {t["name"] for t in charts(at)["compare_chart"]["data"]}
    assert "my wide residual" in legend
    assert "my wide residual" in list(at.dataframe[0].value["run"])


def test_same_recipe_but_inceptions_own_rate_still_compares_time_per_epoch(lab):
    # Train both: Inception's recipe has its own learning rate; nothing else differs
    run(lab, "20261206-073103-residual-fast-001", "residual", 0, (0.97, 0.98))
    run(lab, "20261206-073103-inception-fast-002", "inception", 0, (0.96, 0.975))
    at = open_app("app_pages/compare.py")
    assert_clean(at)
    words = " ".join(m.value for m in at.markdown)
    assert "different conditions" not in words and "fewer multiply-adds" in words


def test_a_different_batch_size_is_named_as_what_differs(lab):
    run(lab, "20261206-073103-residual-fast-001", "residual", 0, (0.97, 0.98))
    run(lab, "20261206-073103-inception-fast-002", "inception", 0, (0.96, 0.975), batch_size=256)
    at = open_app("app_pages/compare.py")
    words = " ".join(m.value for m in at.markdown)
    assert "different conditions (the recipe's batch size)" in words


def test_one_epoch_per_seed_speaks_of_no_bands(lab):
    two_seeds_each(lab, accs=((0.90,), (0.95,)), other=((0.91,), (0.96,)))
    at = open_app("app_pages/compare.py")
    assert_clean(at)
    words = " ".join(m.value for m in [*at.markdown, *at.caption])
    assert "within seed noise" in words
    assert "band" not in words  # one epoch: one dot per group on the chart, no band to speak of


def test_the_x_axis_choice_is_in_the_link(lab):
    two_seeds_each(lab)
    at = open_app("app_pages/compare.py")
    at.radio(key="cmp_axis").set_value("time").run()
    assert_clean(at)
    assert at.query_params.get("axis") == "time"


def test_a_starting_run_in_the_sidebar_has_no_place_in_line(lab):
    run_dir = lab / f"{SAME_SECOND}-residual-fast-01"  # as the queue leaves a run it has just started
    run_dir.mkdir(parents=True)
    config = TrainConfig(model="residual", recipe_name="fast", recipe=recipe_for("fast", "residual"), threads=1)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict()))
    (run_dir / "status.json").write_text(json.dumps({"status": "starting", "reason": "", "pid": os.getpid(),
                                                     "started": start_time(os.getpid()), "updated": time.time()}))
    at = open_app("app_pages/compare.py")
    side = " ".join(m.value for m in at.sidebar.markdown)
    assert "starting" in side and "·." not in side, side


def test_every_run_listed_has_its_heatmap(lab):
    made = [run(lab, f"20261206-07341{i}-{m}-fast-{i}", m, i // 2, (0.97,), grads=True)
            for i, m in enumerate(["residual", "plain", "residual", "plain", "inception", "naive"])]
    at = open_app("app_pages/compare.py")
    at.multiselect(key="compare_runs").set_value([d.name for d in made]).run()
    assert_clean(at)
    drawn = {k for k in charts(at) if k.startswith("grad_") and k != "grad_first_chart"}
    assert drawn == {f"grad_{d.name}" for d in made}  # six listed, six drawn (it drew the first four)


def test_the_gradient_charts_name_each_run_as_the_picker_does(lab):
    seeds = [run(lab, f"{SAME_SECOND}-residual-fast-{s}1", "residual", s, (0.97,), grads=True) for s in (0, 1)]
    at = open_app("app_pages/compare.py")
    picker = at.multiselect(key="compare_runs")
    picker.set_value([d.name for d in seeds]).run()
    assert_clean(at)
    picked = {o.removesuffix(" (done)") for o in picker.options}
    legend = {t["name"] for t in charts(at)["grad_first_chart"]["data"]}
    titles = {charts(at)[f"grad_{d.name}"]["layout"]["title"]["text"] for d in seeds}
    assert legend == titles == picked and any("seed 0" in n for n in picked), (legend, titles, picked)
