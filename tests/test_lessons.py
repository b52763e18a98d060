"""The Lessons page: each measured answer from small synthetic events, then each lesson's flow (AppTest)."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from app_pages._common import PAGES
from netlib.analysis import cost
from netlib.charts import lessons as lesson_charts
from netlib.charts.style import COLORS
from netlib.lab import catalogue, launch, lessons, seed_dip
from netlib.recipes import RECIPES
from netlib.runs.reader import RunEntry, RunInfo, read_run, run_index
from netlib.runs.writer import RunWriter
from netlib.engine.loop import TrainConfig
from support import assert_clean, charts, fresh_app, open_app
from test_pages import lab, wait_for  # noqa: F401  (lab: fresh runs folder and caches; kills runs left over)


# ---------------------------------------------------------------- helpers
def epoch_event(epoch: int, acc: float, samples_per_s: float = 1000.0) -> dict:
    return {"event": "epoch", "epoch": epoch, "epochs": 7, "train_loss": 0.1, "train_acc": acc, "test_loss": 0.1,
            "test_acc": acc, "seconds": 5000 / samples_per_s, "samples_per_s": samples_per_s, "lr": 0.01,
            "elapsed": 5.0 * epoch}


def batch(epoch: int, grad: float | None, n: int = 10) -> dict:
    return {"event": "batch", "epoch": epoch, "batch": n, "batches": 100, "loss": 1.0, "acc": 0.5, "lr": 0.01,
            "samples": 640, "seconds": 1.0, "grad_norm": None if grad is None else [grad, 1.0]}


def info(model: str, status: str = "done", samples_per_s: float = 1000.0, epochs: int = 1, **kw) -> RunInfo:
    events = [{"event": "start", "threads": 1, "samples": 5000}]
    events += [epoch_event(e, 0.9, samples_per_s) for e in range(1, epochs + 1)]
    return RunInfo(Path(f"/runs/{model}-run"), {"model": model, **kw}, status, "it broke" if status == "failed" else "",
                   events)


def write_run(root: Path, name: str, model: str, samples_per_s: float, status: str = "done") -> Path:
    """A run folder as the engine writes one, without training; a 'running' one names this process."""
    config = {**TrainConfig(model=model, recipe_name="fast", recipe=RECIPES["fast"]).to_dict(),
              "argv": ["train", "--model", model]}
    writer = RunWriter(root / name, config)
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": 5000, "test_samples": 10000,
                     "epochs": 1, "steps_per_epoch": 40, "device": "cpu", "threads": 1, "pid": os.getpid(),
                     "time": time.time()})
    if status != "running":
        writer.on_event(epoch_event(1, 0.9, samples_per_s))
        writer.on_event({"event": "end", "status": status, "reason": "the test said so" if status == "failed" else "",
                         "epochs_completed": 1, "test_acc": 0.9, "elapsed": 5.0})
    writer.close()
    return root / name


def write_seed(folder: Path, seed: int, accs: list[float]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    import json
    lines = [{"event": "start", "model": "residual"}] + [epoch_event(i, a) for i, a in enumerate(accs, 1)]
    (folder / f"residual-seed{seed}.metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))


# ---------------------------------------------------------------- the lessons themselves
def test_lesson_ids_are_stable_and_every_link_is_a_page():
    assert lessons.LESSON_IDS == ("one-by-one", "naive-speed", "skip-gradient", "lesion", "seed-dip")
    paths = {p.path for p in PAGES}
    assert "app_pages/lessons.py" in paths
    for lesson in lessons.LESSONS:
        assert set(lesson.links) <= paths and lesson.links
        for q in lesson.questions:
            assert len(set(q.choices)) == len(q.choices) >= 2
    with pytest.raises(KeyError, match="one-by-one"):
        lessons.lesson("nope")


def test_grade_needs_both_answers():
    assert lessons.grade("a", "a") is True and lessons.grade("a", "b") is False
    assert lessons.grade(None, "a") is None and lessons.grade("a", None) is None


# ---------------------------------------------------------------- 1: the 1x1 convs
def test_one_by_one_answer_is_counted_from_the_blocks():
    answer = lessons.one_by_one_answer()
    assert answer["verdicts"] == {"w10": lessons.DEARER, "w64": lessons.CHEAPER}
    assert answer["crossover"] == pytest.approx(cost.crossover_width()) and 16 < answer["crossover"] < 17
    w10 = answer["rows"][0]
    assert w10["in_ch"] == 10 and w10["macs_with"] == cost.block_cost(10, True, 12).total_macs
    # either side of the break-even
    near = lessons.one_by_one_answer({"a": 16, "b": 17})["verdicts"]
    assert near == {"a": lessons.DEARER, "b": lessons.CHEAPER}
    assert lessons.cost_verdict(5, 5) == lessons.SAME_COST


# ---------------------------------------------------------------- 2: Inception vs Naive
def test_speed_verdict_and_answer():
    assert lessons.speed_verdict(1000, 1040) == lessons.SAME_SPEED  # within 5%
    assert lessons.speed_verdict(1000, 1100) == lessons.NAIVE
    assert lessons.speed_verdict(1200, 1000) == lessons.INCEPTION
    answer = lessons.speed_answer([info("inception", samples_per_s=700), info("naive", samples_per_s=800)],
                                  {"inception": 6_000_000, "naive": 5_000_000})
    assert answer["verdicts"] == {"faster": lessons.NAIVE}
    assert [r["samples_per_s"] for r in answer["rows"]] == [700, 800]
    assert answer["rows"][1]["macs"] == 5_000_000 and answer["rows"][0]["threads"] == 1


def test_speed_answer_waits_for_an_epoch_of_both():
    still_going = info("naive", status="running", epochs=0)
    answer = lessons.speed_answer([info("inception"), still_going], {})
    assert answer["verdicts"]["faster"] is None


def test_runs_state_combines_runs():
    assert lessons.combine([]).state == "starting"
    assert lessons.combine([info("inception"), None]).state == "starting"
    assert lessons.combine([info("inception"), info("naive", status="running", epochs=0)]).state == "running"
    assert lessons.combine([info("inception"), info("naive")]).state == "done"
    failed = lessons.combine([info("inception"), info("naive", status="failed")])
    assert failed.state == "failed" and "it broke" in failed.message
    assert lessons.combine([info("inception"), info("naive", status="stopped")]).state == "failed"
    assert lessons.combine([info("inception"), None], ["naive-run: no torch"]).state == "failed"


def test_newest_pair_takes_the_newest_finished_run_of_each(tmp_path):
    entries = [RunEntry(tmp_path / "5", {"model": "naive"}, "running"),
               RunEntry(tmp_path / "4", {"model": "inception", "model_kwargs": {"width": 64}}, "done"),
               RunEntry(tmp_path / "3", {"model": "naive"}, "done"),
               RunEntry(tmp_path / "2", {"model": "inception"}, "failed"),
               RunEntry(tmp_path / "1", {"model": "inception"}, "done")]
    assert lessons.newest_pair(entries) == [str(tmp_path / "1"), str(tmp_path / "3")]
    assert lessons.newest_pair(entries[:3]) is None


def test_runs_state_of_run_folders(tmp_path):
    done = [write_run(tmp_path, "a", "inception", 700), write_run(tmp_path, "b", "naive", 800)]
    assert lessons.runs_state(done).state == "done"
    going = write_run(tmp_path, "c", "naive", 800, status="running")
    assert lessons.runs_state([done[0], going]).state == "running"
    failed = write_run(tmp_path, "d", "naive", 800, status="failed")
    assert "the test said so" in lessons.runs_state([done[0], failed]).message
    (tmp_path / "e").mkdir()  # launched, no status yet: still starting
    assert lessons.runs_state([done[0], tmp_path / "e"]).state == "starting"


# ---------------------------------------------------------------- 3: gradients with and without skips
def test_grad_ratio_uses_the_last_reports_of_epoch_one():
    skips = [batch(1, 100.0)] * 3 + [batch(1, 2.0)] * 10 + [batch(2, 5.0)]
    plain = [batch(1, None), batch(1, 0.0)] + [batch(1, 0.002)] * 12 + [batch(2, 1.0)]
    assert lessons.first_layer_grads(plain) == [0.002] * 12  # no report, a zero norm: skipped
    assert lessons.grad_ratio(skips, plain) == pytest.approx(1000)
    assert lessons.skip_answer(skips, plain)["verdicts"] == {"ratio": "~1,000x"}
    assert lessons.grad_ratio(skips, [batch(1, None)]) is None
    assert lessons.grad_ratio([], []) is None


@pytest.mark.parametrize("ratio,choice", [(0.5, "about the same"), (1, "about the same"), (3, "about the same"),
                                          (4, "~10x"), (99, "~10x"), (101, "~1,000x"), (9_999, "~1,000x"),
                                          (10_001, "~100,000x or more"), (1e7, "~100,000x or more"),
                                          (None, None), (0, None), (math.nan, None), (math.inf, None)])
def test_grad_verdict_is_the_nearest_choice_on_a_log_scale(ratio, choice):
    assert lessons.grad_verdict(ratio) == choice


def test_the_recorded_ratio_is_the_one_home_shows():
    res, plain = catalogue.recorded_story(COLORS)
    answer = lessons.skip_answer(res["batches"], plain["batches"])
    assert answer["ratio"] > 1e4 and answer["verdicts"]["ratio"] == "~100,000x or more"


def test_a_missing_recording_has_no_story(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    assert catalogue.recorded_story(COLORS) == []


# ---------------------------------------------------------------- 4: the lesion test
def rows(full: float, *lesioned: float) -> list:
    return [("none", full)] + [(f"rblock{i}", acc) for i, acc in enumerate(lesioned)]


@pytest.mark.parametrize("plain,verdict", [((0.98, 0.06, 0.97), lessons.RESIDUAL3), ((0.98, 0.97, 0.96), "both")])
def test_lesion_answer(plain, verdict):
    answer = lessons.lesion_answer({lessons.RESIDUAL3: rows(0.99, 0.985, 0.96), lessons.PLAIN3: rows(*plain)},
                                   small_drop=5.0)
    assert answer["verdicts"] == {"survivor": verdict}
    res = answer["networks"][0]
    assert res["worst_block"] == "rblock1" and res["mean"] == pytest.approx(0.9725) and res["survives"]
    neither = lessons.lesion_answer({lessons.RESIDUAL3: rows(0.99, 0.5), lessons.PLAIN3: rows(0.98, 0.1)}, 5.0)
    assert neither["verdicts"]["survivor"] == "neither"
    assert lessons.lesion_answer({lessons.RESIDUAL3: rows(0.99, 0.98)}, 5.0)["verdicts"]["survivor"] is None
    assert lessons.lesion_answer({lessons.RESIDUAL3: rows(0.99, 0.98)})["small_drop"] > 0  # the lesion module's


# ---------------------------------------------------------------- 5: the seed's dip
def test_seed_answer_dip_within_the_spread():
    curves = {0: [0.97] * 5 + [0.9889, 0.9881], 1: [0.97] * 5 + [0.9902, 0.9907], 2: [0.97] * 5 + [0.9889, 0.9899]}
    a = seed_dip.seed_answer(curves)
    assert a["verdicts"] == {"dip": lessons.DIP_WITHIN}
    assert a["changes"][0] == pytest.approx(-0.0008) and a["noise"] == pytest.approx(0.0026)
    assert a["spread"][5] == pytest.approx(0.0013) and len(a["table"]) == 7


def test_seed_answer_dip_larger_and_no_dip():
    dip = {0: [0.97] * 5 + [0.990, 0.980], 1: [0.97] * 5 + [0.991, 0.981]}
    assert seed_dip.seed_answer(dip)["verdicts"]["dip"] == lessons.DIP_LARGER
    rise = {0: [0.97] * 5 + [0.980, 0.990], 1: [0.97] * 5 + [0.981, 0.981]}
    assert seed_dip.seed_answer(rise)["verdicts"]["dip"] == lessons.NO_DIP


def test_seed_answer_prints_whole_percents_across_a_rounding_boundary():
    a = seed_dip.seed_answer({0: [0.97] * 5 + [0.9851, 0.9849], 1: [0.97] * 5 + [0.9850, 0.9852]})
    assert a["printed"][0] == ("99%", "98%")  # a 0.02-point change prints as a 1-point dip
    assert seed_dip.whole_percent(0.9849) == "98%"


def test_seed_answer_leaves_out_incomplete_seeds_and_needs_two():
    running = {0: [0.97] * 7, 1: [0.97] * 7, 2: [0.97] * 4}  # seed 2 still going (or cut short)
    a = seed_dip.seed_answer(running)
    assert a["seeds"] == [0, 1] and a["incomplete"] == [2] and a["verdicts"]["dip"] is not None
    one = seed_dip.seed_answer({0: [0.97] * 7, 2: [0.97] * 4})
    assert one["verdicts"]["dip"] is None and "seed 2" in one["reason"]
    assert seed_dip.seed_answer({})["verdicts"]["dip"] is None


def test_read_repeats(tmp_path):
    assert seed_dip.read_repeats(tmp_path / "missing") == {}
    write_seed(tmp_path, 1, [0.98, 0.99])
    write_seed(tmp_path, 0, [0.97])
    (tmp_path / "notes.txt").write_text("not a recording")
    os.mkfifo(tmp_path / "residual-seed7.metrics.jsonl")  # never read: it would block
    assert seed_dip.read_repeats(tmp_path) == {0: [0.97], 1: [0.98, 0.99]}


def test_the_shipped_seed_repeats_answer():
    curves = seed_dip.read_repeats()
    assert sorted(curves) == [0, 1, 2] and all(len(c) == 7 for c in curves.values())
    assert seed_dip.seed_answer(curves)["verdicts"]["dip"] is not None


def test_lesson_charts():
    fig = lesson_charts.seed_curves_figure({0: [0.97, 0.98, 0.99], 1: [0.96, 0.985, 0.99]}, 2, 3)
    assert [t.name for t in fig.data] == ["seed 0", "seed 1"] and fig.layout.shapes[0].x0 == 2
    rows_ = [{"network": "Inception", "model": "inception", "samples_per_s": 700.0, "macs": 6e6},
             {"network": "Naive Inception", "model": "naive", "samples_per_s": None, "macs": None}]
    fig = lesson_charts.speed_figure(rows_, COLORS)
    assert list(fig.data[0].text) == ["700", "—"] and list(fig.data[1].y) == [6.0, 0]


# ---------------------------------------------------------------- the page, lesson by lesson
def open_lesson(lesson_id: str, timeout: float = 90):
    at = open_app("app_pages/lessons.py", timeout)
    at.radio(key="lesson").set_value(lesson_id).run()
    assert_clean(at)
    return at


def answer(at, lesson_id: str, **picks):
    for key, value in picks.items():
        at.radio(key=f"q_{lesson_id}_{key}").set_value(value)
    return at.run()


def measured(at) -> list[str]:
    """The 'Measured' metrics on the page, in question order."""
    return [m.value for m in at.metric if m.label == "Measured"]


def badges(at) -> list[str]:
    return [m.value for m in at.markdown if "-badge[" in m.value]


def test_lessons_page_is_listed_and_starts_at_the_first_lesson():
    at = open_app("app_pages/home.py")
    assert any("Lessons" in link.label for link in at.get("page_link"))
    at = open_app("app_pages/lessons.py")
    assert_clean(at)
    assert at.radio(key="lesson").value == "one-by-one"
    assert at.radio(key="q_one-by-one_w10").value is None  # nothing pre-chosen
    assert at.button(key="go_one-by-one").disabled  # predict first


def test_an_unknown_lesson_id_falls_back_to_the_first():
    at = open_app("app_pages/home.py")
    at.session_state["lesson"] = "no-such-lesson"  # as an old link would set it
    at.switch_page("app_pages/lessons.py").run()
    assert_clean(at)
    assert at.radio(key="lesson").value == "one-by-one"


def test_one_by_one_lesson_checks_both_widths():
    at = answer(open_lesson("one-by-one"), "one-by-one", w10=lessons.DEARER, w64=lessons.DEARER)
    assert not measured(at)  # nothing shown before the button
    at.button(key="go_one-by-one").click().run()
    assert_clean(at)
    assert measured(at) == [lessons.DEARER, lessons.CHEAPER]
    assert len(badges(at)) == 2 and "right" in badges(at)[0] and "not this time" in badges(at)[1]
    assert any(f"{cost.crossover_width():.1f} input channels" in m.value for m in at.markdown)
    assert [link.label for link in at.get("page_link") if link.label == "Inspect"]


def test_skip_gradient_lesson_opens_the_recording():
    at = answer(open_lesson("skip-gradient"), "skip-gradient", ratio="~10x")
    at.button(key="go_skip-gradient").click().run()
    assert_clean(at)
    assert measured(at) == ["~100,000x or more"] and "not this time" in badges(at)[0]
    assert "lesson_grad_chart" in charts(at)


def test_skip_gradient_lesson_without_the_recording_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    at = answer(open_lesson("skip-gradient"), "skip-gradient", ratio="~10x")
    at.button(key="go_skip-gradient").click().run()
    assert_clean(at)
    assert "record_gradient_flow.sh" in at.warning[0].value and not measured(at)


def test_seed_dip_lesson_reads_the_shipped_repeats():
    at = answer(open_lesson("seed-dip"), "seed-dip", dip=lessons.DIP_LARGER)
    at.button(key="go_seed-dip").click().run()
    assert_clean(at)
    expected = seed_dip.seed_answer(seed_dip.read_repeats())["verdicts"]["dip"]
    assert measured(at) == [expected]
    assert [t["name"] for t in charts(at)["lesson_seed_chart"]["data"]] == ["seed 0", "seed 1", "seed 2"]
    assert any("printed in whole percents" in m.value for m in at.markdown)


def test_seed_dip_lesson_without_recordings_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    write_seed(tmp_path / seed_dip.SEED_DIR, 0, [0.97] * 7)
    write_seed(tmp_path / seed_dip.SEED_DIR, 1, [0.97] * 3)  # cut short
    at = answer(open_lesson("seed-dip"), "seed-dip", dip=lessons.DIP_LARGER)
    at.button(key="go_seed-dip").click().run()
    assert_clean(at)
    assert "seed 1" in at.warning[0].value and not measured(at)


def test_lesion_lesson_without_checkpoints_is_not_available(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    at = answer(open_lesson("lesion"), "lesion", survivor=lessons.RESIDUAL3)
    assert_clean(at)
    assert "Not available yet" in at.info[0].value and at.button(key="go_lesion").disabled


@pytest.mark.slow
def test_lesion_lesson_runs_on_the_shipped_checkpoints():
    at = answer(open_lesson("lesion", timeout=180), "lesion", survivor=lessons.PLAIN3)
    at.button(key="go_lesion").click().run()
    assert_clean(at)
    assert measured(at) == [lessons.RESIDUAL3] and "not this time" in badges(at)[0]
    assert "lesson_lesion_chart" in charts(at)


def test_naive_speed_lesson_measures_the_newest_finished_pair(lab):  # noqa: F811
    write_run(lab, "20261202-100000-inception-fast", "inception", 700)
    write_run(lab, "20261202-100001-naive-fast", "naive", 800)
    at = answer(open_lesson("naive-speed"), "naive-speed", faster=lessons.INCEPTION)
    at.button(key="pair_naive-speed").click().run()
    assert_clean(at)
    assert measured(at) == [lessons.NAIVE] and "not this time" in badges(at)[0]
    assert "lesson_speed_chart" in charts(at)
    text = next(m.value for m in at.markdown if m.value.startswith("Measured here"))
    assert "**700 samples/s**" in text and "**800 samples/s**" in text and "did mean faster" in text
    assert "1 CPU thread(s) each; 5,000 training images each" in text


def test_naive_speed_lesson_shows_a_failed_run_and_waits_for_a_running_one(lab):  # noqa: F811
    done = write_run(lab, "20261202-100000-inception-fast", "inception", 700)
    failed = write_run(lab, "20261202-100001-naive-fast", "naive", 800, status="failed")
    at = answer(open_lesson("naive-speed"), "naive-speed", faster=lessons.INCEPTION)
    at.session_state["lesson_runs_naive-speed"] = [str(done), str(failed)]
    at.run()
    assert not at.exception and "the test said so" in at.error[0].value and not measured(at)
    going = write_run(lab, "20261202-100002-naive-fast", "naive", 800, status="running")
    at.session_state["lesson_runs_naive-speed"] = [str(done), str(going)]
    at.run()
    assert_clean(at)
    assert not measured(at) and any("epoch 1/1" in c.value for c in at.caption)
    assert at.button(key="go_naive-speed").disabled  # one pair at a time


@pytest.mark.slow
def test_naive_speed_lesson_trains_both(lab, monkeypatch):  # noqa: F811
    monkeypatch.setenv(launch.SYNTHETIC_ENV, str(lessons.PRESETS["naive-speed"].limit))
    at = answer(open_lesson("naive-speed"), "naive-speed", faster=lessons.SAME_SPEED)
    at.button(key="go_naive-speed").click().run()
    wait_for(at, lambda a: bool(measured(a)) or bool(a.error), timeout=240)
    assert_clean(at)
    runs = {e.model: e for e in run_index(lab)}  # ordinary runs: Train and Compare list them
    assert set(runs) == {"inception", "naive"} and all(e.status == "done" for e in runs.values())
    assert read_run(runs["naive"].dir).start["threads"] == 1
    assert measured(at)[0] in (lessons.INCEPTION, lessons.NAIVE, lessons.SAME_SPEED)


@pytest.mark.slow
def test_skip_gradient_lesson_runs_it_here(lab, monkeypatch):  # noqa: F811
    monkeypatch.setenv(launch.SYNTHETIC_ENV, str(lessons.PRESETS["skip-gradient"].limit))
    at = answer(open_lesson("skip-gradient"), "skip-gradient", ratio="~10x")
    at.button(key="go_skip-gradient").click().run()
    at.button(key="run_skip").click().run()
    wait_for(at, lambda a: any(m.value.startswith("Measured in your runs") for m in a.markdown) or bool(a.error),
             timeout=240)
    assert_clean(at)
    assert {e.config["model_kwargs"].get("blocks") for e in run_index(lab)} == {3}
