"""Checkpoint pickers (Draw, Results, Inspect, its Lesion tab) keep the checkpoint chosen, not its place in
the list, under AppTest: a run that saves a checkpoint listed before it, or one deleted, changes nothing;
the chosen checkpoint itself gone says so once and shows the first."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from support import assert_clean, open_app, untrained_run

OLDER = "20260101-000000-{}-fast-001"  # run_index lists the newest first: NEWER comes before OLDER
NEWER = "20260102-000000-{}-fast-002"
GONE = "checkpoint you had chosen is gone; showing"
# (page, picker key, network, the link parameter naming its checkpoint)
PICKERS = [("draw", "draw_ckpt_inception", "inception", "inception"),
           ("results", "results_ckpt_inception", "inception", "checkpoint"),
           ("inspect", "inspect_ckpt_inception", "inception", "checkpoint"),
           ("inspect", "lesion_ckpt_residual", "residual", "lesion")]


@pytest.fixture(autouse=True)
def lab(fresh_lab):
    """Every test here: a fresh runs directory and empty Streamlit caches."""


def chosen(at: AppTest, key: str) -> str:
    """The label the picker shows as chosen."""
    picker = at.selectbox(key=key)
    return picker.options[picker.index]


def open_on(page: str, key: str, model: str, run: str) -> AppTest:
    """The page with the run's checkpoint chosen in the picker, as a person picks it."""
    at = open_app(f"app_pages/{page}.py")
    if page == "inspect":
        at.radio(key="inspect_model").set_value(model).run()
    picker = at.selectbox(key=key)
    label = next(o for o in picker.options if o.startswith(f"run {run} "))
    picker.select_index(picker.options.index(label)).run()
    assert_clean(at)
    assert chosen(at, key) == label
    return at


@pytest.mark.parametrize("page,key,model,param", PICKERS, ids=[p[1] for p in PICKERS])
def test_a_new_checkpoint_listed_before_the_chosen_one_changes_nothing(runs_dir, page, key, model, param):
    older = untrained_run(runs_dir, OLDER.format(model), model)
    at = open_on(page, key, model, older.name)
    untrained_run(runs_dir, NEWER.format(model), model)  # a run saves its first checkpoint
    at.run()
    assert_clean(at)
    assert chosen(at, key).startswith(f"run {older.name} ")
    assert any(o.startswith(f"run {NEWER.format(model)} ") for o in at.selectbox(key=key).options)
    assert at.query_params[param] == f"run:{older.name}"
    assert not any(GONE in c.value for c in at.caption)


@pytest.mark.parametrize("page,key,model,param", PICKERS, ids=[p[1] for p in PICKERS])
def test_a_deleted_checkpoint_listed_before_the_chosen_one_changes_nothing(runs_dir, page, key, model, param):
    older = untrained_run(runs_dir, OLDER.format(model), model)
    newer = untrained_run(runs_dir, NEWER.format(model), model)
    at = open_on(page, key, model, older.name)
    shutil.rmtree(newer)
    at.run()
    assert_clean(at)
    assert chosen(at, key).startswith(f"run {older.name} ")
    assert at.query_params[param] == f"run:{older.name}"


def test_the_chosen_checkpoint_deleted_shows_the_first_and_says_so_once(runs_dir):
    older = untrained_run(runs_dir, OLDER.format("inception"), "inception")
    newer = untrained_run(runs_dir, NEWER.format("inception"), "inception")
    at = open_on("draw", "draw_ckpt_inception", "inception", newer.name)
    shutil.rmtree(newer)
    at.run()
    assert_clean(at)
    first = at.selectbox(key="draw_ckpt_inception").options[0]
    assert chosen(at, "draw_ckpt_inception") == first
    assert [c.value for c in at.caption if GONE in c.value] == [f"The checkpoint you had chosen is gone; "
                                                                f"showing {first}."]
    at.run()
    assert not any(GONE in c.value for c in at.caption)
    assert older.is_dir()
