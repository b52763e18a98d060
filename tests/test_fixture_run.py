"""A run folder written before netlib was split into subpackages (tests/fixtures/run-2026-12-02-residual,
made by `python -m netlib train --model residual --synthetic 512 --epochs 2 --threads 1 --run-dir ...`)
still lists, plots, loads and extends: the run folder format did not change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from netlib.analysis.predict import predict_image
from netlib.charts.training import accuracy_figure, grad_flow_figure, loss_figure
from netlib.checkpoint import load_checkpoint
from netlib.cli.main import main
from netlib.lab.catalogue import checkpoint_choices
from netlib.runs.reader import list_runs, read_run, run_index
from netlib.runs.summary import progress, run_stats

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run-2026-12-02-residual"


@pytest.fixture
def old_run(runs_dir) -> Path:
    """A copy of the fixture in this test's runs folder (the fixture itself is never written)."""
    runs_dir.mkdir(parents=True)
    return Path(shutil.copytree(FIXTURE, runs_dir / FIXTURE.name))


def test_it_lists(old_run, runs_dir):
    (entry,) = run_index(runs_dir)
    assert (entry.name, entry.model, entry.status, entry.recipe, entry.has_checkpoint) == \
        (FIXTURE.name, "residual", "done", "fast, 2 epochs", True)
    (info,) = list_runs(runs_dir)
    assert [e["epoch"] for e in info.epochs] == [1, 2]
    assert any(c.path == old_run / "checkpoint.pt" for c in checkpoint_choices("residual", [entry]))


def test_it_plots_and_summarises(old_run):
    info = read_run(old_run)
    assert len(loss_figure(info.batches, info.epochs).data) >= 2
    assert len(accuracy_figure(info.batches, info.epochs).data) >= 2
    assert grad_flow_figure(info.batches, info.start["grad_layers"]).data  # gradient norms were recorded
    assert progress(info).fraction == 1.0
    stats = run_stats(info)
    assert stats["epochs"] == 2 and stats["final_test_acc"] == info.epochs[-1]["test_acc"]


def test_its_checkpoint_loads_and_reads_a_digit(old_run):
    model, meta = load_checkpoint(old_run / "checkpoint.pt", expect_model="residual")
    assert meta["metrics"]["epoch"] == 2 and meta["recipe_name"] == "fast"
    result = predict_image(model, __import__("numpy").zeros((28, 28), dtype="uint8"))
    assert result["blank"] is True  # an empty canvas: read as blank, not as a digit


def test_it_extends_by_one_epoch(old_run, capsys):
    before = (old_run / "metrics.jsonl").read_text().splitlines()
    assert main(["train", "--extend", str(old_run), "--threads", "1", "--quiet"]) == 0
    info = read_run(old_run)
    assert info.status == "done"
    assert [e["epoch"] for e in info.epochs] == [1, 2, 3]
    assert info.epochs[-1]["lr"] == pytest.approx(0.0005)  # not where onecycle ended: a tenth of its peak
    after = (old_run / "metrics.jsonl").read_text().splitlines()
    assert after[:len(before)] == before  # appended, the old lines untouched
    assert json.loads((old_run / "status.json").read_text())["epoch"] == 3
    model, meta = load_checkpoint(old_run / "checkpoint.pt")
    assert meta["metrics"]["epoch"] == 3
