"""Repeats over seeds: runs that differ only in seed form a group, its band and mean ± std come from the
runs' logs, and two groups are called apart only by more than their seeds' spread."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from netlib.charts import training
from netlib.engine.loop import TrainConfig
from netlib.recipes import recipe_for
from netlib.runs import groups
from netlib.runs.reader import list_runs, read_run
from netlib.lab import launch
from netlib.runs.writer import RunWriter
from support import assert_clean, charts, epoch_event, fresh_app, open_app, stop_children

# Three seeds of Residual and two of Inception, test accuracy after each of 3 epochs.
RESIDUAL = {0: (0.970, 0.985, 0.9910), 1: (0.972, 0.983, 0.9902), 2: (0.968, 0.986, 0.9921)}
INCEPTION = {0: (0.965, 0.984, 0.9905), 1: (0.969, 0.981, 0.9915)}


def seeded_run(root: Path, name: str, model: str, seed: int, accs, status: str = "done", argv=(),
               **config) -> Path:
    """A run folder as the engine writes one, with one epoch event per accuracy in accs."""
    base = TrainConfig(model=model, recipe_name="fast", recipe=recipe_for("fast", model), seed=seed, **{"limit": 5000, **config})
    writer = RunWriter(root / name, {**base.to_dict(), "argv": ["train", "--model", model, *argv]})
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": 5000, "test_samples": 10000,
                     "epochs": 3, "steps_per_epoch": 40, "device": "cpu", "threads": 1, "pid": os.getpid(),
                     "time": time.time()})
    for epoch, acc in enumerate(accs, 1):
        writer.on_event({**epoch_event(epoch, acc), "elapsed": 2.0 * epoch + seed})
    if status != "running":
        writer.on_event({"event": "end", "status": status, "reason": "", "epochs_completed": len(accs),
                         "test_acc": accs[-1], "elapsed": 6.0})
    writer.close()
    return root / name


def write_both(root: Path) -> None:
    for seed, accs in RESIDUAL.items():
        seeded_run(root, f"20250101-00000{seed}-residual-fast-00{seed}", "residual", seed, accs)
    for seed, accs in INCEPTION.items():
        seeded_run(root, f"20250101-00001{seed}-inception-fast-01{seed}", "inception", seed, accs)


def by_model(runs_dir: Path) -> dict:
    found = groups.group_runs(list_runs(runs_dir))
    assert len(found) == 2, [g.label for g in found]
    return {g.config["model"]: g for g in found}


def test_three_seeds_give_mean_and_sample_std_from_their_logs(runs_dir):
    write_both(runs_dir)
    res = by_model(runs_dir)["residual"]
    assert res.seeds == [0, 1, 2] and res.label == "Residual · fast · 3 seeds"
    finals = [read_run(r.dir).epochs[-1]["test_acc"] for r in res.runs]  # from the logs, read back
    assert res.final.mean == pytest.approx(statistics.fmean(finals))
    assert res.final.std == pytest.approx(statistics.stdev(finals))  # sample std (n - 1)
    assert res.final.std != pytest.approx(statistics.pstdev(finals))
    assert res.spread == pytest.approx(statistics.stdev(finals))
    for c in res.curve:  # the band: mean ± std at every epoch
        accs = [RESIDUAL[s][c.epoch - 1] for s in RESIDUAL]
        assert (c.n, c.lower, c.upper) == (3, pytest.approx(statistics.fmean(accs) - statistics.stdev(accs)),
                                           pytest.approx(statistics.fmean(accs) + statistics.stdev(accs)))
    mean, sd = 100 * statistics.fmean(finals), 100 * statistics.stdev(finals)
    assert res.final_words() == f"{mean:.2f}% ± {sd:.2f} (sd of 3 seeds)"


def test_two_seeds_give_a_min_max_band(runs_dir):
    write_both(runs_dir)
    inc = by_model(runs_dir)["inception"]
    band = groups.band(inc)
    for i, c in enumerate(inc.curve):
        accs = [INCEPTION[s][i] for s in INCEPTION]
        assert band["lower"][i] == pytest.approx(100 * min(accs)) and band["upper"][i] == pytest.approx(100 * max(accs))
        assert band["mean"][i] == pytest.approx(100 * statistics.fmean(accs))
    assert band["what"] == "min to max of 2 seeds" and band["n"] == [2, 2, 2]
    assert inc.spread == pytest.approx((0.9915 - 0.9905) / 2)
    assert groups.band(inc, "time")["x"] == [pytest.approx(2.5), pytest.approx(4.5), pytest.approx(6.5)]


def test_runs_that_differ_in_anything_but_seed_are_separate_groups(runs_dir):
    seeded_run(runs_dir, "a", "residual", 0, (0.99,))
    seeded_run(runs_dir, "b", "residual", 1, (0.98,), threads=4)  # threads: same experiment
    seeded_run(runs_dir, "c", "residual", 2, (0.98,), limit=6000)
    seeded_run(runs_dir, "d", "residual", 3, (0.98,), model_kwargs={"blocks": 2})
    seeded_run(runs_dir, "e", "residual", 4, (0.98,), device="cuda")
    seeded_run(runs_dir, "f", "residual", 5, (0.98,), argv=("--synthetic", "300"))
    seeded_run(runs_dir, "g", "inception", 6, (0.98,))
    seeded_run(runs_dir, "h", "residual", 0, (0.97,))  # seed 0 again: a second group, not a 'repeat'
    infos = sorted(list_runs(runs_dir), key=lambda r: r.name)
    found = groups.group_runs(infos)
    assert [[r.name for r in g.runs] for g in found] == [["a", "b"], ["c"], ["d"], ["e"], ["f"], ["g"], ["h"]]
    assert groups.group_key(infos[0].config) == groups.group_key({**infos[0].config, "seed": 9, "argv": []})
    assert groups.synthetic_digits(infos[5].config) == 300


def test_a_run_still_training_counts_in_its_epochs_but_not_in_the_final(runs_dir):
    for seed, accs in RESIDUAL.items():
        seeded_run(runs_dir, f"r{seed}", "residual", seed, accs[:2] if seed == 2 else accs,
                   status="running" if seed == 2 else "done")
    (g,) = groups.group_runs(list_runs(runs_dir))
    assert [c.n for c in g.curve] == [3, 3, 2]
    assert g.final.n == 2 and g.final.mean == pytest.approx((0.9910 + 0.9902) / 2)
    seeded_run(runs_dir, "s0", "inception", 0, (0.99,))
    seeded_run(runs_dir, "s1", "inception", 1, (0.98,), status="running")
    (one,) = [g for g in groups.group_runs(list_runs(runs_dir)) if g.config["model"] == "inception"]
    assert one.final_words() == "99.00% (1 of 2 seeds finished)" and one.spread is None


def test_verdict_within_seed_noise_and_ahead(runs_dir):
    write_both(runs_dir)
    g = by_model(runs_dir)
    v = groups.compare_groups(g["inception"], g["residual"])
    diff = g["inception"].final.mean - g["residual"].final.mean
    assert abs(diff) <= g["inception"].spread + g["residual"].spread  # the data make it noise ...
    assert v.kind == "noise" and "within seed noise" in v.sentence and v.difference == pytest.approx(diff)
    assert "ahead" not in v.sentence


def test_verdict_names_a_winner_only_beyond_the_spread(runs_dir):
    for seed in range(3):
        seeded_run(runs_dir, f"r{seed}", "residual", seed, (0.990 + 0.001 * seed,))
        seeded_run(runs_dir, f"i{seed}", "inception", seed, (0.980 + 0.001 * seed,))
    g = by_model(runs_dir)
    v = groups.compare_groups(g["inception"], g["residual"])
    assert v.kind == "ahead" and v.sentence.startswith("Residual · fast · 3 seeds is ahead")
    assert "more than the two groups' spreads (3 seeds each) add up to 0.20 points." in v.sentence
    assert "band" not in v.sentence  # one epoch each: one dot per group on the chart, no band
    assert v.noise == pytest.approx(2 * statistics.stdev([0.990, 0.991, 0.992]))


def test_the_noise_verdict_words_the_spread_as_the_ahead_one_does_and_bands_only_when_drawn(runs_dir):
    write_both(runs_dir)  # three epochs: the chart draws bands
    v = groups.compare_groups(*by_model(runs_dir).values())
    assert v.kind == "noise"
    assert "the two groups' spreads (2 and 3 seeds) add up to 0.15 points, and their bands overlap." in v.sentence


@pytest.mark.parametrize("gap, kind", [(0.0015, "noise"), (0.0025, "ahead")])
def test_the_rule_is_the_bands_overlap_not_the_larger_spread(runs_dir, gap, kind):
    """Both sds 0.1 points: a 0.15-point gap is past either sd but inside their sum (the bands overlap)."""
    for seed in range(3):
        seeded_run(runs_dir, f"r{seed}", "residual", seed, (0.990 + 0.001 * seed,))
        seeded_run(runs_dir, f"i{seed}", "inception", seed, (0.990 - gap + 0.001 * seed,))
    g = by_model(runs_dir)
    v = groups.compare_groups(g["residual"], g["inception"])
    assert g["residual"].spread == pytest.approx(0.001) and v.noise == pytest.approx(0.002)
    assert v.kind == kind and v.difference == pytest.approx(gap)


def test_one_seed_each_cannot_tell_a_difference(runs_dir):
    seeded_run(runs_dir, "r", "residual", 0, (0.995,))
    seeded_run(runs_dir, "i", "inception", 0, (0.980,))
    g = by_model(runs_dir)
    v = groups.compare_groups(g["inception"], g["residual"])
    assert v.kind == "few" and "One seed each cannot tell a difference from seed noise" in v.sentence
    assert "ahead" not in v.sentence


def test_the_figure_draws_a_filled_band_under_the_mean(runs_dir):
    write_both(runs_dir)
    g = by_model(runs_dir)["residual"]
    fig = training.compare_figure([{"label": g.label, "color": "#EA580C", "band": groups.band(g),
                                    "runs": [{"batches": r.batches, "epochs": r.epochs} for r in g.runs]}])
    acc = [t for t in fig.data if t.xaxis == "x"]
    assert [t.fill for t in acc] == [None, "tonexty", None]
    assert list(acc[1].y) == pytest.approx(groups.band(g)["upper"]) and acc[2].name == g.label


# ---------------------------------------------------------------- pages
@pytest.fixture
def lab(runs_dir, monkeypatch):
    """A fresh runs folder, empty Streamlit caches; no training process left behind."""
    fresh_app(monkeypatch)
    yield runs_dir
    stop_children()


def test_compare_draws_two_groups_as_bands_and_says_within_seed_noise(lab):
    write_both(lab)
    at = open_app("app_pages/compare.py")
    at.multiselect(key="compare_runs").set_value(sorted(p.name for p in lab.iterdir())).run()
    assert_clean(at)
    fig = charts(at)["compare_chart"]
    fills = [t for t in fig["data"] if t.get("fill") == "tonexty"]
    assert len(fills) == 2  # one band per group
    means = {t["name"] for t in fig["data"] if t.get("mode") == "lines+markers"}
    assert means == {"Residual · fast · 3 seeds", "Inception · fast · 2 seeds"}
    words = " ".join(m.value for m in at.markdown)
    assert "within seed noise" in words and "is ahead" not in words
    rows = at.dataframe[0].value
    g = by_model(lab)
    assert list(rows["run"]) == ["Residual · fast · 3 seeds", "Inception · fast · 2 seeds"]
    assert list(rows["final test acc"]) == [g["residual"].final_words(), g["inception"].final_words()]
    assert "±" in rows["final test acc"][0]


def test_compare_with_one_run_each_says_one_seed_cannot_tell(lab):
    seeded_run(lab, "20250101-000000-residual-fast-001", "residual", 0, (0.99,))
    seeded_run(lab, "20250101-000001-inception-fast-002", "inception", 0, (0.98,))
    at = open_app("app_pages/compare.py")
    assert_clean(at)
    assert not [t for t in charts(at)["compare_chart"]["data"] if t.get("fill")]
    words = " ".join(m.value for m in at.markdown)
    assert "One seed each cannot tell a difference from seed noise" in words


@pytest.mark.slow  # three training processes: about 10-30 s
def test_train_repeat_with_3_seeds_starts_3_runs(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "300")
    at = open_app("app_pages/train.py")
    at.radio(key="recipe").set_value("custom").run()
    at.number_input(key="epochs").set_value(1)
    at.number_input(key="seed").set_value(7)
    at.number_input(key="repeats").set_value(3).run()
    assert_clean(at)
    at.button(key="start").click().run()
    assert not at.exception
    started = [Path(d) for d in at.session_state["train_group"]]
    assert len(started) == 3 and at.session_state["train_run"] == str(started[0])
    deadline = time.time() + 120
    while time.time() < deadline and not all((read_run(d) and read_run(d).status == "done") for d in started):
        time.sleep(1)
        at.run()  # the page's reruns are what start any run that waited its turn
    runs = [read_run(d) for d in started]
    assert sorted(r.config["seed"] for r in runs) == [7, 8, 9]
    assert all(r.status == "done" and r.start.get("threads") == 1 for r in runs)
    (g,) = groups.group_runs(runs)
    at.run()
    assert_clean(at)
    words = " ".join(m.value for m in at.caption) + " ".join(m.value for m in at.markdown)
    assert "seed 8 done" in words and "seed 9 done" in words
    assert f"{g.label}**: final test accuracy {g.final_words()}" in words
