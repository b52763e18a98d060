"""The lab notebook without a page: meta.json, the listing, `python -m netlib runs ...` and what it refuses."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from app_pages._escape import literal
from netlib.cli.main import main
from netlib.runs import manage
from netlib.runs.files import QUEUE_LOCK, STATUS, write_json
from netlib.runs.meta import META, MAX_LABEL, MetaError, clean_tags, read_meta
from netlib.runs.notebook import TAIL_BYTES, matches, notebook_rows, tail_epochs
from support import write_run

A, B, C = "20260101-000001-residual-fast-001", "20260101-000002-residual-fast-002", "20260101-000003-inception-fast-003"


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["runs", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def runs(runs_dir) -> Path:
    write_run(runs_dir, A, "residual", 1000)
    write_run(runs_dir, B, "residual", 1000)
    write_run(runs_dir, C, "inception", 1000)
    return runs_dir


def listed(capsys, *flags) -> dict:
    code, out, err = cli(capsys, "list", "--json", *flags)
    assert code == 0, err
    return {row["name"]: row for row in map(json.loads, out.splitlines())}


# ---------------------------------------------------------------- label, note, tag, archive
def test_label_note_tag_archive_on_the_command_line(runs, capsys):
    assert cli(capsys, "label", A, "  first try  ")[0] == 0
    assert cli(capsys, "note", A, "**why**: a *test*\nline two")[0] == 0
    assert cli(capsys, "tag", A, "baseline", "lr-0.1", "baseline")[0] == 0
    assert cli(capsys, "untag", A, "lr-0.1")[0] == 0
    meta = json.loads((runs / A / META).read_text())
    assert meta["label"] == "first try" and meta["notes"] == "**why**: a *test*\nline two"
    assert meta["tags"] == ["baseline"] and meta["archived"] is False
    rows = listed(capsys)
    assert set(rows) == {A, B, C}
    assert rows[A]["label"] == "first try" and rows[A]["tags"] == ["baseline"] and rows[A]["label_set"]
    assert rows[B]["label"] == B and rows[B]["label_set"] is False  # the label shown: the folder's name
    assert rows[A]["status"] == "done" and rows[A]["test_acc"] == pytest.approx(0.9)
    assert rows[A]["model"] == "residual" and rows[A]["queue_position"] is None
    assert cli(capsys, "archive", A)[0] == 0
    assert set(listed(capsys)) == {B, C}  # archived: hidden...
    assert listed(capsys, "--all")[A]["archived"] is True  # ...unless asked
    assert cli(capsys, "archive", A, "--undo")[0] == 0
    assert A in listed(capsys)


def test_list_footer_says_what_the_runs_take_on_disk(runs, capsys):
    code, out, err = cli(capsys, "list")
    assert code == 0 and A in out and "3 runs" in out and "on disk" in out
    code, out, err = cli(capsys, "list", "--json")
    assert "on disk" in err and all(line.startswith("{") for line in out.splitlines())


def test_the_runs_dir_option(tmp_path, capsys):
    other = tmp_path / "elsewhere"
    write_run(other, A, "residual", 1000)
    assert cli(capsys, "label", A, "x", "--runs-dir", str(other))[0] == 0
    assert read_meta(other / A).label == "x"


def test_bad_values_are_refused_in_one_line_and_nothing_changes(runs, capsys):
    cli(capsys, "label", A, "kept")
    before = (runs / A / META).read_text()
    for argv in (["label", A, "x" * 10_000], ["label", A, "a\x1b[31mred"], ["tag", A, "no spaces"],
                 ["tag", A, "x" * 33], ["tag", A, "<b>"], ["note", A, "y" * 20_001], ["label", A, "rtl\u202eevil"]):
        code, out, err = cli(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and err.startswith("netlib: error:"), (argv, err)
    assert "10,000" in cli(capsys, "label", A, "x" * 10_000)[2]
    assert (runs / A / META).read_text() == before
    with pytest.raises(MetaError):
        clean_tags([f"t{i}" for i in range(21)])
    assert len(manage.set_label(runs, A, "x" * MAX_LABEL).label) == MAX_LABEL


# ---------------------------------------------------------------- names that are not plain run names
@pytest.mark.parametrize("name", ["..", ".", "../outside", "/etc", "a/b", "x\x00y", "~", "..\\outside", " "])
def test_names_that_reach_outside_are_refused(runs, capsys, name):
    sibling = runs.parent / "outside"
    sibling.mkdir(exist_ok=True)
    (sibling / "config.json").write_text("{}")
    (sibling / "status.json").write_text('{"status": "done"}')
    for argv in (["delete", name, "--yes"], ["label", name, "x"], ["archive", name]):
        code, out, err = cli(capsys, *argv)
        assert code == 2 and err.startswith("netlib: error:") and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in sibling.iterdir()) == ["config.json", "status.json"]
    assert sorted(p.name for p in runs.iterdir()) == sorted([A, B, C])


def test_a_link_out_of_the_runs_folder_is_removed_and_its_target_kept(runs, tmp_path, capsys):
    target = tmp_path / "precious"
    write_run(tmp_path, "precious", "residual", 1000)
    (runs / "escape").symlink_to(target, target_is_directory=True)
    assert cli(capsys, "delete", "escape", "--yes")[0] == 0  # a link is never a run: removing it is the link only
    assert (target / "config.json").is_file() and not os.path.lexists(runs / "escape")
    assert cli(capsys, "label", "escape", "x")[0] != 0  # gone: nothing to edit


def test_deleting_a_link_to_a_run_removes_the_link_only(runs, capsys):
    (runs / "alias").symlink_to(runs / A, target_is_directory=True)
    assert cli(capsys, "delete", "alias", "--yes")[0] == 0
    assert not os.path.lexists(runs / "alias") and (runs / A / "config.json").is_file()


def test_missing_runs_and_folders_that_are_no_runs_are_refused(runs, capsys):
    (runs / "photos").mkdir()
    (runs / "photos" / "cat.jpg").write_bytes(b"meow")
    for name in ("nope", "photos"):
        code, out, err = cli(capsys, "delete", name, "--yes")
        assert code == 1 and "refused" in err, err
    assert (runs / "photos" / "cat.jpg").read_bytes() == b"meow"


# ---------------------------------------------------------------- delete
def test_delete_asks_for_yes_then_removes_only_that_run(runs, capsys):
    code, out, err = cli(capsys, "delete", A)
    assert code == 1 and "would delete" in out and "--yes" in err
    assert (runs / A).is_dir()
    code, out, err = cli(capsys, "delete", A, "--yes")
    assert code == 0 and "deleted 1 run" in out
    assert not (runs / A).exists() and (runs / B).is_dir() and (runs / C).is_dir()


def test_a_live_or_queued_run_is_never_deleted(tmp_path, capsys):
    from test_queue import enqueue, free, occupy  # every call pumps this queue: a real queued run, kept waiting

    root = tmp_path / "other"
    live, holder = write_run(root, A, "residual", 1000, status="running"), occupy(root)  # this process trains A
    try:
        queued, ended = enqueue(root)[0], write_run(root, C, "inception", 1000)
        assert "running: stop it first" in cli(capsys, "delete", A, "--yes", "--runs-dir", str(root))[2]
        code, out, err = cli(capsys, "delete", queued.name, "--yes", "--runs-dir", str(root))
        assert code == 1 and "queued: cancel it first" in err
        code, out, err = cli(capsys, "delete", C, queued.name, "--yes", "--runs-dir", str(root))
        assert code == 1 and "Nothing was deleted" in err
        assert live.is_dir() and queued.is_dir() and ended.is_dir()
        write_json(queued / STATUS, {"status": "cancelled", "reason": "cancelled before it started"})
        assert cli(capsys, "delete", queued.name, "--yes", "--runs-dir", str(root))[0] == 0 and not queued.exists()
    finally:
        free(holder)


def test_a_run_deleted_by_hand_between_listing_and_acting(runs, capsys):
    rows = {r.name: r for r in notebook_rows(runs)}
    import shutil

    shutil.rmtree(runs / A)
    for act in (lambda: manage.set_label(runs, A, "x"), lambda: manage.delete(runs, A),
                lambda: manage.add_tags(runs, A, ["t"])):
        with pytest.raises(manage.RunRefused, match="no run named"):
            act()
    assert not (runs / A).exists()  # never brought back by a write
    done, freed, refused = manage.prune(runs, [manage.Doomed(rows[A], "test"), manage.Doomed(rows[B], "test")])
    assert done == [B] and len(refused) == 1 and "no run named" in refused[0]


# ---------------------------------------------------------------- hostile meta.json
HOSTILE = {
    "not JSON": b"{label: oops",
    "a megabyte": b'{"label": "' + b"x" * (1 << 20) + b'"}',
    "control characters": json.dumps({"label": "bell\u0007\u001b[2J"}).encode(),
    "wrong types": json.dumps({"label": 5, "tags": "a,b", "archived": "yes"}).encode(),
    "a list": b"[1, 2]",
    "a bad tag": json.dumps({"tags": ["<script>"]}).encode(),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_metadata_leaves_the_run_listed_and_marked_unreadable(runs, capsys, kind):
    (runs / A / META).write_bytes(HOSTILE[kind])
    row = listed(capsys, "--all")[A]
    assert row["meta_problem"].startswith("meta.json unreadable") and row["label_set"] is False
    assert row["status"] == "done" and row["test_acc"] == pytest.approx(0.9)
    code, out, err = cli(capsys, "label", A, "new")
    assert code == 1 and "unreadable" in err and "nothing was changed" in err
    assert (runs / A / META).read_bytes() == HOSTILE[kind]  # nothing lost


def test_a_fifo_as_meta_json_is_never_waited_on(runs, capsys):
    os.mkfifo(runs / A / META)
    t0 = time.monotonic()
    assert "FIFO" in read_meta(runs / A).problem
    assert time.monotonic() - t0 < 5


def test_html_in_a_label_is_kept_as_text_and_escaped_for_markdown(runs):
    manage.set_label(runs, A, "<img src=x onerror=alert(1)> [click](http://evil) :material/home:")
    assert read_meta(runs / A).label.startswith("<img")
    shown = literal(read_meta(runs / A).label)  # how every page puts run-folder text into markdown
    assert "\\<img" in shown and "\\[click\\](http" in shown and "\\:material/home\\:" in shown


# ---------------------------------------------------------------- the listing
def test_rows_read_scores_from_status_and_filter(runs):
    manage.add_tags(runs, A, ["keep"])
    manage.set_notes(runs, B, "Learning-rate sweep")
    status = json.loads((runs / A / STATUS).read_text())
    assert status["best_test_acc"] == pytest.approx(0.9) and status["test_acc"] == pytest.approx(0.9)
    rows = {r.name: r for r in notebook_rows(runs)}
    assert rows[A].network == "Residual" and rows[C].network == "Inception" and rows[A].recipe == "fast"
    assert rows[A].epochs == 1 and rows[A].seconds == pytest.approx(5.0) and rows[A].bytes > 0
    assert [r.name for r in rows.values() if matches(r, tag="keep")] == [A]
    assert [r.name for r in rows.values() if matches(r, text="SWEEP")] == [B]
    assert sorted(r.name for r in rows.values() if matches(r, network="Residual")) == [A, B]


def test_an_older_run_without_scores_reads_a_tail_and_claims_no_best_it_did_not_read(runs):
    status = json.loads((runs / A / STATUS).read_text())
    write_json(runs / A / STATUS, {k: v for k, v in status.items() if k not in ("test_acc", "best_test_acc", "elapsed")})
    row = next(r for r in notebook_rows(runs) if r.name == A)
    assert row.final_acc == pytest.approx(0.9) and row.best_acc == pytest.approx(0.9)  # the whole log was read
    with open(runs / A / "metrics.jsonl", "a") as f:  # a long log: its first epochs are out of the tail
        for _ in range(TAIL_BYTES // 200):
            f.write(json.dumps({"event": "batch", "pad": "x" * 200}) + "\n")
        f.write(json.dumps({"event": "epoch", "epoch": 2, "test_acc": 0.5, "elapsed": 9.0}) + "\n")
    row = next(r for r in notebook_rows(runs) if r.name == A)
    assert row.final_acc == pytest.approx(0.5) and row.best_acc is None and row.seconds == pytest.approx(9.0)
    epochs, whole = tail_epochs(runs / A / "metrics.jsonl")
    assert not whole and [e["epoch"] for e in epochs] == [2]


# ---------------------------------------------------------------- prune
def test_prune_dry_run_then_for_real(runs_dir, capsys):
    for i, acc in enumerate((0.91, 0.95, 0.93, 0.99)):
        d = write_run(runs_dir, f"2026010{i}-000000-residual-fast-00{i}", "residual", 1000)
        status = json.loads((d / STATUS).read_text())
        write_json(d / STATUS, {**status, "test_acc": acc, "best_test_acc": acc})
    write_run(runs_dir, C, "inception", 1000)
    archived = "20260100-000000-residual-fast-000"
    manage.set_archived(runs_dir, archived)  # the worst, but archived: kept
    code, out, err = cli(capsys, "prune", "--keep-best", "1")
    assert code == 0 and out.count("would delete") == 2 and "1 best Residual" in out
    assert len(list(runs_dir.iterdir())) == 5  # a dry run deletes nothing (nor takes the queue's lock)
    code, out, err = cli(capsys, "prune", "--keep-best", "1", "--yes")
    assert code == 0 and "deleted 2 runs" in out
    assert sorted(p.name for p in runs_dir.iterdir() if p.name != QUEUE_LOCK) == sorted([archived, "20260103-000000-residual-fast-003", C])


def test_prune_by_age_and_both_rules_together(runs, capsys):
    old = time.time() - 40 * 86_400
    os.utime(runs / A / STATUS, (old, old))
    assert [d.row.name for d in manage.prune_plan(runs, older_than_days=30)] == [A]
    os.utime(runs / B / STATUS, (old, old))  # B: old too, but the best Residual run (a tie goes to the newer)
    assert [d.row.name for d in manage.prune_plan(runs, keep_best=1)] == [A]
    assert sorted(d.row.name for d in manage.prune_plan(runs, older_than_days=30)) == [A, B]
    assert [d.row.name for d in manage.prune_plan(runs, keep_best=1, older_than_days=30)] == [A]
    assert cli(capsys, "prune")[0] == 2  # no rule: bad arguments
    assert cli(capsys, "prune", "--older-than", "-3")[0] == 2


def test_prune_never_touches_live_or_queued_runs(tmp_path):
    root = tmp_path / "other"
    write_run(root, A, "residual", 1000, status="running")
    q = write_run(root, B, "residual", 1000)
    write_json(q / STATUS, {"status": "queued", "reason": ""})
    old = time.time() - 400 * 86_400
    for d in (root / A, q):
        os.utime(d / STATUS, (old, old))
    assert manage.prune_plan(root, keep_best=1, older_than_days=1) == []


def test_list_prints_no_terminal_escapes_from_folder_names_or_configs(runs_dir, capsys):
    d = write_run(runs_dir, "evil\x1b]0;pwned\x07", "residual", 1000)
    config = json.loads((d / "config.json").read_text())
    write_json(d / "config.json", {**config, "recipe_name": "\x1b[2Jwiped"})
    code, out, err = cli(capsys, "list")
    assert code == 0 and "\x1b" not in out and "\x07" not in out and "evil?]0;pwned?" in out and "?[2Jwiped" in out


def test_an_extended_run_from_before_scores_claims_no_best_it_never_saw(runs):
    from netlib.runs.writer import RunWriter

    status = json.loads((runs / A / STATUS).read_text())
    write_json(runs / A / STATUS, {k: v for k, v in status.items() if k not in ("test_acc", "best_test_acc", "elapsed")})
    writer = RunWriter(runs / A, {}, extending=True)
    writer.on_event({"event": "epoch", "epoch": 2, "test_acc": 0.5, "elapsed": 9.0})
    writer.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 2})
    writer.close()
    after = json.loads((runs / A / STATUS).read_text())
    assert after["test_acc"] == 0.5 and after["elapsed"] == 9.0 and "best_test_acc" not in after
    writer = RunWriter(runs / B, {}, extending=True)  # a run of this version: its best goes on
    writer.on_event({"event": "epoch", "epoch": 2, "test_acc": 0.5, "elapsed": 9.0})
    writer.close()
    assert json.loads((runs / B / STATUS).read_text())["best_test_acc"] == pytest.approx(0.9)
