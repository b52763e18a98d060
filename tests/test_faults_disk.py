"""Faults (issue #5): the runs folder unwritable or full. A clear one-line message, no half-made run, and
the previous checkpoint and status.json stay whole."""

from __future__ import annotations

import errno
import io
import json
import os
import time

import pytest
import torch

import netlib.atomic
from netlib.cli import main as netlib_cli
import netlib.runs.writer
from netlib.lab import launch
from support import started_in
from netlib.runs import queue, spawn
from netlib.checkpoint import load_checkpoint
from netlib.runs.files import CHECKPOINT, METRICS, RunDirError, STATUS
from netlib.runs.writer import RunWriter
from faults_support import _keep_sigterm, _own_process_table, app, strict_lines, train_args, train_page  # noqa: F401

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _raise(exc):
    def fn(*args, **kwargs):
        raise exc
    return fn


# ---------------------------------------------------------------- runs folder unwritable or full
def test_cli_run_dir_that_cannot_be_created_is_one_line_exit_1(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the runs folder should be")
    code = netlib_cli.main(["train", *train_args(100, 1), "--run-dir", str(blocker / "run"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert err.strip().count("\n") == 0 and err.startswith("netlib: error: cannot write")
    assert blocker.read_text().startswith("a regular file")


def test_launch_into_a_runs_folder_that_is_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "runs-file"
    blocker.write_text("x")
    with pytest.raises(RunDirError, match=r"cannot write to the runs folder .*runs-file: it is a file"):
        queue.enqueue(blocker, [launch.request_for("residual", "fast")])
    assert blocker.read_text() == "x"


def test_launch_on_a_full_disk_leaves_no_half_made_run(runs_dir, monkeypatch):
    monkeypatch.setattr(queue, "write_json", _raise(ENOSPC))  # the queued run's files
    with pytest.raises(RunDirError, match="No space left on device"):
        queue.enqueue(runs_dir, [launch.request_for("residual", "fast")])
    assert [p for p in runs_dir.iterdir() if p.is_dir()] == []  # the folder it claimed is gone again
    assert not started_in(runs_dir)  # and no process was started


def test_train_page_shows_an_unwritable_runs_folder_as_a_message(app, tmp_path, monkeypatch):
    blocker = tmp_path / "runs-file"
    blocker.write_text("x")
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(blocker))
    at = train_page()
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot write to the runs folder" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("Something went wrong" in e.value for e in at.error)
    assert blocker.read_text() == "x"


class _FullAfterFirstEpoch:
    """A metrics log on a disk that fills up once the first epoch has been written."""

    def __init__(self, f):
        self.f, self.full = f, False

    def write(self, text):
        if self.full:
            raise ENOSPC
        if '"event": "epoch"' in text:
            self.full = True
        return self.f.write(text)

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_disk_full_mid_run_ends_the_run_as_failed_and_keeps_what_was_written(tmp_path, monkeypatch, capsys):
    real_open = netlib.runs.writer.open_log
    monkeypatch.setattr(netlib.runs.writer, "open_log", lambda path, text=False: _FullAfterFirstEpoch(real_open(path, text)))
    run_dir = tmp_path / "full"
    t0 = time.monotonic()
    code = netlib_cli.main(["train", *train_args(320, 50), "--threads", "1", "--run-dir", str(run_dir),
                            "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and time.monotonic() - t0 < 120  # it ended; it did not train on unrecorded
    assert err.startswith("netlib: error: cannot write the metrics log") and "No space left" in err
    assert err.strip().count("\n") == 0
    status = json.loads((run_dir / STATUS).read_text())
    assert status["status"] == "failed" and "No space left on device" in status["reason"]
    events = strict_lines(run_dir / METRICS)
    assert events[-1]["event"] == "epoch" and events[-1]["epoch"] == 1
    _, meta = load_checkpoint(run_dir / CHECKPOINT, expect_model="residual")
    assert meta["metrics"]["epoch"] == 1
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_disk_full_while_saving_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch, capsys):
    real_save, saves = torch.save, []

    def save(obj, f, *args, **kwargs):
        if isinstance(f, io.BytesIO):  # in memory (the train state is serialised first): fine
            return real_save(obj, f, *args, **kwargs)
        saves.append(f)
        if len(saves) == 1:
            return real_save(obj, f, *args, **kwargs)
        buf = io.BytesIO()
        real_save(obj, buf)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])  # half of it reached the disk
        raise ENOSPC

    monkeypatch.setattr(torch, "save", save)
    run_dir = tmp_path / "ckpt-full"
    code = netlib_cli.main(["train", *train_args(320, 50), "--threads", "1", "--run-dir", str(run_dir),
                            "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write the checkpoint" in err and "No space left" in err
    status = json.loads((run_dir / STATUS).read_text())
    assert status["status"] == "failed" and "checkpoint" in status["reason"]
    _, meta = load_checkpoint(run_dir / CHECKPOINT, expect_model="residual")
    assert meta["metrics"]["epoch"] == 1  # epoch 2's half-written file never replaced it
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    assert strict_lines(run_dir / METRICS)[-1]["status"] == "failed"


def test_status_write_on_a_full_disk_keeps_the_previous_status(tmp_path, monkeypatch):
    writer = RunWriter(tmp_path / "r", {"model": "residual"})
    before = (tmp_path / "r" / STATUS).read_text()
    monkeypatch.setattr(netlib.atomic.os, "fsync", _raise(ENOSPC))
    with pytest.raises(RunDirError, match="status.json.*No space left on device"):
        writer.on_event({"event": "pause"})  # a status write, through the public door
    writer.fail("disk full")  # the failure path itself never raises
    writer.close()
    assert (tmp_path / "r" / STATUS).read_text() == before
    assert json.loads(before)["status"] == "running"
    assert not [p.name for p in (tmp_path / "r").iterdir() if p.name.endswith(".tmp")]
