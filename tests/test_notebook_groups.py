"""The notebook's groups of seeds: one rule with Compare, the group line's status and best, Started and the disk total."""

from __future__ import annotations

import json
from pathlib import Path

from netlib.runs import groups
from netlib.runs.files import STATUS, write_json
from netlib.runs.notebook import Row, group_summary, notebook_rows, seed_groups, total_bytes
from netlib.runs.reader import list_runs
from netlib.runs.writer import RunWriter
from support import write_run

NAMES = [f"20260102-00000{s}-naive-fast-10{s}" for s in range(3)]


def seeds(root: Path) -> None:
    for seed, name in enumerate(NAMES):
        write_run(root, name, "naive", 1000, acc=0.98 + seed / 1000, seed=seed)


def extend(run_dir: Path) -> None:
    """+1 epoch as the Train page does it: the log goes on with a start at the next epoch."""
    writer = RunWriter(run_dir, {}, extending=True)
    writer.on_event({"event": "start", "first_epoch": 2, "epochs": 2})
    writer.on_event({"event": "epoch", "epoch": 2, "test_acc": 0.99, "elapsed": 9.0})
    writer.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 2})
    writer.close()


def names(lines) -> list[list[str]]:
    return sorted(sorted(r.name for r in line) for line in lines)


def test_an_extended_run_stands_alone_as_on_compare(runs_dir):
    seeds(runs_dir)
    extend(runs_dir / NAMES[1])
    assert json.loads((runs_dir / NAMES[1] / STATUS).read_text())["extended"] is True
    on_runs = names(seed_groups(notebook_rows(runs_dir)))
    on_compare = names(g.runs for g in groups.group_runs(list_runs(runs_dir)))
    assert on_runs == on_compare == [[NAMES[0], NAMES[2]], [NAMES[1]]]


def test_an_extended_run_from_before_the_flag_stands_alone_by_its_epochs(runs_dir):
    seeds(runs_dir)
    status = json.loads((runs_dir / NAMES[2] / STATUS).read_text())
    write_json(runs_dir / NAMES[2] / STATUS, {**status, "epoch": 99})  # past its recipe's epochs
    assert names(seed_groups(notebook_rows(runs_dir))) == [[NAMES[0], NAMES[1]], [NAMES[2]]]


def test_an_unreadable_run_stands_alone(runs_dir):
    seeds(runs_dir)
    (runs_dir / NAMES[0] / STATUS).unlink()
    (runs_dir / NAMES[0] / STATUS).mkdir()
    rows = notebook_rows(runs_dir)
    assert [r.status for r in rows if r.name == NAMES[0]] == ["unreadable"]
    assert names(seed_groups(rows)) == [[NAMES[0]], [NAMES[1], NAMES[2]]]


def test_the_group_line_says_places_in_line_and_the_best_of_its_runs(tmp_path):
    def row(name, status, best=None, position=None, epochs=0):
        return Row(name, tmp_path / name, status, network="Naive", recipe="fast", best_acc=best,
                   final_acc=best, epochs=epochs, queue_position=position)

    line = group_summary([row("a", "done", 0.97, epochs=1), row("b", "queued", position=3), row("c", "queued", position=1)])
    assert line["status"] == "1 done, 2 queued (positions 1 and 3)"
    assert line["best"] == 0.97 and line["label"] == groups.group_label("Naive", "fast", 3) == "Naive · fast · 3 seeds"
    assert group_summary([row("a", "queued", position=2)])["status"] == "1 queued (position 2)"
    older = row("d", "done", None, epochs=3)  # trained, but its best was never recorded: no best claimed
    assert group_summary([row("a", "done", 0.97, epochs=1), older])["best"] is None


def test_a_queued_run_has_no_start_time_yet(runs_dir):
    seeds(runs_dir)
    status = json.loads((runs_dir / NAMES[0] / STATUS).read_text())
    write_json(runs_dir / NAMES[0] / STATUS, {**status, "status": "queued"})
    rows = {r.name: r for r in notebook_rows(runs_dir)}
    assert rows[NAMES[0]].started is None and rows[NAMES[1]].started is not None


def test_the_total_from_the_rows_equals_a_walk_of_the_whole_folder(runs_dir):
    seeds(runs_dir)
    (runs_dir / "not-a-run").mkdir()
    (runs_dir / "not-a-run" / "big.bin").write_bytes(b"x" * 300_000)  # not listed, still on disk
    (runs_dir / "loose.txt").write_bytes(b"y" * 50_000)
    rows = notebook_rows(runs_dir, include_archived=True)
    walked = total_bytes(runs_dir)
    assert total_bytes(runs_dir, rows) == walked and walked >= sum(r.bytes for r in rows) + 350_000
