"""The Lessons page lesson by lesson, and Home's story beside the lesson's answer (AppTest)."""

from __future__ import annotations

import re

import pytest

from netlib.analysis import cost
from netlib.lab import catalogue, launch, lesson_runs, lessons, seed_dip
from netlib.runs.reader import read_run, run_index
from support import SHIPPED_LESION_GROUP, assert_clean, charts, open_app, write_run, write_seed
from pages_support import lab, wait_for  # noqa: F401  (lab: fresh runs folder and caches; kills runs left over)


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
    """The measured answers on the page ('Measured: **…**' lines), in question order, unescaped."""
    return [re.sub(r"\\(.)", r"\1", m.value[len(MEASURED):-2]) for m in at.markdown if m.value.startswith(MEASURED)]


MEASURED = "Measured: **"


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
    assert any("first block's input: 10 channels at width 10 and 64 channels at width 64" in m.value
               for m in at.markdown)
    assert [link.label for link in at.get("page_link") if link.label == "Inspect"]


def test_skip_gradient_lesson_opens_the_recording():
    at = answer(open_lesson("skip-gradient"), "skip-gradient", ratio="~10x")
    at.button(key="go_skip-gradient").click().run()
    assert_clean(at)
    assert measured(at) == ["~100,000x or more"] and "not this time" in badges(at)[0]
    assert "lesson_grad_chart" in charts(at)
    text = next(m.value for m in at.markdown if m.value.startswith("In the recording"))
    assert "(Residual ×3, seed recipe, 60,000 training images; Plain ×3, seed recipe, 60,000" in text


def test_home_shows_the_ratio_the_lesson_measures_on_the_recording():
    at = open_app("app_pages/home.py")
    assert_clean(at)
    text = next(m.value for m in at.markdown if "x smaller**" in m.value)
    shown = float(re.search(r"\*\*([\d,]+)x smaller\*\*", text).group(1).replace(",", ""))
    res, plain = catalogue.recorded_story({})
    assert shown == float(f"{lessons.grad_ratio(res['batches'], plain['batches']):.2g}")
    assert any("**3 blocks per stage**" in m.value for m in at.markdown)
    assert {m.label for m in at.metric} >= {"Residual ×3, recorded run", "Plain ×3, recorded run"}


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
    expected = seed_dip.seed_answer(seed_dip.read_repeats().curves)["verdicts"]["dip"]
    assert measured(at) == [expected]
    assert [t["name"] for t in charts(at)["lesson_seed_chart"]["data"]] == ["seed 0", "seed 1", "seed 2"]
    assert any("printed in whole percents" in m.value for m in at.markdown)
    assert any(m.value.startswith("From epoch 6 to 7 the seeds' mean") for m in at.markdown)
    assert any("Residual, seed recipe, 60,000 training images, seeds 0, 1, 2" in c.value for c in at.caption)


def test_seed_dip_lesson_without_recordings_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    write_seed(tmp_path / seed_dip.SEED_DIR, 0, [0.97] * 7)
    write_seed(tmp_path / seed_dip.SEED_DIR, 1, [0.97] * 3)  # cut short
    write_seed(tmp_path / seed_dip.SEED_DIR, 2, [0.97] * 7, recipe="fast")  # another recipe's
    at = answer(open_lesson("seed-dip"), "seed-dip", dip=lessons.DIP_LARGER)
    at.button(key="go_seed-dip").click().run()
    assert_clean(at)
    assert "Seed 2's recording is left out: not the seed recipe's recording" in at.warning[0].value
    assert "seed 1" in at.warning[1].value and not measured(at)


def test_lesion_lesson_without_checkpoints_is_not_available(monkeypatch, tmp_path):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path))
    at = answer(open_lesson("lesion"), "lesion", survivor=lessons.RESIDUAL)
    assert_clean(at)
    assert "Not available yet" in at.info[0].value and at.button(key="go_lesion").disabled


