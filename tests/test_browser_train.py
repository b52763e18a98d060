"""Training in a real browser: a short real-MNIST run on the Train page (live chart and progress, a
reload re-attaches, it finishes), a long run paused, given a new learning rate, resumed and stopped; and
Train both on the Compare page (two live curves, then the table).
(browser_server.py's server and Chromium; screenshots to artifacts/browser/.)
"""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from browser_server import browser, page, server  # noqa: E402,F401  (the fixtures)
from netlib.names import title  # noqa: E402
from netlib.lab import steering  # noqa: E402
from netlib.runs import queue  # noqa: E402
from netlib.runs.control import read_control  # noqa: E402
from browser_helpers import (LONG, TRACES_JS, assert_clean, new_runs, open_page, plot_points, plot_traces,  # noqa: E402
                             progress_value, run_events, run_status, set_number, shot, table_rows, wait_idle, wait_until)


@pytest.mark.browser
def test_train_watch_reload_finish_and_stop(server, page):
    open_page(page, server, "train", "Train")
    expect(page.get_by_text("No run in progress")).to_be_visible()
    page.get_by_test_id("stRadio").filter(has_text="Recipe").get_by_text("custom", exact=True).click()
    wait_idle(page)
    set_number(page, "Epochs", 2)
    page.get_by_test_id("stExpander").filter(has_text="Data, seed and device").locator("summary").click()
    set_number(page, "Training images (0 = all 60,000)", 6000)
    assert_clean(page, "train settings")
    known = {p.name for p in server.runs.glob("*")} if server.runs.is_dir() else set()
    page.get_by_role("button", name="Start training").click()
    run = new_runs(server, known, 1)[0]

    # live: the loss chart gains points and the bar moves
    wait_until(page, lambda: plot_points(page, "loss_chart") > 0, "the loss chart's first points")
    first_points, first_progress = plot_points(page, "loss_chart"), progress_value(page)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text(run.name, exact=True)).to_be_visible()  # listed as live
    shot(page, "train_live")

    # a reload mid-run: a new session re-attaches to the live run
    assert run_status(run) == "running", "the run ended before the reload: make it longer"
    page.reload()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_text(run.name).first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("progressbar")).to_be_visible()
    assert_clean(page, "train, reloaded mid-run")
    shot(page, "train_reloaded")
    wait_until(page, lambda: plot_points(page, "loss_chart") > first_points, "the loss chart to gain points")
    wait_until(page, lambda: progress_value(page) > first_progress, "the progress bar to move")
    shot(page, "train")

    # it finishes
    expect(page.get_by_text(re.compile(r"Done: test accuracy \d+\.\d\d% after 2 epoch"))).to_be_visible(
        timeout=LONG)
    assert run_status(run) == "done"
    assert progress_value(page) == 100
    expect(page.get_by_role("button", name="Stop")).to_have_count(0)
    wait_idle(page)
    assert_clean(page, "train, done")
    shot(page, "train_done")

    known.add(run.name)
    steer_and_stop_a_long_run(page, server, known)


def steer_and_stop_a_long_run(page, server, known: set[str]) -> None:
    """A long run from the Train page: paused, given a new learning rate while paused, resumed, stopped."""
    # the reload re-attached to the run and filled the form with its settings (custom, 6,000 images): a
    # long run takes the fast recipe (5 epochs) on all 60,000 images
    page.get_by_test_id("stRadio").filter(has_text="Recipe").get_by_text("fast", exact=True).click()
    wait_idle(page)
    expect(page.get_by_test_id("stRadio").filter(has_text="Recipe").locator("input[type=radio]").first).to_be_checked()
    if not page.get_by_label("Training images (0 = all 60,000)", exact=True).is_visible():
        page.get_by_test_id("stExpander").filter(has_text="Data, seed and device").locator("summary").click()
    set_number(page, "Training images (0 = all 60,000)", 0)
    page.get_by_role("button", name="Start training").click()
    long_run = new_runs(server, known, 1)[0]
    try:
        _pause_set_rate_resume_stop(page, long_run)
    finally:  # a failure must not leave a 5-epoch run holding the CPU slots the next test's runs wait for
        if run_status(long_run) not in ("stopped", "done", "failed"):
            steering.stop(long_run)
            queue.cancel(long_run)


