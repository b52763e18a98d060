"""The Runs page (the lab notebook) under AppTest: the table, filters, edits that reach meta.json, delete."""

from __future__ import annotations

import json

import pytest

from netlib.runs import manage
from netlib.runs.meta import META, read_meta
from support import assert_clean, fresh_app, open_app, write_run

PAGE = "app_pages/runs.py"
A, B, C = "20260101-000001-residual-fast-001", "20260101-000002-residual-fast-002", "20260101-000003-inception-fast-003"


@pytest.fixture
def lab(runs_dir, monkeypatch):
    fresh_app(monkeypatch)
    for name, model in ((A, "residual"), (B, "residual"), (C, "inception")):
        write_run(runs_dir, name, model, 1000)
    return runs_dir


def shown(at) -> list[str]:
    """The run folder names in the table, top to bottom."""
    return list(at.dataframe[0].value["Run"])


def select(at, *names: str):
    """Tick the rows of these runs, as a click on their checkboxes does."""
    runs = shown(at)
    at.session_state[at.dataframe[0].key] = {"selection": {"rows": [runs.index(n) for n in names], "columns": []}}
    return at.run()


def test_the_table_lists_every_run_with_its_label_and_the_disk_space(lab):
    manage.set_label(lab, A, "first try")
    at = open_app(PAGE)
    assert_clean(at)
    assert at.title[0].value == "Runs"
    assert shown(at) == [C, B, A]  # newest first
    table = at.dataframe[0].value.set_index("Run")
    assert table.loc[A, "Label"] == "first try" and table.loc[B, "Label"] == B
    assert table.loc[C, "Network"] == "Inception" and table.loc[A, "Status"] == "done"
    assert table.loc[A, "Final acc"] == pytest.approx(90.0)
    assert any("3 of 3 runs shown" in c.value and "on disk" in c.value for c in at.caption)


def test_filter_by_tag_network_and_text(lab):
    manage.add_tags(lab, A, ["keep"])
    manage.set_notes(lab, B, "a learning-rate sweep")
    at = open_app(PAGE)
    at.selectbox(key="runs_tag").set_value("keep").run()
    assert shown(at) == [A]
    at.selectbox(key="runs_tag").set_value("").run()
    at.selectbox(key="runs_network").set_value("Inception").run()
    assert shown(at) == [C]
    at.selectbox(key="runs_network").set_value("").run()
    at.text_input(key="runs_search").set_value("SWEEP").run()
    assert shown(at) == [B]
    assert_clean(at)


def test_label_and_notes_edits_reach_meta_json(lab):
    at = select(open_app(PAGE), B)
    at.text_input(key=f"runs_label_{B}").set_value("the good one")
    at.button(key="runs_save_label").click().run()
    assert read_meta(lab / B).label == "the good one"
    at.text_area(key=f"runs_notes_{B}").set_value("**bold** claim\n\n- item").run()
    assert any("**bold** claim" in m.value for m in at.markdown)  # the preview
    at.button(key="runs_save_notes").click().run()
    assert_clean(at)
    assert json.loads((lab / B / META).read_text())["notes"] == "**bold** claim\n\n- item"
    assert at.dataframe[0].value.set_index("Run").loc[B, "Label"] == "the good one"


def test_delete_asks_first_and_keeps_a_live_run(lab):
    live = write_run(lab, "20260101-000004-residual-fast-004", "residual", 1000, status="running")
    at = select(open_app(PAGE), A, live.name)
    at.button(key="runs_delete").click().run()
    assert (lab / A).is_dir()  # nothing yet: a confirmation first
    assert any("running: stop it first" in w.value.replace("\\", "") for w in at.warning)  # markdown-escaped
    at.button(key="runs_delete_yes").click().run()
    assert_clean(at)
    assert not (lab / A).exists() and live.is_dir() and (lab / B).is_dir()
    assert A not in shown(at) and any("Deleted 1 run" in s.value for s in at.success)