@pytest.mark.slow
@SHIPPED_LESION_GROUP  # the lesion rows are computed once for both (the server-wide memo)
def test_lesion_lesson_runs_on_the_shipped_checkpoints():
    at = answer(open_lesson("lesion", timeout=180), "lesion", survivor=lessons.PLAIN)
    at.button(key="go_lesion").click().run()
    assert_clean(at)
    assert measured(at) == [lessons.RESIDUAL] and "not this time" in badges(at)[0]
    assert "lesson_lesion_chart" in charts(at)
    said = [m.value for m in at.markdown if m.value.startswith("- **")]
    assert said[0].startswith("- **Residual ×3** survives") and said[1].startswith("- **Plain ×3** does not")
    assert any("first 10,000 digits of the MNIST test set" in c.value for c in at.caption)


def test_lesion_lesson_says_how_many_digits_it_tests_without_mnist(monkeypatch):
    import netlib.data

    def no_mnist(*args, **kwargs):
        raise FileNotFoundError("no MNIST here")

    monkeypatch.setattr(netlib.data, "load_mnist", no_mnist)  # the page falls back to 100 drawn digits
    at = open_lesson("lesion")
    caption = next(c.value for c in at.caption if "tested whole" in c.value)
    assert "(Residual ×3, shipped checkpoint lesion/residual-3.pt and Plain ×3, shipped checkpoint " \
           "lesion/plain-3.pt)" in caption and "the first 100 digits of the drawn digits" in caption


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


def test_naive_speed_lesson_offers_a_pair_only_after_a_prediction_and_only_a_like_one(lab):  # noqa: F811
    write_run(lab, "20261202-100000-inception-fast", "inception", 700)
    write_run(lab, "20261202-100001-naive-fast", "naive", 800, limit=None)  # all images: unlike
    at = open_lesson("naive-speed")
    assert not [b for b in at.button if b.key == "pair_naive-speed"]  # predict first
    at = answer(at, "naive-speed", faster=lessons.INCEPTION)
    assert not [b for b in at.button if b.key == "pair_naive-speed"]  # no pair trained alike
    write_run(lab, "20261202-100002-naive-fast", "naive", 800)
    at.run()
    assert [b for b in at.button if b.key == "pair_naive-speed"]


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
    assert not lesson_runs.unlike(*(read_run(e.dir) for e in runs.values()))  # a pair the lesson compares
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


# ---------------------------------------------------------------- issue 29: verdicts, whole answers, sources
def test_a_revealed_verdict_keeps_the_prediction_it_checked():
    """Once the answer shows, the prediction is locked: picking another one does not turn 'not this time'
    into 'right'; 'Predict again' starts over."""
    at = answer(open_lesson("skip-gradient"), "skip-gradient", ratio="~10x")
    at.button(key="go_skip-gradient").click().run()
    assert "not this time" in badges(at)[0]
    assert at.radio(key="q_skip-gradient_ratio").disabled
    at.session_state["q_skip-gradient_ratio"] = "~100,000x or more"  # as a tab drawn before the lock might
    at.run()
    assert "not this time" in badges(at)[0] and "right" not in badges(at)[0]
    at.button(key="again_skip-gradient").click().run()
    assert_clean(at)
    assert at.radio(key="q_skip-gradient_ratio").value is None and not badges(at) and not measured(at)


def test_seed_dip_answer_is_shown_whole():
    """Lesson 5's answer was cut to 'yes: it falls by more than t…' in a metric's one line."""
    at = answer(open_lesson("seed-dip"), "seed-dip", dip=lessons.DIP_WITHIN)
    at.button(key="go_seed-dip").click().run()
    expected = seed_dip.seed_answer(seed_dip.read_repeats().curves)["verdicts"]["dip"]
    assert measured(at) == [expected] and not [m for m in at.metric if m.label == "Measured"]


def test_home_and_lesion_numbers_name_the_runs_and_checkpoints_they_come_from():
    at = open_app("app_pages/home.py")
    story = {m.label: m for m in at.metric if "×3" in m.label}
    assert set(story) == {"Residual ×3, recorded run", "Plain ×3, recorded run"}
    assert all("checkpoints/gradient_flow/" in m.help for m in story.values())
    at = open_lesson("lesion")
    said = " ".join(c.value for c in at.caption)
    assert "lesion/residual-3.pt" in said and "lesion/plain-3.pt" in said, said
