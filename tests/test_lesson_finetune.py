"""The fine-tuning lesson: its verdicts from measured accuracies, the set it uses (yours or the synthetic
example, said so), which variant a run was; and the lesson on the Lessons page under AppTest."""

from __future__ import annotations

import re

import pytest

from netlib.handwriting import sets
from netlib.handwriting.sets import SetInfo
from netlib.lab import lesson_finetune as lf
from pages_support import fake_run, lab  # noqa: F401  (lab: autouse, a fresh runs folder and caches)
from support import assert_clean, open_app


def test_forgetting_is_graded_in_points_of_mnist_accuracy():
    assert lf.forget_verdict(0.9950, 0.9700) == lf.FORGETS
    assert lf.forget_verdict(0.9950, 0.9905) == lf.FORGETS_LITTLE
    assert lf.forget_verdict(0.9950, 0.9930) == lf.KEEPS
    assert lf.forget_verdict(0.9950, 0.9960) == lf.KEEPS  # a gain is no forgetting
    assert lf.forget_verdict(None, 0.99) is None


def test_held_out_digits_are_compared_as_counts_read_right():
    assert lf.held_verdict(0.5, 0.9, 10) == lf.BETTER
    assert lf.held_verdict(0.5, 0.6, 10) == lf.BETTER  # one more digit read right of ten
    assert lf.held_verdict(0.5, 0.5000001, 10) == lf.SAME  # float noise, the same five digits
    assert lf.held_verdict(0.9, 0.5, 10) == lf.WORSE
    assert lf.held_verdict(0.9, None, 10) is None and lf.held_verdict(0.9, 0.9, 0) is None


def test_the_lesson_uses_your_largest_usable_set_else_the_synthetic_example():
    example = SetInfo("example-synthetic", (6,) * 10, 10, synthetic=True)
    small = SetInfo("small", (2,) * 10, 10)
    big = SetInfo("big", (5,) * 10, 10)
    gappy = SetInfo("gappy", (9,) * 9 + (1,), 9)  # a 9 drawn once: nothing of it to hold out
    broken = SetInfo("broken", (0,) * 10, 0, problem="set.json is not JSON")
    assert lf.lesson_set([example, small, big, gappy]) == lf.LessonSet("big", False, 50, 10)
    assert lf.lesson_set([example, gappy, broken]) == lf.LessonSet("example-synthetic", True, 60, 10)
    assert lf.lesson_set(sets.list_sets(example=True)[:1]).synthetic  # the shipped example set itself


# ---------------------------------------------------------------- the lesson on the Lessons page (AppTest)
def tuned(lab, i: int, variant: str, held: tuple, mnist: tuple) -> str:  # noqa: F811
    """A finished fine-tuning run of the example set written without training, its changes.json saying
    held-out and MNIST accuracy (before, after) as given."""
    import json

    from netlib.handwriting import changes, tuning
    from netlib.lab import catalogue
    run = fake_run(lab, f"20260101-00000{i}-residual-lesson-00{i}", "residual", checkpoint=True)
    config = json.loads((run / "config.json").read_text())
    config["request"] = tuning.request("residual", catalogue.shipped_checkpoint("residual"), sets.EXAMPLE_SET,
                                       variant).to_dict()
    (run / "config.json").write_text(json.dumps(config))

    def scores(n, before, after):
        return {"n": n, "before": before, "after": after,
                "per_digit": {"count": [n // 10] * 10, "before": [before] * 10, "after": [after] * 10}}
    (run / changes.CHANGES).write_text(json.dumps({
        "set": sets.EXAMPLE_SET, "synthetic": True, "set_size": 60, "held_out": scores(10, *held),
        "training": scores(50, *held), "mnist": scores(10000, *mnist), "changed": []}))
    return str(run)


def open_lesson():
    at = open_app("app_pages/lessons.py")
    at.radio(key="lesson").set_value("finetune-forget").run()
    return at


def test_the_lesson_says_its_example_set_is_synthetic_and_checks_the_measured_answers(lab):  # noqa: F811
    at = open_lesson()
    assert_clean(at)
    assert any("synthetic" in c.value and sets.EXAMPLE_SET in c.value for c in at.caption)
    at.session_state["lesson_runs_finetune-forget"] = [
        tuned(lab, 1, "last", (0.6, 0.7), (0.9930, 0.9925)),
        tuned(lab, 2, "all", (0.6, 0.9), (0.9930, 0.9650)),
        tuned(lab, 3, "replay", (0.6, 0.8), (0.9930, 0.9910))]
    for key, pick in (("held", lf.BETTER), ("forget", lf.KEEPS), ("replay", lf.KEEPS)):
        at.radio(key=f"q_finetune-forget_{key}").set_value(pick)
    at.run()  # the lesson's runs have ended: their answer shows beside the predictions
    assert_clean(at)
    said = [re.sub(r"\\(.)", r"\1", m.value) for m in at.markdown]  # as shown, markdown's escapes undone
    assert "Measured: **better**" in said  # 6 of 10 held-out digits, then 9
    assert f"Measured: **{lf.FORGETS}**" in said  # the whole network: 99.30% -> 96.50%
    assert f"Measured: **{lf.FORGETS_LITTLE}**" not in said and f"Measured: **{lf.KEEPS}**" in said  # replay
    assert sum("-badge[" in m and "right" in m for m in said) == 2
    rows = at.dataframe[0].value.to_dict("records")
    assert [r["MNIST change (points)"] for r in rows] == [-0.05, -2.8, -0.2]


@pytest.mark.slow
def test_the_lesson_fine_tunes_three_ways_here(lab):  # noqa: F811
    from pages_support import wait_for
    from netlib.runs.reader import run_index
    at = open_lesson()
    for key, pick in (("held", lf.BETTER), ("forget", lf.FORGETS), ("replay", lf.KEEPS)):
        at.radio(key=f"q_finetune-forget_{key}").set_value(pick)
    at.run().button(key="go_finetune-forget").click().run()
    wait_for(at, lambda a: any(m.value.startswith("Measured: ") for m in a.markdown) or bool(a.error), timeout=400)
    assert_clean(at)
    runs = run_index(lab)
    assert sorted(lf.variant(e.config) for e in runs) == ["all", "last", "replay"]
    assert all(e.status == "done" and e.config["request"]["handwriting"] == sets.EXAMPLE_SET for e in runs)
    assert len(at.dataframe[0].value) == 3
