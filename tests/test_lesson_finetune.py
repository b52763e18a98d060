"""The fine-tuning lesson: its verdicts from measured accuracies, the set it uses (yours or the synthetic
example, said so), which variant a run was; and the lesson on the Lessons page under AppTest."""

from __future__ import annotations

from netlib.handwriting import sets
from netlib.handwriting.sets import SetInfo
from netlib.lab import lesson_finetune as lf


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
    assert lf.lesson_set([example, small, big, gappy]) == lf.LessonSet("big", False, 50)
    assert lf.lesson_set([example, gappy, broken]) == lf.LessonSet("example-synthetic", True, 60)
    assert lf.lesson_set(sets.list_sets(example=True)[:1]).synthetic  # the shipped example set itself