def test_delete_can_be_cancelled(lab):
    at = select(open_app(PAGE), C)
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_no").click().run()
    assert (lab / C).is_dir() and C in shown(at)


def test_archived_runs_are_hidden_unless_shown(lab):
    at = select(open_app(PAGE), A)
    at.button(key="runs_archive").click().run()
    assert read_meta(lab / A).archived
    assert A not in shown(at) and any("1 archived hidden" in c.value for c in at.caption)
    at.toggle(key="runs_show_archived").set_value(True).run()
    assert A in shown(at)
    assert_clean(at)


def test_open_on_compare_sets_its_runs(lab):
    at = select(open_app(PAGE), A, C)
    at.button(key="runs_open_compare").click().run()
    assert_clean(at)
    assert sorted(at.session_state["compare_runs"]) == [A, C]
    assert at.title[0].value == "Compare"
    assert sorted(at.multiselect(key="compare_runs").value) == sorted([A, C])


def test_hostile_metadata_is_listed_and_shown_as_text(lab):
    manage.set_label(lab, A, "[click](http://evil.example) <b>bold</b> :material/home:")
    (lab / B / META).write_bytes(b"\x00not json" * 1000)
    at = select(open_app(PAGE), A)
    assert_clean(at)
    table = at.dataframe[0].value.set_index("Run")
    assert table.loc[A, "Label"].startswith("[click](http://evil.example)")  # a cell is plain text
    assert table.loc[B, "Notes"].startswith("⚠ meta.json unreadable") and table.loc[B, "Label"] == B
    picked = next(m.value for m in at.markdown if "selected:" in m.value)
    assert "\\[click\\](http" in picked and "\\<b\\>" in picked  # escaped: no link, no HTML


def test_open_on_train_watches_that_run(lab):
    at = select(open_app(PAGE), B)
    at.button(key="runs_open_train").click().run()
    assert_clean(at)
    assert at.session_state["train_run"] == str(lab / B) and at.title[0].value == "Train"


def test_queued_runs_show_their_place_move_to_front_and_cancel(lab):
    from netlib.runs.reader import read_status
    from test_queue import enqueue, free, occupy  # a run holding every CPU slot; tiny queued runs

    holder = occupy(lab)
    try:
        first, second = enqueue(lab, 2)
        at = open_app(PAGE)
        table = at.dataframe[0].value.set_index("Run")
        assert table.loc[first.name, "Status"] == "queued, position 1"
        assert table.loc[second.name, "Status"] == "queued, position 2"
        assert table.loc[first.name, "Started"] is None or table.isna().loc[first.name, "Started"]  # not submit time
        at = select(at, second.name)
        at.button(key="runs_front").click().run()
        assert at.dataframe[0].value.set_index("Run").loc[second.name, "Status"] == "queued, position 1"
        at = select(at, first.name, second.name)
        at.button(key="runs_delete").click().run()
        assert sum("queued: cancel it first" in w.value.replace("\\", "") for w in at.warning) == 2
        at.button(key="runs_delete_no").click().run()
        at = select(at, first.name, second.name)
        at.button(key="runs_cancel").click().run()
        assert_clean(at)
        assert read_status(first)["status"] == read_status(second)["status"] == "cancelled"
        assert manage.delete(lab, first.name) >= 0 and not first.exists()  # cancelled: ended, may go
    finally:
        free(holder)


def test_a_run_deleted_by_hand_after_the_listing_gets_a_warning_not_an_error(lab, monkeypatch):
    import shutil

    at = select(open_app(PAGE), A)
    at.text_input(key=f"runs_label_{A}").set_value("too late")
    original = manage.set_label

    def deleted_first(root, name, text):  # by hand, after this run listed the runs, before the click acts
        shutil.rmtree(lab / A)
        return original(root, name, text)

    monkeypatch.setattr(manage, "set_label", deleted_first)
    at.button(key="runs_save_label").click().run()
    assert_clean(at)
    assert any("no run named" in w.value.replace("\\", "") for w in at.warning)
    assert not (lab / A).exists() and A not in shown(at)  # not brought back by the write


