"""A fine-tuning run keeps what it trained from (start weights, the set as trained) and finds its set from any cwd."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from netlib.checkpoint import save_checkpoint
from netlib.cli.main import main
from netlib.handwriting.changes import read_changes, read_snapshot, record
from netlib.handwriting.sets import add_example, create_set, delete_set
from netlib.models import build_model
from netlib.runs import queue, spawn
from netlib.runs.reader import read_status


def _digit(label: int, shift: int) -> np.ndarray:
    a = np.zeros((28, 28), np.uint8)
    a[5:23, 8 + shift + 2 * label:12 + shift + 2 * label] = 255
    return a


def _small_set(root: Path, name: str = "mine") -> None:
    create_set(root, name)
    for label in (1, 7):
        for shift in range(3):
            add_example(root, name, _digit(label, shift), label)


@pytest.fixture
def lab(tmp_path, monkeypatch, tiny_checkpoint):
    """A lab under tmp_path (runs/ and handwriting/ beside it), a set "mine", a start checkpoint of its own."""
    monkeypatch.delenv("NETLIB_HANDWRITING_DIR", raising=False)
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _small_set(tmp_path / "handwriting")
    shutil.copyfile(tiny_checkpoint, tmp_path / "start.pt")
    return tmp_path


def _words(lab: Path) -> list[str]:
    return ["--model", "residual", "--synthetic", "64", "--epochs", "1", "--threads", "1", "--start-from",
            str(lab / "start.pt"), "--handwriting", "mine", "--tune", "all", "--lr", "0.05", "--quiet"]


def test_what_changed_is_measured_on_the_set_and_weights_the_run_trained_from(lab):
    run = lab / "run"
    assert main(["train", *_words(lab), "--run-dir", str(run)]) == 0
    first = read_changes(run)
    assert "error" not in first and first["set_size"] == 6 and first["held_out"]["n"] == 2
    kept = read_snapshot(run)
    assert kept.labels.tolist() == [1, 1, 1, 7, 7, 7] and int(kept.held_out.sum()) == 2
    assert np.array_equal(kept.images[0], _digit(1, 0))
    # afterwards: the set deleted and re-created with other digits, the start checkpoint overwritten
    delete_set(lab / "handwriting", "mine")
    create_set(lab / "handwriting", "mine")
    add_example(lab / "handwriting", "mine", _digit(3, 0), 3)
    torch.manual_seed(5)
    save_checkpoint(lab / "start.pt", build_model("residual"), "residual", {}, {}, {})
    again = record(run)
    assert again == first  # measured on what it trained from, not on what is there now
    for c in again["changed"]:
        assert np.array_equal(read_snapshot(run).images[c["index"]], kept.images[c["index"]])


def wait_ended(run_dir: Path, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(run_dir) or {}
        if status.get("status") in ("done", "stopped", "failed", "interrupted"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{run_dir.name} never ended: {read_status(run_dir)}")


@pytest.mark.process
def test_a_run_submitted_from_another_folder_finds_its_set(lab, monkeypatch, capsys):
    monkeypatch.delenv("NETLIB_RUNS_DIR")
    monkeypatch.chdir(lab)  # runs/ and handwriting/ relative to here; the queue's process starts elsewhere
    assert main(["submit", *_words(lab), "--runs-dir", "runs"]) == 0
    run = Path(capsys.readouterr().out.strip().splitlines()[-1]).resolve()
    try:
        queue.pump(lab / "runs")
        status = wait_ended(run)
    finally:
        for proc in spawn.children().values():
            proc.wait(timeout=60)
    assert status["status"] == "done", (status, (run / "process.log").read_text()[-800:])
    assert read_snapshot(run).labels.tolist() == [1, 1, 1, 7, 7, 7]
