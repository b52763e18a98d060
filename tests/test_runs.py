"""Tests for run directories (netlib.runs): what a training writes, how readers see it, stop, names, processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from netlib.checkpoint import load_checkpoint
from support import start_run
from netlib.runs.control import request_stop
from netlib.runs.files import CHECKPOINT, CONFIG, METRICS, STATUS, STOP, safe_run_name
from netlib.runs.reader import list_runs, read_run
from netlib.runs.writer import RunWriter
from netlib.engine.loop import fit


def _train_into(run_dir: Path, config, data, should_stop=None):
    """fit() with a RunWriter listening, as `python -m netlib train --run-dir` does; returns (end, events)."""
    writer = RunWriter(run_dir, config.to_dict())
    events = []

    def on_event(e):
        events.append(json.loads(json.dumps(e)))  # the event as it was when emitted
        writer.on_event(e)

    try:
        end = fit(config, data, on_event=on_event, should_stop=should_stop or writer.should_stop,
                  on_checkpoint=writer.save)
    finally:
        writer.close()
    return end, events


@pytest.fixture
def finished_run(tmp_path, synthetic_data, make_config):
    run_dir = tmp_path / "run-a"
    end, events = _train_into(run_dir, make_config(epochs=2), synthetic_data)
    return run_dir, end, events


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()  # exited and reaped: the pid names no process now
    return p.pid


# ---------------------------------------------------------------- what a run writes
def test_run_dir_holds_config_metrics_status_and_checkpoint(finished_run):
    run_dir, _, _ = finished_run
    for name in (CONFIG, METRICS, STATUS, CHECKPOINT):
        assert (run_dir / name).is_file(), name
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_config_json_records_the_training_config(finished_run, make_config):
    run_dir, _, _ = finished_run
    config = json.loads((run_dir / CONFIG).read_text())
    assert config == json.loads(json.dumps(make_config(epochs=2).to_dict()))


def test_metrics_jsonl_is_one_event_per_line(finished_run):
    run_dir, _, events = finished_run
    lines = (run_dir / METRICS).read_text().splitlines()
    assert [json.loads(line) for line in lines] == events
    assert [e["event"] for e in events][0] == "start" and events[-1]["event"] == "end"


def test_status_json_is_done(finished_run):
    run_dir, _, _ = finished_run
    status = json.loads((run_dir / STATUS).read_text())
    assert status["status"] == "done"
    assert status["epoch"] == 2


def test_checkpoint_in_the_run_dir_loads_and_matches_the_trained_model(finished_run, synthetic_data):
    run_dir, end, _ = finished_run
    model, meta = load_checkpoint(run_dir / CHECKPOINT, expect_model="residual")
    assert meta["metrics"]["epoch"] == 2
    assert meta["recipe_name"] == "fast"
    x = synthetic_data.test_x[:16]
    with torch.no_grad():  # the trained model is channels_last, the loaded one contiguous: same math
        torch.testing.assert_close(model(x), end["model"].eval()(x), atol=1e-5, rtol=1e-5)


def test_read_run_sees_a_finished_run(finished_run):
    run_dir, _, events = finished_run
    info = read_run(run_dir)
    assert info.status == "done" and not info.live
    assert info.name == "run-a"
    assert [e["epoch"] for e in info.epochs] == [1, 2]
    assert info.batches and all(e["event"] == "batch" for e in info.batches)
    assert info.has_checkpoint


def test_list_runs_reads_netlib_runs_dir(runs_dir, synthetic_data, make_config):
    _train_into(runs_dir / "one", make_config(), synthetic_data)
    _train_into(runs_dir / "two", make_config(), synthetic_data)
    (runs_dir / "not-a-run").mkdir()
    assert sorted(r.name for r in list_runs()) == ["one", "two"]


# ---------------------------------------------------------------- statuses
def test_running_status_with_a_dead_pid_reads_as_interrupted(tmp_path, synthetic_data, make_config):
    run_dir = tmp_path / "run"
    writer = RunWriter(run_dir, make_config().to_dict())
    writer.close()
    status = json.loads((run_dir / STATUS).read_text())
    assert status["status"] == "running"
    status["pid"] = _dead_pid()
    (run_dir / STATUS).write_text(json.dumps(status))
    info = read_run(run_dir)
    assert info.status == "interrupted"
    assert info.reason


def test_running_status_with_a_live_pid_stays_running(tmp_path, make_config):
    run_dir = tmp_path / "run"
    RunWriter(run_dir, make_config().to_dict()).close()  # its pid is this (live) test process
    info = read_run(run_dir)
    assert info.status == "running" and info.live


def test_failed_run_records_its_reason(tmp_path, make_config):
    run_dir = tmp_path / "run"
    writer = RunWriter(run_dir, make_config().to_dict())
    writer.fail("out of memory")
    writer.close()
    info = read_run(run_dir)
    assert (info.status, info.reason) == ("failed", "out of memory")
    assert info.events[-1]["event"] == "end"


def test_read_run_of_a_folder_that_is_not_a_run_is_none(tmp_path):
    assert read_run(tmp_path) is None


# ---------------------------------------------------------------- stop
def test_request_stop_makes_should_stop_true(tmp_path, make_config):
    writer = RunWriter(tmp_path / "run", make_config().to_dict())
    try:
        assert writer.should_stop() is False
        request_stop(tmp_path / "run")
        assert writer.should_stop() is True
    finally:
        writer.close()


def test_a_new_writer_clears_a_stale_stop_file(tmp_path, make_config):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / STOP).touch()
    writer = RunWriter(tmp_path / "run", make_config().to_dict())
    writer.close()
    assert writer.should_stop() is False


def test_stop_file_stops_training_at_a_batch_boundary(tmp_path, synthetic_data, make_config):
    run_dir = tmp_path / "run"
    writer = RunWriter(run_dir, make_config(batch_size=16, epochs=3).to_dict())
    events = []

    def on_event(e):
        events.append(e)
        writer.on_event(e)
        if e["event"] == "batch":
            request_stop(run_dir)  # as the UI's Stop button does, after the first batch event

    end = fit(make_config(batch_size=16, epochs=3), synthetic_data, on_event=on_event,
              should_stop=writer.should_stop, on_checkpoint=writer.save)
    writer.close()
    assert end["status"] == "stopped"
    assert [e["event"] for e in events] == ["start", "batch", "end"]
    assert read_run(run_dir).status == "stopped"
    assert not (run_dir / CHECKPOINT).exists()  # no epoch finished, so nothing to save


# ---------------------------------------------------------------- names
@pytest.mark.parametrize("text", [
    "../../etc/passwd", "a/b/c", "my run name", "..", ".", "/", "", "   ", "a\\b", ".hidden",
    "x" * 300, "run\x00nul", "naïve run", "-rf"])
def test_safe_run_name_is_one_plain_path_component(text, tmp_path):
    name = safe_run_name(text)
    assert name and name not in (".", "..")
    assert "/" not in name and "\\" not in name and " " not in name and "\x00" not in name
    assert not name.startswith((".", "-"))
    assert len(name) <= 80
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()


def test_safe_run_name_strips_traversal():
    assert ".." not in safe_run_name("../../etc/passwd")
    assert safe_run_name("../../etc/passwd").endswith("etc-passwd")


def test_safe_run_name_keeps_a_plain_name():
    assert safe_run_name("20250101-120000-residual-fast-001") == "20250101-120000-residual-fast-001"


# ---------------------------------------------------------------- a real training process
@pytest.mark.process
def test_start_run_trains_in_its_own_process_until_done(runs_dir):
    run_dir = runs_dir / safe_run_name("subprocess residual")
    proc = start_run(run_dir, ["--model", "residual", "--synthetic", "600", "--epochs", "1"], threads=1)
    try:
        assert proc.wait(timeout=120) == 0, (run_dir / "process.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.pid != os.getpid()
    info = read_run(run_dir)
    assert info.status == "done", info.reason
    assert json.loads((run_dir / STATUS).read_text())["pid"] == proc.pid
    assert [e["event"] for e in info.events][0] == "start" and info.events[-1]["status"] == "done"
    assert len(info.epochs) == 1
    load_checkpoint(run_dir / CHECKPOINT, expect_model="residual")


@pytest.mark.slow
def test_start_run_honours_the_stop_file(runs_dir):
    run_dir = runs_dir / "to-stop"
    proc = start_run(run_dir, ["--model", "residual", "--synthetic", "2000", "--epochs", "50"], threads=1)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until training has really begun
            info = read_run(run_dir)
            if info and info.batches:
                break
            assert proc.poll() is None, (run_dir / "process.log").read_text()
            time.sleep(0.2)
        request_stop(run_dir)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    info = read_run(run_dir)
    assert info.status == "stopped"
    assert len(info.epochs) < 50
