"""The Handwriting page's What changed for runs that ended without a measure, or with a partial one, and the
Delete popover of a set saying what becomes of the runs on it (AppTest)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from app_pages._escape import literal
from netlib.data import normalize
from netlib.handwriting import changes, sets, tuning
from netlib.lab import catalogue
from pages_support import fake_run, lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)
from support import assert_clean

PAGE = "app_pages/handwriting.py"


def tuning_run(lab, name: str, measured: bool = True, **run) -> Path:  # noqa: F811
    """A fine-tuning run written without training; measured: with a changes.json of two untrained networks."""
    path = fake_run(lab, name, "residual", **run)
    config = json.loads((path / "config.json").read_text())
    config["request"] = tuning.request("residual", catalogue.shipped_checkpoint("residual"), sets.EXAMPLE_SET,
                                       "last").to_dict()
    (path / "config.json").write_text(json.dumps(config))
    if measured:
        s = sets.load_set(None, sets.EXAMPLE_SET)
        before, after = (catalogue.untrained_model("residual", seed=i) for i in (0, 1))
        out = changes.compute(before, after, s, normalize(s.images), torch.as_tensor(s.labels))
        (path / changes.CHANGES).write_text(json.dumps(out))
        changes.write_snapshot(path, s)
    return path


def what_changed(picked: list[str]):
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "What changed"
    at.session_state["hw_changes_runs"] = picked
    return at.run()


def test_a_failed_or_early_stopped_run_says_what_happened_not_that_it_is_measured_later(lab):  # noqa: F811
    failed = tuning_run(lab, "20260101-000001-residual-tune-001", False, status="failed", reason="out of memory")
    early = tuning_run(lab, "20260101-000002-residual-tune-002", False, accs=(), status="stopped")
    at = what_changed([failed.name, early.name])
    assert_clean(at)
    said = " ".join(c.value for c in at.caption)
    assert "measured when it ends" not in said
    assert "failed (out of memory)" in said and "stopped before its first epoch" in said


def test_an_error_in_changes_is_shown_as_text(lab):  # noqa: F811
    run = tuning_run(lab, "20260101-000001-residual-tune-001", False)
    error = "what changed could not be measured: see [this](http://x.test) **now**"
    (run / changes.CHANGES).write_text(json.dumps({"error": error}))
    at = what_changed([run.name])
    assert_clean(at)
    assert at.warning[0].value == f"{run.name}: {literal(error)}"


def test_a_measure_without_the_held_out_after_still_draws_its_chart(lab):  # noqa: F811
    run = tuning_run(lab, "20260101-000001-residual-tune-001")
    c = json.loads((run / changes.CHANGES).read_text())
    c["held_out"]["after"] = None
    (run / changes.CHANGES).write_text(json.dumps(c))
    at = what_changed([run.name])
    assert_clean(at)
    assert at.get("plotly_chart")


def test_deleting_a_set_says_what_becomes_of_its_fine_tuning_runs(lab):  # noqa: F811
    ex = sets.load_set(None, sets.EXAMPLE_SET)
    sets.write_set(None, "mine", ex.images[:6], ex.labels[:6], [False] * 5 + [True])
    at = open_page(PAGE)
    at.session_state["hw_tab"] = "Your sets"
    at.run()
    assert_clean(at)
    said = " ".join(m.value for m in at.markdown)
    assert "queued" in said and "keep their own copy" in said
