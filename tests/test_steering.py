"""Pause/resume and learning-rate changes, in the engine and through the run dir's control file, and in a
real training process. Gradient flow is in test_steering_grads.py, +1 epoch in test_steering_extend.py."""

from __future__ import annotations

import json
import time

import pytest

from support import start_run
from netlib.runs.control import read_control, request_stop, steer_run
from netlib.runs.files import CONTROL, TRAIN_STATE
from netlib.runs.reader import read_events, read_status
from netlib.runs.writer import RunWriter
from netlib.engine.steering import Steering
from steering_support import config, data, events_of  # noqa: F401  (data: a module fixture)


def polls(*answers: Steering, then: Steering = Steering()):
    """A steer() that gives these answers, one per batch boundary, then `then` forever."""
    it = iter(answers)
    return lambda: next(it, then)


# ---------------------------------------------------------------- steering in the engine
def test_learning_rate_change_applies_at_the_next_batch_and_is_logged(data):
    # seed recipe: constant lr 0.01; batch boundaries are polled before each of the 10 batches
    steer = polls(*[Steering()] * 3, then=Steering(lr=0.002))
    events = events_of(config(epochs=1, batch_size=64), data, steer=steer)
    changes = [e for e in events if e["event"] == "lr_change"]
    assert len(changes) == 1
    assert changes[0]["from"] == pytest.approx(0.01) and changes[0]["to"] == 0.002
    assert (changes[0]["epoch"], changes[0]["batch"]) == (1, 3)
    assert events.index(changes[0]) < next(i for i, e in enumerate(events) if e["event"] == "batch")
    assert [e["lr"] for e in events if e["event"] == "batch"] == [0.002]


def test_a_set_learning_rate_replaces_the_schedule(data):
    steer = polls(Steering(), then=Steering(lr=0.0007))
    events = events_of(config(recipe="fast", epochs=2, batch_size=64), data, steer=steer)
    lrs = [e["lr"] for e in events if e["event"] in ("batch", "epoch")]
    assert lrs and all(lr == 0.0007 for lr in lrs)


def test_back_to_schedule_rejoins_the_schedule_where_it_has_got_to(data):
    """OneCycle: set a rate for a while, then go back; from then on every batch's rate is the rate an
    unsteered run has at that batch (the schedule kept counting underneath)."""
    cfg = config(recipe="fast", epochs=2, batch_size=32)  # 20 batches per epoch, reports at 10 and 20
    plain = [(e["epoch"], e["batch"], e["lr"]) for e in events_of(cfg, data) if e["event"] == "batch"]
    steer = polls(Steering(), *[Steering(lr=0.0001)] * 12, then=Steering())  # batches 2-13 held at 1e-4
    events = events_of(cfg, data, steer=steer)
    changes = [e for e in events if e["event"] == "lr_change"]
    assert [(c["to"] == 0.0001, c["schedule"]) for c in changes] == [(True, False), (False, True)]
    steered = [(e["epoch"], e["batch"], e["lr"]) for e in events if e["event"] == "batch"]
    assert steered[0][2] == 0.0001  # batch 10: still held
    assert steered[1:] == pytest.approx(plain[1:])  # from batch 20 on: exactly the schedule's rates
    assert changes[1]["to"] == pytest.approx(dict(((e, b), lr) for e, b, lr in plain)[(1, 10)], rel=0.5)


def test_pause_holds_training_and_resume_goes_on(data):
    waited = []

    def steer():
        waited.append(time.perf_counter())
        return Steering(paused=2 <= len(waited) <= 31)  # paused for 30 polls of 0.1 s

    began = time.perf_counter()
    events = events_of(config(epochs=1, batch_size=64, limit=320), data, steer=steer)
    wall = time.perf_counter() - began
    kinds = [e["event"] for e in events]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1
    pause, resume = events[kinds.index("pause")], events[kinds.index("resume")]
    assert (pause["epoch"], pause["batch"]) == (1, 1)
    assert resume["paused_seconds"] >= 2.9
    epoch = next(e for e in events if e["event"] == "epoch")
    # the epoch's time leaves the pause out (however fast the machine trains the 5 batches)
    assert epoch["seconds"] + resume["paused_seconds"] <= wall + 0.05
    assert epoch["samples_per_s"] == pytest.approx(320 / epoch["seconds"])
    assert events[-1]["status"] == "done"


def test_stop_while_paused_ends_the_run_stopped(data):
    asked = {"n": 0}

    def should_stop():
        asked["n"] += 1
        return asked["n"] > 4

    events = events_of(config(epochs=3, batch_size=64), data, steer=lambda: Steering(paused=True),
                       should_stop=should_stop)
    assert events[-1]["status"] == "stopped"
    assert not any(e["event"] == "batch" for e in events)


