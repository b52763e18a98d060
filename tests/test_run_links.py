"""Links in the runs folder are no runs: never listed, ranked, grouped, sized twice; deleting one never touches its target."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from netlib.bounded import size_text
from netlib.runs.files import QUEUE_LOCK, STATUS, write_json
from netlib.runs.meta import META
from netlib.runs.notebook import disk_bytes, notebook_rows, seed_groups, total_bytes
from netlib.runs.reader import list_runs, run_index
from support import write_run
from test_notebook import cli

WORST, MIDDLE, BEST = (f"2026010{i}-000000-residual-fast-00{i}" for i in range(3))
ACCS = {WORST: 0.91, MIDDLE: 0.95, BEST: 0.99}


@pytest.fixture
def runs(runs_dir) -> Path:
    """Three ended residual runs of known accuracy, a link to the best (a name ranked above it when the
    accuracies tie) and a link to the worst."""
    for seed, (name, acc) in enumerate(ACCS.items()):
        d = write_run(runs_dir, name, "residual", 1000, acc=acc, seed=seed)
        write_json(d / STATUS, {**json.loads((d / STATUS).read_text()), "test_acc": acc, "best_test_acc": acc})
    (runs_dir / "zz-best").symlink_to(runs_dir / BEST, target_is_directory=True)
    os.symlink(WORST, runs_dir / "zz-worst")  # a relative link: the same rule
    return runs_dir


def entries(root: Path) -> dict[str, str]:
    """Every name in the runs folder but the queue's lock: 'dir', or 'link' / 'dangling link'."""
    return {p.name: ("dir" if not p.is_symlink() else "link" if p.exists() else "dangling link") for p in root.iterdir()
            if p.name != QUEUE_LOCK}


def test_prune_keep_best_keeps_the_best_real_folder_and_leaves_no_dangling_link(runs, capsys):
    code, out, err = cli(capsys, "prune", "--keep-best", "1")
    assert code == 0 and sorted(line.split(":")[0] for line in out.splitlines() if "would delete" in line) == \
        sorted([f"would delete {MIDDLE}", f"would delete {WORST}"]), out
    code, out, err = cli(capsys, "prune", "--keep-best", "1", "--yes")
    assert code == 0 and "deleted 2 runs" in out, (out, err)
    assert entries(runs) == {BEST: "dir", "zz-best": "link"}  # the link to a deleted run went with it
    assert (runs / BEST / "config.json").is_file()


def test_deleting_a_link_removes_the_link_only_and_frees_nothing_of_its_target(runs, capsys):
    before = disk_bytes(runs / BEST)
    os.symlink("zz-best", runs / "zz-chain")  # a link through the link: dangling once it goes, so it goes too
    code, out, err = cli(capsys, "delete", "zz-best")  # the dry run says what it would do
    assert code == 1 and "link" in out and "would delete" not in out, out
    code, out, err = cli(capsys, "delete", "zz-best", "--yes")
    assert code == 0 and "removed 1 link" in out and size_text(before) not in out, out
    assert entries(runs) == {**{name: "dir" for name in ACCS}, "zz-worst": "link"}
    assert disk_bytes(runs / BEST) == before


def test_deleting_a_run_removes_the_links_to_it(runs, capsys):
    code, out, err = cli(capsys, "delete", WORST, "--yes")
    assert code == 0 and "deleted 1 run" in out, (out, err)
    assert entries(runs) == {MIDDLE: "dir", BEST: "dir", "zz-best": "link"}


def test_a_linked_run_is_listed_grouped_and_sized_once(runs, capsys):
    code, out, err = cli(capsys, "list", "--json")
    assert code == 0 and sorted(json.loads(line)["name"] for line in out.splitlines()) == sorted(ACCS)
    assert "3 runs" in err
    assert sorted(e.name for e in run_index(runs)) == sorted(r.name for r in list_runs(runs)) == sorted(ACCS)
    rows = notebook_rows(runs)
    assert [sorted(r.name for r in g) for g in seed_groups(rows)] == [sorted(ACCS)]  # 3 seeds, not 5
    assert sum(r.bytes for r in rows) == sum(disk_bytes(runs / name) for name in ACCS)
    assert total_bytes(runs, rows) == total_bytes(runs)


def test_edits_name_the_run_not_a_link_and_a_dangling_link_can_be_removed(runs, capsys):
    code, out, err = cli(capsys, "label", "zz-best", "best")
    assert code == 1 and "link" in err and BEST in err, err
    assert not (runs / BEST / META).exists()
    os.symlink("gone-long-ago", runs / "zz-dangling")
    code, out, err = cli(capsys, "delete", "zz-dangling", "--yes")
    assert code == 0 and "removed 1 link" in out, (out, err)
    assert "zz-dangling" not in entries(runs)

