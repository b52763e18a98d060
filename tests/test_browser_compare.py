"""Compare in a real browser, repeated seeds: "Train both" with 2 seeds each; the runs the queue has
started read as live in the sidebar while they train (not "starting"), and once they are done every seed
keeps its own place (picker, table, link) after the Networks choice changes, with no error anywhere.

A server of its own (`streamlit run app.py` on a free port, a fresh runs folder) with NETLIB_LAB_SYNTHETIC
set, so the runs train on a few synthetic digits, and two CPU slots, so two of the four runs wait in line;
browser_server.py's browser and tab fixtures use it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.lab import launch  # noqa: E402
from netlib.names import title  # noqa: E402
from netlib.runs.slots import SLOTS_ENV  # noqa: E402
from browser_server import browser, page, serving  # noqa: E402,F401
from browser_helpers import (LONG, assert_clean, new_runs, open_page, run_status, set_number, shot,  # noqa: E402
                             table_rows, wait_idle, wait_until)

SYNTHETIC = 1000  # training digits: a run trains for a few seconds, long enough to be seen live


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """browser_server's server with synthetic digits and two CPU slots (runs beyond two wait their turn)."""
    with serving(tmp_path_factory, "server_compare", {launch.SYNTHETIC_ENV: str(SYNTHETIC), SLOTS_ENV: "2"}) as (
            server, _):
        yield server


def live_in_sidebar(page) -> str:
    """The sidebar's "Live runs" section as text (up to the queue's list)."""
    text = page.get_by_test_id("stSidebar").inner_text()
    return re.split(r"Queued", text.split("Live runs", 1)[-1], maxsplit=1)[0]


@pytest.mark.browser  # about 50 s on two busy cores: four one-epoch runs on synthetic digits, two at a time
def test_train_both_with_two_seeds_live_then_every_seed_kept(server, page):
    open_page(page, server, "compare", "Compare")
    set_number(page, "Epochs", 1)
    set_number(page, "Repeat with N seeds", 2)
    page.get_by_role("button", name="Train both").click()
    runs = new_runs(server, set(), 4)

    # 3: a run the queue has started is live in the sidebar while it trains, as a run from Train is
    first = wait_until(page, lambda: next((r for r in runs if run_status(r) == "running"), None),
                       "a run of the batch to start training", LONG)
    wait_until(page, lambda: first.name in live_in_sidebar(page) or run_status(first) != "running",
               f"{first.name} listed under Live runs", 30_000)
    assert first.name in live_in_sidebar(page), f"{first.name} ended before the sidebar listed it as live"
    assert_clean(page, "compare, seeds training")

    # 1: all four done; then a change of Networks keeps every seed, each once
    wait_until(page, lambda: all(run_status(r) == "done" for r in runs), "all four runs to finish", LONG)
    picker = page.get_by_test_id("stMultiSelect")
    expect(picker).not_to_contain_text(re.compile(r"\((starting|running|queued)\)"), timeout=30_000)
    page.get_by_test_id("stSelectbox").filter(has_text="Networks").click()
    page.get_by_role("option", name="Residual vs Plain", exact=True).click()
    wait_idle(page)
    for run in runs:  # its own label: network · recipe · seed N · start time (done)
        config = json.loads((run / "config.json").read_text())
        when = ":".join(re.findall("..", run.name.split("-")[1]))
        label = f"{title(config['model'])} · fast, 1 epoch · seed {config['seed']} · {when}"
        expect(picker).to_contain_text(f"{label} (done)")
    linked = parse_qs(urlsplit(page.url).query).get("run", [])
    assert sorted(linked) == sorted(r.name for r in runs), linked  # each run once
    rows = wait_until(page, lambda: table_rows(page) if len(table_rows(page)) == 2 else None, "the table's rows")
    assert all(re.search(r"2 seeds", str(r)) for r in rows), rows  # one row per network, both seeds in it
    if page.get_by_text("Layer by layer").count():  # the runs' gradients, one heatmap each
        page.get_by_text("Layer by layer").click()
        wait_idle(page)
    assert_clean(page, "compare, seeds done, networks changed")
    shot(page, "compare_seeds")
