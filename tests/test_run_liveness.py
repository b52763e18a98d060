"""One liveness rule for run folders: the +1 epoch lock, an extension stopped before its epoch ends, and
`train --run-dir` refused on a folder that already holds a run or is being trained."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import threading
import time

import pytest
import torch

from netlib.cli.main import main
from netlib.engine.loop import fit
from support import start_run
from netlib.runs.control import request_stop
from netlib.runs.files import EXTEND_LOCK, METRICS, STATUS, TRAIN_STATE, RunBusy, RunDirError
from netlib.runs.groups import extended, group_runs
from netlib.runs.processes import start_time
from netlib.runs.reader import read_run, read_status
from netlib.runs.writer import RunWriter
from steering_support import config, data  # noqa: F401  (data: a module fixture)

TRAIN = ["train", "--model", "residual", "--synthetic", "64", "--epochs", "1", "--batch-size", "32",
         "--threads", "1", "--quiet"]


def _wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- the +1 epoch lock
@pytest.mark.parametrize("content", ["{pid}", "{pid} 1"])
def test_a_lock_naming_a_reused_pid_does_not_block_an_extension(content, tmp_path):
    """The extension that wrote the lock was killed; its pid now names another live process (here:
    this test process), with another start time or none recorded (a lock of an older version)."""
    run = tmp_path / "r"
    RunWriter(run, {"model": "residual"}).close()
    (run / EXTEND_LOCK).write_text(content.format(pid=os.getpid()))
    RunWriter(run, {"model": "residual"}, extending=True).close()


def test_two_extensions_finding_the_same_stale_lock_only_one_proceeds(tmp_path):
    run = tmp_path / "r"
    RunWriter(run, {"model": "residual"}).close()
    (run / EXTEND_LOCK).write_text(str(2 ** 22 + 7))  # left by a killed extension
    # each holds what it took until it is closed (after both have tried): whenever the second one tries,
    # it finds the lock taken, never stale
    got, refused = [], []

    def extend():
        try:
            got.append(RunWriter(run, {"model": "residual"}, extending=True))
        except RunBusy:
            refused.append(1)
    threads = [threading.Thread(target=extend) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in got:
        w.close()
    assert (len(got), len(refused)) == (1, 1)
    assert not (run / EXTEND_LOCK).exists()


# ---------------------------------------------------------------- +1 epoch stopped before its epoch ends
def _trained(run, data, seed: int):  # noqa: F811
    """A done 2-epoch run (20 batches an epoch: a batch event mid-epoch) made like the CLI makes one."""
    cfg = dataclasses.replace(config(epochs=2, batch_size=32), seed=seed)
    writer = RunWriter(run, cfg.to_dict())
    fit(cfg, data, on_event=writer.on_event, on_checkpoint=writer.save, on_train_state=writer.save_train_state)
    writer.close()
    return cfg


def _extend(run, cfg, data, epochs: int, stop_on: str, lr=None):  # noqa: F811
    """Train run further like `train --extend`; STOP is asked at the extension's first `stop_on` event."""
    state = torch.load(run / TRAIN_STATE, weights_only=True)
    if lr:
        state["lr"] = lr
    writer = RunWriter(run, json.loads((run / "config.json").read_text()), extending=True)

    def listen(event):
        writer.on_event(event)
        if event["event"] == stop_on:
            request_stop(run)
    more = dataclasses.replace(cfg, recipe=dataclasses.replace(cfg.recipe, epochs=epochs))
    try:
        fit(more, data, on_event=listen, should_stop=writer.should_stop, on_checkpoint=writer.save,
            on_train_state=writer.save_train_state, resume=state)
    finally:
        writer.close()


