"""Faults (issue #5): real training processes (synthetic digits, 1 thread) are killed, stopped, run two at
a time and driven to diverge; the lab keeps working and loses nothing.

The other faults: test_faults_disk.py (runs folder unwritable or full), test_faults_input.py (bad
hyperparameters and images), test_faults_security.py (checkpoints, paths, the server's exposure). What
other test files already prove is listed in docs/robustness.md and not repeated here.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from netlib.lab import launch
from netlib.runs import command, queue, reader
from netlib.checkpoint import load_checkpoint
from support import start_run
from netlib.runs.control import request_stop
from netlib.runs.files import CHECKPOINT, CONFIG, METRICS, STATUS
from netlib.runs.reader import list_runs, read_run, read_status
from faults_support import _keep_sigterm, _own_process_table, app, reap, strict_lines, train_args, train_page  # noqa: F401


def wait_until(predicate, timeout: float, proc=None, run_dir: Path | None = None, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            log = (run_dir / "process.log").read_text() if run_dir else ""
            raise AssertionError(f"the training process ended early ({proc.returncode}): {log}")
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")


def mid_epoch_after_a_checkpoint(run_dir: Path):
    """The events, once an epoch's checkpoint is saved and the next epoch's batches are under way."""
    info = read_run(run_dir)
    if info is None or not info.epochs or not (run_dir / CHECKPOINT).is_file():
        return None
    last = info.events[-1]
    if last.get("event") == "batch" and last["epoch"] == info.epochs[-1]["epoch"] + 1 \
            and last["batch"] < last["batches"] - 10:
        return info
    return None


def finite_chart_values(at: AppTest) -> list:
    """Every y value of every trace of every Plotly chart on the page (plain lists or typed arrays)."""
    import base64

    import numpy as np

    out = []
    for el in at.get("plotly_chart"):
        for trace in json.loads(el.proto.spec)["data"]:
            y = trace.get("y")
            if isinstance(y, dict) and "bdata" in y:
                y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
            out += list(y or [])
    return out


# ---------------------------------------------------------------- killed, restarted, stopped
@pytest.mark.slow
def test_sigkill_mid_epoch_keeps_checkpoint_and_metrics_and_the_page_says_interrupted(app):
    run_dir = app / "killed"
    proc = start_run(run_dir, train_args(2000, 60), threads=1)  # not through netlib.lab.launch: a server
    try:                                                          # restarted since knows nothing of it
        wait_until(lambda: mid_epoch_after_a_checkpoint(run_dir), 90, proc, run_dir)

        # Server restart while the run goes on: a fresh session re-attaches to the live process.
        tab1 = train_page()
        assert tab1.session_state["train_run"] == str(run_dir)
        assert any(b.key == "stop" for b in tab1.button), "the re-attached run should be live"
        tab2 = train_page()  # a second tab on the same run: it only reads
        assert tab2.session_state["train_run"] == str(run_dir)

        info = wait_until(lambda: mid_epoch_after_a_checkpoint(run_dir), 60, proc, run_dir)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        reap(proc)

    status = read_status(run_dir)
    assert status["status"] == "interrupted"
    assert "killed" in status["reason"]
    events = strict_lines(run_dir / METRICS)
    assert len(events) >= len(info.events)
    epochs = [e for e in events if e["event"] == "epoch"]
    model, meta = load_checkpoint(run_dir / CHECKPOINT, expect_model="residual")
    assert meta["metrics"]["epoch"] == epochs[-1]["epoch"] >= 1  # the last completed epoch's weights
    assert not [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]

    # The server keeps serving: both tabs now say what happened, without a traceback.
    for tab in (tab1, tab2):
        tab.run()
        assert not tab.exception, [e.value for e in tab.exception]
        assert any("interrupted" in e.value for e in tab.error), [e.value for e in tab.error]
        assert not any(b.key == "stop" for b in tab.button)
    # After another restart, a dead run is not re-attached as live; the index calls it interrupted.
    fresh = train_page()
    assert "train_run" not in fresh.session_state
    assert any("No run in progress" in i.value for i in fresh.info)
    assert [r.status for r in reader.run_index(app)] == ["interrupted"]


@pytest.mark.process
def test_stop_mid_epoch_ends_within_a_batch_and_keeps_the_last_checkpoint(runs_dir):
    run_dir = runs_dir / "stopped"
    proc = start_run(run_dir, train_args(2000, 60), threads=1)
    try:
        wait_until(lambda: mid_epoch_after_a_checkpoint(run_dir), 90, proc, run_dir)
        t0 = time.monotonic()
        request_stop(run_dir)
        wait_until(lambda: (read_status(run_dir) or {}).get("status") == "stopped", 10, every=0.005)
        latency = time.monotonic() - t0
        assert proc.wait(timeout=30) == 0
    finally:
        reap(proc)
    print(f"stop latency (request_stop -> status 'stopped'): {1000 * latency:.0f} ms")
    assert latency < 5.0, latency  # one batch of these networks is ~10 ms; 5 s allows a loaded machine
    info = read_run(run_dir)
    assert info.status == "stopped" and "stopped by request" in info.reason
    _, meta = load_checkpoint(run_dir / CHECKPOINT, expect_model="residual")
    assert meta["metrics"]["epoch"] == info.epochs[-1]["epoch"]
    events = strict_lines(run_dir / METRICS)
    assert events[-1]["event"] == "end" and events[-1]["status"] == "stopped"
    # Stopped mid-epoch: the unfinished epoch left batch events but no epoch event and no checkpoint.
    assert events[-2]["event"] == "batch" and events[-2]["epoch"] == info.epochs[-1]["epoch"] + 1


@pytest.mark.slow
def test_two_runs_at_once_with_concurrent_readers_keep_their_own_files(runs_dir):
    dirs = {"residual": runs_dir / "a-residual", "inception": runs_dir / "b-inception"}
    procs = {m: start_run(d, train_args(800 if m == "residual" else 400, 2, model=m), threads=1)
             for m, d in dirs.items()}
    problems, reads, done = [], [0], threading.Event()

    def read_loop():
        while not done.is_set():
            try:
                for model, d in dirs.items():
                    info = read_run(d)
                    if info is None:
                        continue
                    if info.config["model"] != model:
                        problems.append(f"{d.name}: config says {info.config['model']}")
                    for e in info.events:
                        if e.get("event") == "start" and e["pid"] != procs[model].pid:
                            problems.append(f"{d.name}: start event from pid {e['pid']}")
                        if e.get("event") == "start" and e["model"] != model:
                            problems.append(f"{d.name}: start event of {e['model']}")
                listed = {r.dir.name: r.config["model"] for r in list_runs(runs_dir)}
                listed.update({r.name: r.model for r in reader.run_index(runs_dir)})
                for name, model in listed.items():
                    if dirs[model].name != name:
                        problems.append(f"listing mixed up {name} and {model}")
                reads[0] += 1
            except Exception as e:  # noqa: BLE001 - any reader crash is a failure
                problems.append(repr(e))
            time.sleep(0.01)

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        for model, proc in procs.items():
            assert proc.wait(timeout=240) == 0, (dirs[model] / "process.log").read_text()
    finally:
        done.set()
        for t in readers:
            t.join()
        reap(*procs.values())
    assert not problems, problems[:5]
    assert reads[0] > 10
    for model, d in dirs.items():
        status = json.loads((d / STATUS).read_text())
        assert status["status"] == "done" and status["pid"] == procs[model].pid
        events = strict_lines(d / METRICS)
        assert events[0]["event"] == "start" and events[0]["model"] == model
        assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
        load_checkpoint(d / CHECKPOINT, expect_model=model)
        assert {p.name for p in d.iterdir()} <= {CONFIG, METRICS, STATUS, CHECKPOINT, "process.log",
                                                 "train_state.pt"}


def test_two_launches_in_the_same_second_get_their_own_folders(runs_dir, monkeypatch):
    # Two sessions pressing Start at once: same timestamp, same server pid, so the same name. Each
    # launch must claim its folder itself (the run queue: netlib/runs/queue.py; nothing is started here).
    monkeypatch.setattr(command, "new_run_name", lambda model, recipe: "same-name")
    monkeypatch.setattr(queue, "pump", lambda *args, **kwargs: [])
    dirs = [queue.enqueue(runs_dir, [launch.request_for("residual", "fast")])[0] for _ in range(3)]
    assert len(set(dirs)) == 3 and [read_status(d)["status"] for d in dirs] == ["queued"] * 3
    assert all(d.is_dir() and d.parent == runs_dir for d in dirs)


# ---------------------------------------------------------------- divergence
@pytest.mark.process
def test_divergence_ends_the_run_as_diverged_with_a_suggestion_and_no_nan_on_the_charts(app):
    run_dir = app / "diverged"
    proc = start_run(run_dir, train_args(1000, 3, lr="10"), threads=1)
    try:
        assert proc.wait(timeout=120) == 1
    finally:
        reap(proc)
    status = read_status(run_dir)
    assert status["status"] == "diverged"
    assert "diverged" in status["reason"] and "smaller learning rate" in status["reason"]
    strict_lines(run_dir / METRICS)  # no NaN or Infinity written as a number anywhere
    at = train_page({"train_run": str(run_dir)})
    assert any("diverged" in e.value and "smaller learning rate" in e.value for e in at.error)
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in finite_chart_values(at))
