"""The Lessons page's measured answers, from small synthetic events and the shipped recordings (no AppTest)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from app_pages._common import PAGES
from netlib.analysis import cost
from netlib.charts import lessons as lesson_charts
from netlib.charts.style import COLORS
from netlib.lab import catalogue, lesson_runs, lessons, seed_dip
from netlib.runs.reader import RunEntry, read_run, run_index
from support import batch, info, write_run, write_seed


# ---------------------------------------------------------------- the lessons themselves
def test_lesson_ids_are_stable_and_every_link_is_a_page():
    assert lessons.LESSON_IDS[:6] == ("one-by-one", "naive-speed", "skip-gradient", "lesion", "seed-dip",
                                      "map-separation")
    paths = {p.path for p in PAGES}
    assert "app_pages/lessons.py" in paths
    for lesson in lessons.LESSONS:
        assert set(lesson.links) <= paths and lesson.links
        for q in lesson.questions:
            assert len(set(q.choices)) == len(q.choices) >= 2
    with pytest.raises(KeyError, match="one-by-one"):
        lessons.lesson("nope")


def test_the_questions_say_the_numbers_they_are_answered_at():
    blurb = next(p.blurb for p in PAGES if p.path == "app_pages/lessons.py")
    assert f"{len(lessons.LESSONS)} questions" in blurb
    w10, w64 = lessons.lesson("one-by-one").questions
    assert f"width {lessons.LESSON_WIDTHS['w10']} (as published)" in w10.prompt
    assert f"width {lessons.LESSON_WIDTHS['w64']}?" in w64.prompt and "published" not in w64.prompt
    assert f"{lessons.PRESETS['skip-gradient'].blocks} blocks per stage" in lessons.lesson("skip-gradient").questions[0].prompt
    dip = lessons.lesson("seed-dip").questions[0].prompt
    assert f"epoch {lessons.DIP_FROM} to {lessons.DIP_TO}" in dip and "spread between seeds" in dip


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
    assert lesson_runs.speed_verdict(1000, 1040) == lessons.SAME_SPEED  # within 5%
    assert lesson_runs.speed_verdict(1000, 1100) == lessons.NAIVE
    assert lesson_runs.speed_verdict(1200, 1000) == lessons.INCEPTION
    answer = lesson_runs.speed_answer([info("inception", samples_per_s=700), info("naive", samples_per_s=800)],
                                      {"inception": 6_000_000, "naive": 5_000_000})
    assert answer["verdicts"] == {"faster": lessons.NAIVE} and answer["unlike"] == []
    assert [r["samples_per_s"] for r in answer["rows"]] == [700, 800]
    assert answer["rows"][1]["macs"] == 5_000_000 and answer["rows"][0]["threads"] == 1


def test_speed_answer_waits_for_an_epoch_of_both_and_refuses_unlike_runs():
    still_going = info("naive", status="running", epochs=0)
    assert lesson_runs.speed_answer([info("inception"), still_going], {})["verdicts"]["faster"] is None
    unlike = lesson_runs.speed_answer([info("inception", limit=5000), info("naive", limit=None)], {})
    assert unlike["verdicts"]["faster"] is None and unlike["unlike"] == ["training images"]


def speed_rows(inception: float, naive: float) -> list[dict]:
    return [{"network": "Inception", "model": "inception", "samples_per_s": inception, "macs": 6_000_000,
             "threads": 1, "samples": 5000},
            {"network": "Naive Inception", "model": "naive", "samples_per_s": naive, "macs": 9_000_000,
             "threads": 1, "samples": 5000}]


@pytest.mark.parametrize("inception,naive,says", [
    (1000, 1020, "about the same speed (2.0% apart; this lesson counts up to 5% as the same): here fewer "
                 "multiply-adds did not mean faster"),
    (1000, 1049, "about the same speed (4.7% apart"),
    (1100, 1000, "trained 10% faster: here fewer multiply-adds did mean faster training"),
    (1000, 1100, "trained 9% slower: here fewer multiply-adds did not mean faster training")])
def test_speed_words_agree_with_the_verdict(inception, naive, says):
    verdict = lesson_runs.speed_verdict(inception, naive)
    words = lesson_runs.speed_words(speed_rows(inception, naive), verdict)
    assert "Inception does 33% fewer multiply-adds per digit" in words and says in words
    assert ("about the same" in words) == (verdict == lessons.SAME_SPEED)
    assert "1 CPU thread(s) each; 5,000 training images each" in words
    assert lesson_runs.speed_words(speed_rows(inception, naive), None) is None


def test_runs_state_combines_runs():
    assert lesson_runs.combine([]).state == "starting"
    assert lesson_runs.combine([info("inception"), None]).state == "starting"
    assert lesson_runs.combine([info("inception"), info("naive", status="running", epochs=0)]).state == "running"
    assert lesson_runs.combine([info("inception"), info("naive")]).state == "done"
    failed = lesson_runs.combine([info("inception"), info("naive", status="failed")])
    assert failed.state == "failed" and "it broke" in failed.message
    assert lesson_runs.combine([info("inception"), info("naive", status="stopped")]).state == "failed"
    assert lesson_runs.combine([info("inception"), None], ["naive-run: no torch"]).state == "failed"


def test_newest_pair_takes_the_newest_finished_run_of_each(tmp_path):
    write_run(tmp_path, "1", "inception", 700)
    write_run(tmp_path, "2", "inception", 700, status="failed")
    write_run(tmp_path, "3", "naive", 800)
    write_run(tmp_path, "4", "inception", 700, model_kwargs={"width": 64})  # no Naive at width 64
    write_run(tmp_path, "5", "naive", 800, status="running")
    entries = sorted(run_index(tmp_path), key=lambda e: e.name, reverse=True)  # newest first
    assert lesson_runs.newest_pair(entries) == [str(tmp_path / "1"), str(tmp_path / "3")]
    write_run(tmp_path, "6", "naive", 800, model_kwargs={"width": 64})  # now there is
    entries = sorted(run_index(tmp_path), key=lambda e: e.name, reverse=True)
    assert lesson_runs.newest_pair(entries) == [str(tmp_path / "4"), str(tmp_path / "6")]
    assert lesson_runs.newest_pair([e for e in entries if e.name in "345"]) is None


@pytest.mark.parametrize("naive,differs", [({"limit": None}, "training images"), ({"device": "cuda"}, "device"),
                                           ({"recipe_name": "seed"}, "recipe"), ({"threads": 2}, "threads"),
                                           ({"model_kwargs": {"width": 64}}, "width")])
def test_newest_pair_skips_runs_trained_unlike(tmp_path, naive, differs):
    write_run(tmp_path, "1", "inception", 700)
    write_run(tmp_path, "2", "naive", 800, **naive)
    a, b = (read_run(tmp_path / n) for n in "12")
    assert lesson_runs.unlike(a, b) == [differs]
    entries = sorted(run_index(tmp_path), key=lambda e: e.name, reverse=True)
    assert lesson_runs.newest_pair(entries) is None
    write_run(tmp_path, "0", "naive", 800)  # an older Naive run trained alike: that one pairs
    entries = sorted(run_index(tmp_path), key=lambda e: e.name, reverse=True)
    assert lesson_runs.newest_pair(entries) == [str(tmp_path / "1"), str(tmp_path / "0")]


def test_a_run_whose_log_does_not_say_its_threads_pairs_with_nothing():
    a, b = info("inception"), info("naive")
    b.events[0].pop("threads")
    assert lesson_runs.unlike(a, b) == ["threads"]
    entry = [RunEntry(Path("/runs/x"), {"model": "inception"}, "done"), RunEntry(Path("/runs/y"), {"model": "naive"}, "done")]
    assert lesson_runs.newest_pair(entry, read=lambda d: a if d.name == "x" else b) is None


def test_runs_state_of_run_folders(tmp_path):
    done = [write_run(tmp_path, "a", "inception", 700), write_run(tmp_path, "b", "naive", 800)]
    assert lesson_runs.runs_state(done).state == "done"
    going = write_run(tmp_path, "c", "naive", 800, status="running")
    assert lesson_runs.runs_state([done[0], going]).state == "running"
    failed = write_run(tmp_path, "d", "naive", 800, status="failed")
    assert "the test said so" in lesson_runs.runs_state([done[0], failed]).message
    (tmp_path / "e").mkdir()  # launched, no status yet: still starting
    assert lesson_runs.runs_state([done[0], tmp_path / "e"]).state == "starting"


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


def test_the_shipped_recording_answers_and_says_what_it_was_recorded_with():
    res, plain = catalogue.recorded_story(COLORS)
    answer = lessons.skip_answer(res["batches"], plain["batches"])
    assert answer["ratio"] > 1e4 and answer["verdicts"]["ratio"] == "~100,000x or more"
    starts = lessons.story_starts()
    assert lessons.recording_setup(starts["plain"]) == "Plain ×3, seed recipe, 60,000 training images"
    assert lessons.blocks_of(res["grad_layers"]) == lessons.PRESETS["skip-gradient"].blocks == 3


def test_recording_setup_names_only_what_the_start_event_says():
    assert lessons.blocks_of(["conv1", "rblock1.conv1", "rblock1.conv2", "rblock2.conv1", "fc"]) == 1
    assert lessons.blocks_of([f"rblock1.{i}.conv1" for i in range(4)] + ["rblock2.0.conv1"]) == 4
    assert lessons.blocks_of([]) is None
    assert lessons.recording_setup({"model": "residual", "recipe": "fast", "samples": 5000,
                                    "grad_layers": []}) == "Residual, fast recipe, 5,000 training images"
    assert lessons.recording_setup({}) == "?, ? recipe"


def test_a_missing_recording_has_no_story(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    assert catalogue.recorded_story(COLORS) == []
    assert lessons.story_starts() == {"residual": {}, "plain": {}}


# ---------------------------------------------------------------- 4: the lesion test
def rows(full: float, *lesioned: float) -> list:
    return [("none", full)] + [(f"rblock{i}", acc) for i, acc in enumerate(lesioned)]


def nets(residual: list, plain: list | None = None) -> list:
    out = [("residual", "Residual ×3", residual)]
    return out + [("plain", "Plain ×3", plain)] if plain else out


@pytest.mark.parametrize("plain,verdict", [((0.98, 0.06, 0.97), lessons.RESIDUAL), ((0.98, 0.97, 0.96), "both")])
def test_lesion_answer(plain, verdict):
    answer = lessons.lesion_answer(nets(rows(0.99, 0.985, 0.96), rows(*plain)))
    assert answer["verdicts"] == {"survivor": verdict}
    res = answer["networks"][0]
    assert res["survives"] and res["network"] == "Residual ×3"
    assert "rblock1" in res["words"] and "96.00%" in res["words"] and "97.25% on average" in res["words"]
    neither = lessons.lesion_answer(nets(rows(0.99, 0.5), rows(0.98, 0.1)))
    assert neither["verdicts"]["survivor"] == "neither"
    only_one = lessons.lesion_answer(nets(rows(0.99, 0.98)))
    assert only_one["verdicts"]["survivor"] is None and only_one["small_drop"] > 0  # the lesion module's


def test_lesion_answer_draws_the_line_where_the_lesion_module_does():
    from netlib.analysis.lesion import SMALL_DROP

    just_under = lessons.lesion_answer(nets(rows(0.99, 0.99 - (SMALL_DROP - 0.1) / 100)))
    just_over = lessons.lesion_answer(nets(rows(0.99, 0.99 - (SMALL_DROP + 0.1) / 100)))
    assert just_under["networks"][0]["survives"] and not just_over["networks"][0]["survives"]


# ---------------------------------------------------------------- 5: the seed's dip
def test_seed_answer_dip_within_the_spread():
    curves = {0: [0.97] * 5 + [0.9889, 0.9881], 1: [0.97] * 5 + [0.9902, 0.9907], 2: [0.97] * 5 + [0.9889, 0.9899]}
    a = seed_dip.seed_answer(curves)
    assert a["verdicts"] == {"dip": lessons.DIP_WITHIN}
    assert a["changes"][0] == pytest.approx(-0.0008) and a["noise"] == pytest.approx(0.0026)
    assert a["spread"][5] == pytest.approx(0.0013) and len(a["table"]) == 7
    words = seed_dip.answer_words(a)  # mean of -0.08, +0.05 and +0.10 points
    assert "**+0.02 points**" in words and "**0.26 points**" in words and "**within the spread**" in words


def test_seed_answer_a_fall_or_a_rise_larger_than_the_spread():
    fall = seed_dip.seed_answer({0: [0.97] * 5 + [0.990, 0.980], 1: [0.97] * 5 + [0.991, 0.981]})
    assert fall["verdicts"]["dip"] == lessons.DIP_LARGER
    assert "**a fall larger than the spread**" in seed_dip.answer_words(fall)
    rise = seed_dip.seed_answer({0: [0.97] * 5 + [0.980, 0.990], 1: [0.97] * 5 + [0.981, 0.991]})
    assert rise["verdicts"]["dip"] == lessons.RISE_LARGER
    small_rise = seed_dip.seed_answer({0: [0.97] * 5 + [0.980, 0.990], 1: [0.97] * 5 + [0.981, 0.981]})
    assert small_rise["verdicts"]["dip"] == lessons.DIP_WITHIN  # +0.5 points, the seeds 0.9 apart


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
    assert seed_dip.read_repeats(tmp_path / "missing").curves == {}
    write_seed(tmp_path, 1, [0.98, 0.99])
    write_seed(tmp_path, 0, [0.97])
    write_seed(tmp_path, 3, [0.97], recipe="fast")
    write_seed(tmp_path, 4, [0.97], model="plain")
    (tmp_path / "notes.txt").write_text("not a recording")
    os.mkfifo(tmp_path / "residual-seed7.metrics.jsonl")  # never read: it would block
    found = seed_dip.read_repeats(tmp_path)
    assert found.curves == {0: [0.97], 1: [0.98, 0.99]} and found.starts[1]["samples"] == 60000
    assert sorted(found.refused) == [3, 4, 7] and "not the seed recipe's recording" in found.refused[3]
    assert "plain" in found.refused[4]


def test_the_shipped_seed_repeats_answer():
    found = seed_dip.read_repeats()
    assert sorted(found.curves) == [0, 1, 2] and all(len(c) == 7 for c in found.curves.values())
    assert not found.refused and seed_dip.seed_answer(found.curves)["verdicts"]["dip"] is not None
    assert {lessons.recording_setup(s) for s in found.starts.values()} == {"Residual, seed recipe, 60,000 training images"}


def test_lesson_charts():
    fig = lesson_charts.seed_curves_figure({0: [0.97, 0.98, 0.99], 1: [0.96, 0.985, 0.99]}, 2, 3)
    assert [t.name for t in fig.data] == ["seed 0", "seed 1"] and fig.layout.shapes[0].x0 == 2
    rows_ = [{"network": "Inception", "model": "inception", "samples_per_s": 700.0, "macs": 6e6},
             {"network": "Naive Inception", "model": "naive", "samples_per_s": None, "macs": None}]
    fig = lesson_charts.speed_figure(rows_, COLORS)
    assert list(fig.data[0].text) == ["700", "—"] and list(fig.data[1].y) == [6.0, 0]
