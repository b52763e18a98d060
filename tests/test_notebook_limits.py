"""The lab notebook's limits: notes that fit are read back, prune leaves unreadable runs alone, one list of ended statuses."""

from __future__ import annotations

import json

import pytest

from netlib.runs import manage
from netlib.runs.files import ENDED_STATUSES, STATUS, write_json
from netlib.runs.meta import MAX_META_BYTES, MAX_NOTES, META, MetaError, read_meta
from support import write_run

A, B, C = "20260101-000001-residual-fast-001", "20260101-000002-residual-fast-002", "20260101-000003-residual-fast-003"


def test_long_accented_notes_are_stored_as_utf8_and_read_back(runs_dir):
    write_run(runs_dir, A, "residual", 1000)
    notes = "é" * 15_000  # escaped as \u00e9 this was 90 KB, over the read limit: every later edit refused
    manage.set_notes(runs_dir, A, notes)
    assert (runs_dir / A / META).stat().st_size < MAX_META_BYTES
    meta = read_meta(runs_dir / A)
    assert not meta.problem and meta.notes == notes
    manage.set_label(runs_dir, A, "still editable")
    assert read_meta(runs_dir / A).label == "still editable"


def test_notes_too_big_to_read_back_are_refused_and_nothing_is_written(runs_dir):
    write_run(runs_dir, A, "residual", 1000)
    manage.set_label(runs_dir, A, "kept")
    before = (runs_dir / A / META).read_bytes()
    notes = "😀" * (MAX_NOTES - 1)  # under the character limit, but 4 bytes each: about 80 KB
    assert len(notes) <= MAX_NOTES and len(notes.encode()) > MAX_META_BYTES
    with pytest.raises(MetaError, match="too long to store"):
        manage.set_notes(runs_dir, A, notes)
    assert (runs_dir / A / META).read_bytes() == before and read_meta(runs_dir / A).label == "kept"


def test_notes_just_over_the_read_limit_are_refused(runs_dir):
    write_run(runs_dir, A, "residual", 1000)
    manage.set_notes(runs_dir, A, "x")
    overhead = (runs_dir / A / META).stat().st_size - 1  # the file without its one character of notes
    fits = (MAX_META_BYTES - overhead) // 4
    manage.set_notes(runs_dir, A, "😀" * fits)  # the biggest that fits: stored and read back
    assert read_meta(runs_dir / A).notes == "😀" * fits
    with pytest.raises(MetaError, match="too long to store"):
        manage.set_notes(runs_dir, A, "😀" * (fits + 1))
    assert read_meta(runs_dir / A).notes == "😀" * fits


def test_prune_leaves_out_runs_it_cannot_read(runs_dir):
    for name, acc in ((A, 0.99), (B, 0.95)):
        d = write_run(runs_dir, name, "residual", 1000)
        write_json(d / STATUS, {**json.loads((d / STATUS).read_text()), "test_acc": acc, "best_test_acc": acc})
    bad = write_run(runs_dir, C, "residual", 1000)
    (bad / STATUS).unlink()
    (bad / STATUS).mkdir()  # a folder where status.json should be: the run reads "unreadable"
    rows = {r.name: r for r in manage.notebook_rows(runs_dir, include_archived=True)}
    assert rows[C].status == "unreadable"
    assert [d.row.name for d in manage.prune_plan(runs_dir, keep_best=1)] == [B]
    assert sorted(d.row.name for d in manage.prune_plan(runs_dir, older_than_days=-1)) == [A, B]
    assert C not in [d.row.name for d in manage.prune_plan(runs_dir, keep_best=0, older_than_days=0)]
    (bad / STATUS).rmdir()
    write_json(bad / STATUS, {"status": "done", "reason": ""})
    (bad / META).write_text("{not json")  # metadata unreadable: left out too
    assert C not in [d.row.name for d in manage.prune_plan(runs_dir, keep_best=0)]


def test_one_list_of_ended_statuses():
    from app_pages import _train_parts

    assert set(ENDED_STATUSES) == {"done", "stopped", "failed", "diverged", "interrupted", "unreadable", "cancelled", "pruned"}
    assert _train_parts.ENDED is ENDED_STATUSES
    assert "queued" not in ENDED_STATUSES and "starting" not in ENDED_STATUSES and "running" not in ENDED_STATUSES


def test_the_list_says_one_epoch_in_the_singular(runs_dir, capsys):
    from netlib.cli.main import main

    write_run(runs_dir, A, "residual", 1000)
    assert main(["runs", "list"]) == 0
    out = capsys.readouterr().out
    assert " · 1 epoch · " in out and "1 epochs" not in out, out
