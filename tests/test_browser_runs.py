"""The Runs page (the lab notebook) in a real browser: tick a run in the table and label it, filter by tag,
delete one after the confirmation, and cancel a queued run.

Uses browser_server.py's server (`streamlit run app.py` on a free port, a fresh runs folder) and Chromium.
The table is Streamlit's canvas grid: a row is ticked by clicking its row marker, at the row's height.
"""

from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.runs import manage  # noqa: E402
from netlib.runs.meta import read_meta  # noqa: E402
from netlib.runs.reader import read_status  # noqa: E402
from support import write_run  # noqa: E402
from browser_server import browser, page, server  # noqa: E402,F401,F811  (the fixtures)
from browser_helpers import assert_clean, open_page, shot, wait_idle  # noqa: E402
from test_queue import enqueue, free, occupy  # noqa: E402

A, B, C = "20260101-000001-residual-fast-001", "20260101-000002-residual-fast-002", "20260101-000003-inception-fast-003"
ROW_PX = 35  # Streamlit's grid: the header and each row


def tick(page, row: int) -> None:
    """Click the row marker (the checkbox column) of the table's row `row` (0 = top)."""
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * (row + 1.5))
    wait_idle(page)


def choose(page, label: str, option: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text=label).click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


@pytest.mark.browser
def test_label_filter_delete_and_cancel_on_the_runs_page(server, page):
    for name, model in ((A, "residual"), (B, "residual"), (C, "inception")):
        write_run(server.runs, name, model, 1000)
    manage.add_tags(server.runs, B, ["keep"])
    holder = occupy(server.runs)  # every CPU slot taken: a queued run stays queued
    try:
        [queued] = enqueue(server.runs, 1)
        open_page(page, server, "runs", "Runs")
        expect(page.get_by_text("5 of 5 runs shown")).to_be_visible()  # the occupant and the queued run too
        assert_clean(page, "the runs page")

        # label the newest run (the queued one is newest: its name is today's)
        tick(page, 0)
        expect(page.get_by_text("1 selected:")).to_be_visible()
        page.get_by_label("Label", exact=True).fill("queued, then cancelled")
        page.get_by_role("button", name="Save label").click()
        wait_idle(page)
        expect(page.get_by_text("Label saved.")).to_be_visible()
        assert read_meta(queued).label == "queued, then cancelled"

        # the row stays ticked after the save (a second tick would untick it); cancel it: it leaves the
        # queue and stays listed
        expect(page.get_by_text("1 selected: queued, then cancelled")).to_be_visible()
        page.get_by_role("button", name="Cancel 1 queued").click()
        wait_idle(page)
        expect(page.get_by_text("Cancelled 1 of 1 queued runs.")).to_be_visible()
        assert read_status(queued)["status"] == "cancelled"

        # filter by tag, then delete the one run left, after the confirmation
        choose(page, "Tag", "keep")
        expect(page.get_by_text("1 of 5 runs shown")).to_be_visible()
        tick(page, 0)
        page.get_by_role("button", name="Delete...").click()
        wait_idle(page)
        question = page.get_by_test_id("stMarkdown").filter(has_text="for good?")
        expect(question).to_contain_text(B)  # the run's name as it is: no markdown escapes on show
        assert (server.runs / B).is_dir()  # nothing deleted before the confirmation
        shot(page, "runs_confirm_delete")
        page.get_by_role("button", name="Yes, delete").click()
        wait_idle(page)
        expect(page.get_by_text("Deleted 1 run")).to_be_visible()
        assert not (server.runs / B).exists() and (server.runs / A).is_dir() and (server.runs / C).is_dir()
        assert_clean(page, "after the delete")
    finally:
        free(holder)