def test_a_bad_tag_is_refused_with_the_reason(lab):
    at = select(open_app(PAGE), A)
    at.text_input(key="runs_new_tags").set_value("ok <b>bad</b>").run()
    at.button(key="runs_add_tags").click().run()
    assert_clean(at)
    assert any("Not saved" in w.value for w in at.warning) and read_meta(lab / A).tags == ()


def test_a_group_of_seeds_is_one_line_with_mean_and_sd_from_its_logs(lab):
    import statistics

    from netlib.runs.reader import read_run

    accs = {0: 0.981, 1: 0.985, 2: 0.990}
    names = [f"20260102-00000{s}-naive-fast-10{s}" for s in accs]
    for name, (seed, acc) in zip(names, accs.items()):
        write_run(lab, name, "naive", 1000, acc=acc, seed=seed)
    from_logs = [read_run(lab / n).epochs[-1]["test_acc"] for n in names]  # what the logs say
    at = open_app(PAGE)
    assert_clean(at)
    table = at.dataframe[0].value
    line = table[table["Run"] == ", ".join(names)]
    assert len(line) == 1  # the three seeds are one line
    mean, sd = statistics.fmean(from_logs), statistics.stdev(from_logs)
    assert line["Final acc"].iloc[0] == pytest.approx(100 * mean)
    assert line["Over seeds"].iloc[0] == f"{100 * mean:.2f}% ± {100 * sd:.2f} (sd of 3 seeds)"
    assert line["Status"].iloc[0] == "3 done" and line["Label"].iloc[0].endswith("3 seeds")
    assert line["Best acc"].iloc[0] == pytest.approx(100 * max(from_logs))  # the best of its runs
    at = select(at, ", ".join(names))  # the group's line selects its three runs
    assert any("3 selected" in m.value for m in at.markdown)
    at.toggle(key="runs_grouped").set_value(False).run()
    assert set(names) <= set(shown(at))  # one line per run again


def test_training_time_is_in_seconds_and_archived_sits_by_status_only_when_shown(lab):
    """A run of 5 s reads '5 s', not '0.0 min'; the Archived column is there only with 'Show
    archived' on, next to Status, where it needs no sideways scrolling."""
    at = open_app(PAGE)
    table = at.dataframe[0].value
    assert "Archived" not in table.columns
    assert table.set_index("Run").loc[A, "Training"] == pytest.approx(5.0)  # its 5 s, not 0.08 min
    at.toggle(key="runs_show_archived").set_value(True).run()
    columns = list(at.dataframe[0].value.columns)
    assert columns.index("Archived") == columns.index("Status") + 1
    assert_clean(at)


def open_runs_link(params: dict):
    from streamlit.testing.v1 import AppTest

    from support import APP

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page(PAGE)
    at.query_params.update(params)
    return at.run()


def test_a_link_opens_the_notebook_as_filtered_and_follows_the_filters(lab):
    """Issue 29: Runs had no 'Link to this view'; its filters and toggles are its view."""
    manage.add_tags(lab, A, ["baseline"])
    at = open_runs_link({"tag": "baseline", "archived": "on", "search": "fast"})
    assert_clean(at)
    assert not at.warning
    assert shown(at) == [A] and at.toggle(key="runs_show_archived").value is True
    assert at.query_params == {"tag": "baseline", "archived": "on", "search": "fast"}
    at.selectbox(key="runs_tag").set_value("").run()  # a filter changed: the link follows
    assert "tag" not in at.query_params and len(shown(at)) == 3
    at = open_runs_link({"tag": "nobody-has-this"})  # a tag no run has (any more): all runs, and said
    assert len(shown(at)) == 3 and "nobody-has-this" in at.warning[0].value