def _pause_set_rate_resume_stop(page, long_run) -> None:
    """Steer the long run (issue 6): pause, a new learning rate while paused, resume; then stop it."""
    wait_until(page, lambda: plot_points(page, "loss_chart") > 0, "the long run's first points")
    page.get_by_role("button", name="Pause").click(timeout=LONG)
    wait_until(page, lambda: run_status(long_run) == "paused", "the run to pause", 60_000)
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    held = len(run_events(long_run, "batch"))
    page.wait_for_timeout(1500)
    assert len(run_events(long_run, "batch")) == held, "batches trained while paused"
    assert_clean(page, "train, paused")
    shot(page, "train_paused")
    set_number(page, "Learning rate", 0.0005)
    page.get_by_role("button", name="Set rate").click()
    # asked before the next click: a click during the rerun that Set rate started could replace it
    wait_until(page, lambda: read_control(long_run).get("lr") == 0.0005, "the new rate to be asked")
    wait_idle(page)
    page.get_by_role("button", name="Resume").click()
    wait_until(page, lambda: len(run_events(long_run, "batch")) > held, "training to go on after Resume")
    (change,) = wait_until(page, lambda: run_events(long_run, "lr_change"), "the new rate to be applied")
    assert change["to"] == 0.0005 and run_events(long_run, "batch")[-1]["lr"] == 0.0005
    assert len(run_events(long_run, "pause")) == 1 and len(run_events(long_run, "resume")) == 1
    steered = plot_points(page, "loss_chart")
    wait_until(page, lambda: plot_points(page, "loss_chart") > steered, "the chart to go on after Resume")
    assert_clean(page, "train, steered")
    shot(page, "train_steered")
    page.get_by_role("button", name="Stop").click(timeout=LONG)
    expect(page.get_by_text(re.compile(r"Stopped by request in epoch \d+\. (No epoch had finished|The last finished epoch)"))).to_be_visible(
        timeout=60_000)
    assert run_status(long_run) == "stopped"
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()
    wait_idle(page)
    assert_clean(page, "train, stopped")
    shot(page, "train_stopped")


# ---------------------------------------------------------------- 3. compare
@pytest.mark.browser
def test_compare_train_both(server, page):
    open_page(page, server, "compare", "Compare")
    set_number(page, "Epochs", 2)
    set_number(page, "Training images (0 = all)", 6000)
    assert_clean(page, "compare settings")
    known = {p.name for p in server.runs.glob("*")} if server.runs.is_dir() else set()
    page.get_by_role("button", name="Train both").click()
    pair = new_runs(server, known, 2)
    assert {run.name.split("-")[2] for run in pair} == {"inception", "residual"}

    # two live curves: both runs' loss lines on the chart while the runs are still going
    def two_live_curves():
        seen = page.evaluate(TRACES_JS, ["compare_chart", True])
        live = re.search(r"(inception|residual): epoch \d+/\d+", seen["text"])
        losses = {t["name"] for t in seen["traces"] if t["xaxis"] == "x2" and t["n"] > 1}
        return live and len(losses) == 2

    wait_until(page, two_live_curves, "both runs' loss curves while they train")
    assert_clean(page, "compare, live")
    shot(page, "compare_live")

    # both finish; the picker holds the pair and the table has a row for each
    picker = page.get_by_test_id("stMultiSelect")
    for run in pair:  # named like 20261128-063702-residual-fast-260; labelled "Residual · ... · 06:37:02 (done)"
        day, hms, model = run.name.split("-")[:3]
        when = f"{hms[:2]}:{hms[2:4]}:{hms[4:]}"
        expect(picker).to_contain_text(re.compile(rf"{title(model)} · [^·]+ · {when} \(done\)"), timeout=LONG)
    expect(picker).not_to_contain_text("(running)")
    wait_idle(page)
    assert all(run_status(r) == "done" for r in pair)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    rows = table_rows(page)
    assert len(rows) == 2 and {r[1] for r in rows} == {"Inception", "Residual"}, rows
    assert all(re.fullmatch(r"\d+\.\d\d%", r[9]) for r in rows), rows  # best test acc filled in
    # the accuracy panel: one point per epoch for each run
    assert sorted(t["n"] for t in plot_traces(page, "compare_chart") if t["xaxis"] == "x") == [2, 2]
    assert_clean(page, "compare, done")
    shot(page, "compare")