@pytest.mark.parametrize("how, lr, word", [("batch", None, "stopped"), ("never", 1e12, "diverged")])
def test_an_extension_ended_before_its_epoch_leaves_the_run_as_it_was(how, lr, word, tmp_path, data):  # noqa: F811
    a, b = tmp_path / "a", tmp_path / "b"
    cfg = _trained(a, data, seed=0)
    _trained(b, data, seed=1)
    before = read_status(a)
    _extend(a, cfg, data, epochs=1, stop_on=how, lr=lr)
    status = read_status(a)
    assert (status["status"], status["epoch"], status["test_acc"]) == ("done", 2, before["test_acc"])
    assert status["reason"].startswith(f"+1 epoch {word}") and "not kept" in status["reason"]
    assert not status.get("extended")
    info = read_run(a)
    assert [e["epoch"] for e in info.epochs] == [1, 2] and {b["epoch"] for b in info.batches} == {1, 2}
    groups = group_runs([info, read_run(b)])
    assert [len(g.runs) for g in groups] == [2] and groups[0].final.n == 2


def test_an_extension_ended_by_its_stop_watchdog_in_its_first_epoch_leaves_the_run_as_it_was(tmp_path):
    run = tmp_path / "r"
    w = RunWriter(run, {"model": "residual"})
    w.on_event({"event": "start", "first_epoch": 1, "epochs": 2})
    w.on_event({"event": "epoch", "epoch": 2, "epochs": 2, "test_acc": 0.9})
    w.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 2})
    w.close()
    ext = RunWriter(run, {"model": "residual"}, extending=True)
    ext.on_event({"event": "start", "first_epoch": 3, "epochs": 3})
    ext.on_event({"event": "batch", "epoch": 3, "batch": 10, "batches": 20, "lr": 0.01})
    ext.record_forced_stop(5)
    ext.close()
    status = read_status(run)
    assert (status["status"], status["epoch"], status["test_acc"]) == ("done", 2, 0.9)
    assert status["reason"].startswith("+1 epoch stopped before its epoch ended, not kept: stopped by request")
    assert not extended(read_run(run))


def test_an_extension_stopped_after_an_epoch_keeps_it(tmp_path, data):  # noqa: F811
    run = tmp_path / "a"
    cfg = _trained(run, data, seed=0)
    _extend(run, cfg, data, epochs=2, stop_on="epoch")
    status = read_status(run)
    assert (status["status"], status["epoch"], status["extended"]) == ("stopped", 3, True)


# ---------------------------------------------------------------- train --run-dir on a taken folder
def test_train_into_a_folder_that_holds_a_run_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    assert main([*TRAIN, "--run-dir", str(run)]) == 0
    kept = {name: (run / name).read_bytes() for name in (METRICS, STATUS, "config.json")}
    capsys.readouterr()
    assert main([*TRAIN, "--run-dir", str(run)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused" in err[0] and "done" in err[0], err
    assert {name: (run / name).read_bytes() for name in kept} == kept


def test_train_into_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not empty"):
        RunWriter(tmp_path, {"model": "residual"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_queued_run_starts_only_when_no_other_process_is_starting_it(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    other = subprocess.Popen(["sleep", "60"])
    other_started = start_time(other.pid)
    try:
        for pid, accepted in ((other.pid, False), (os.getpid(), True)):
            (run / STATUS).write_text(json.dumps({"status": "starting", "reason": "", "pid": pid,
                                                  "started": start_time(pid)}))
            (run / METRICS).unlink(missing_ok=True)
            if accepted:
                RunWriter(run, {"model": "residual"}).close()
            else:
                with pytest.raises(RunDirError, match=f"process {pid}"):
                    RunWriter(run, {"model": "residual"})
    finally:
        other.kill()
        other.wait()
    (run / STATUS).write_text(json.dumps({"status": "starting", "reason": "", "pid": other.pid,
                                          "started": other_started}))
    (run / METRICS).unlink()
    RunWriter(run, {"model": "residual"}).close()  # its starter is gone: the run is this process's


@pytest.mark.process
def test_train_into_a_live_runs_folder_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    proc = start_run(run, ["--model", "residual", "--recipe", "seed", "--epochs", "50", "--synthetic", "500",
                           "--device", "cpu"], threads=1)
    try:
        _wait_for(lambda: (read_status(run) or {}).get("status") == "running", what="running status")
        assert main([*TRAIN, "--run-dir", str(run)]) == 1
        err = capsys.readouterr().err
        assert f"process {proc.pid}" in err and read_status(run)["pid"] == proc.pid, err
    finally:
        request_stop(run)
        assert proc.wait(timeout=60) == 0
    assert read_status(run)["status"] == "stopped"