# ---------------------------------------------------------------- the run directory's side
def test_steer_run_can_go_back_to_the_schedule(tmp_path):
    steer_run(tmp_path, lr=0.003, paused=True)
    assert steer_run(tmp_path, schedule=True) == {"paused": True, "lr": None}


def test_steer_run_writes_control_and_the_writer_reads_it(tmp_path):
    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})
    assert writer.steering() == Steering()
    steer_run(writer.dir, paused=True)
    assert writer.steering() == Steering(paused=True)
    steer_run(writer.dir, lr=0.003)
    assert writer.steering() == Steering(paused=True, lr=0.003)
    steer_run(writer.dir, paused=False)
    assert writer.steering() == Steering(paused=False, lr=0.003)
    writer.close()


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "fast"])
def test_steer_run_refuses_a_bad_learning_rate(tmp_path, bad):
    with pytest.raises(ValueError, match="learning rate"):
        steer_run(tmp_path, lr=bad)
    assert not (tmp_path / CONTROL).exists()


def test_garbage_control_file_means_no_steering(tmp_path):
    (tmp_path / CONTROL).write_text('{"paused": "yes", "lr": -4}')
    assert read_control(tmp_path) == {"paused": False, "lr": None}
    (tmp_path / CONTROL).write_text("[1, 2")
    assert read_control(tmp_path) == {}


def test_pause_events_set_the_status_and_a_dead_paused_run_is_interrupted(tmp_path):
    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})
    writer.on_event({"event": "pause", "epoch": 1, "batch": 3})
    assert read_status(writer.dir)["status"] == "paused"
    writer.on_event({"event": "resume", "epoch": 1, "batch": 3, "paused_seconds": 1.0})
    assert read_status(writer.dir)["status"] == "running"
    writer.on_event({"event": "pause", "epoch": 1, "batch": 3})
    writer.close()
    status = json.loads((writer.dir / "status.json").read_text())
    status["pid"] = 2 ** 22 + 7  # no such process
    (writer.dir / "status.json").write_text(json.dumps(status))
    assert read_status(writer.dir)["status"] == "interrupted"


def test_a_new_process_on_a_run_clears_old_steering(tmp_path):
    steer_run(tmp_path, paused=True, lr=0.5)
    writer = RunWriter(tmp_path, {"model": "residual"}, extending=True)
    assert writer.steering() == Steering()
    assert not (tmp_path / "config.json").exists()  # extending keeps the run's config as it was
    writer.close()


def _wait_for(predicate, timeout=120.0, what="condition"):
    t = time.time()
    while time.time() - t < timeout:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_real_run_pauses_changes_lr_resumes_and_extends(tmp_path):
    run = tmp_path / "run"
    args = ["--model", "residual", "--recipe", "seed", "--epochs", "2", "--batch-size", "32",
            "--synthetic", "3000", "--seed", "0", "--device", "cpu"]
    proc = start_run(run, args, threads=1)
    _wait_for(lambda: any(e["event"] == "batch" for e in read_events(run / "metrics.jsonl")),
              what="first batch")
    steer_run(run, paused=True)
    _wait_for(lambda: (read_status(run) or {}).get("status") == "paused", what="paused status")
    held = len(read_events(run / "metrics.jsonl"))
    time.sleep(1.0)
    assert len(read_events(run / "metrics.jsonl")) == held  # nothing trains while paused
    steer_run(run, lr=0.004)
    steer_run(run, paused=False)
    assert proc.wait(timeout=300) == 0
    events = read_events(run / "metrics.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1 and kinds.count("lr_change") == 1
    after = events[kinds.index("lr_change"):]
    assert all(e["lr"] == 0.004 for e in after if e["event"] == "batch")
    assert read_status(run)["status"] == "done" and (run / TRAIN_STATE).is_file()

    proc = start_run(run, ["--extend", str(run), "--epochs", "1"], threads=1)
    assert proc.wait(timeout=300) == 0, (run / "process.log").read_text()
    epochs = [e["epoch"] for e in read_events(run / "metrics.jsonl") if e["event"] == "epoch"]
    assert epochs == [1, 2, 3]
    assert read_status(run)["status"] == "done" and read_status(run)["epoch"] == 3
    assert json.loads((run / "config.json").read_text())["recipe"]["epochs"] == 2  # config kept


@pytest.mark.slow
def test_request_stop_still_stops_a_paused_process(tmp_path):
    run = tmp_path / "run"
    proc = start_run(run, ["--model", "residual", "--recipe", "seed", "--epochs", "50", "--synthetic", "500",
                           "--device", "cpu"], threads=1)
    _wait_for(lambda: (read_status(run) or {}).get("status") == "running", what="running status")
    steer_run(run, paused=True)
    _wait_for(lambda: (read_status(run) or {}).get("status") == "paused", what="paused status")
    request_stop(run)
    assert proc.wait(timeout=60) == 0
    assert read_status(run)["status"] == "stopped"
