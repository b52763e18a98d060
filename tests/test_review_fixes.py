"""Bugs found by reading the code, each with a test that failed before its fix."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

import netlib.runs.processes as processes
from netlib.cli.main import main
from netlib.engine.loop import evaluate, fit
from netlib.engine.optim import make_optimizer
from netlib.engine.steering import Steering
from netlib.lab.catalogue import untrained_model
from netlib.models import build_model
from netlib.recipes import Recipe
from netlib.runs.control import request_stop
from netlib.runs.files import EXTEND_LOCK, RunBusy
from netlib.runs.reader import read_status
from netlib.runs.writer import RunWriter

REPO = Path(__file__).resolve().parent.parent


def test_train_in_process_puts_the_callers_sigterm_handler_back(tmp_path):
    def mine(*_):
        pass
    previous = signal.signal(signal.SIGTERM, mine)
    try:
        code = main(["train", "--model", "residual", "--synthetic", "64", "--epochs", "1", "--batch-size", "32",
                     "--threads", "1", "--quiet", "--run-dir", str(tmp_path / "run")])
        assert code == 0
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_train_from_a_thread_does_not_touch_signals(tmp_path):
    result = {}
    t = threading.Thread(target=lambda: result.update(code=main(
        ["train", "--model", "residual", "--synthetic", "64", "--epochs", "1", "--batch-size", "32",
         "--threads", "1", "--quiet"])))
    t.start()
    t.join(120)
    assert result == {"code": 0}  # signal.signal outside the main thread would have raised ValueError


def test_a_process_of_another_user_is_alive(monkeypatch):
    def denied(pid, sig):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(processes.os, "kill", denied)
    assert processes.same_process(4_000_000, None) is True


def test_a_live_run_of_another_user_keeps_its_status_and_its_lock(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    (run / "status.json").write_text(json.dumps({"status": "running", "reason": "", "pid": 4_000_000}))
    (run / "config.json").write_text("{}")
    (run / EXTEND_LOCK).write_text("4000000")

    def denied(pid, sig):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(processes.os, "kill", denied)
    assert read_status(run)["status"] == "running"  # not "interrupted"
    with pytest.raises(RunBusy):
        RunWriter(run, {}, extending=True)
    assert (run / EXTEND_LOCK).read_text() == "4000000"  # the other user's lock is left alone


def test_a_reused_pid_does_not_keep_a_dead_run_live(tmp_path):
    """status.json names its process by pid and start time: a live process that took the pid later
    (here: this test process, started at another time) does not make the run read "running"."""
    run = tmp_path / "run"
    run.mkdir()
    started = processes.start_time(os.getpid())
    assert started is not None
    for written, expected in ((started, "running"), (started - 1, "interrupted"), (None, "running")):
        (run / "status.json").write_text(json.dumps({"status": "running", "reason": "", "pid": os.getpid(),
                                                     "started": written}))
        assert read_status(run)["status"] == expected, written


def test_the_writer_names_its_process_by_pid_and_start_time(tmp_path):
    w = RunWriter(tmp_path / "run", {"model": "residual"})
    try:
        status = json.loads((tmp_path / "run" / "status.json").read_text())
        assert (status["pid"], status["started"]) == (os.getpid(), processes.start_time(os.getpid()))
        assert read_status(tmp_path / "run")["status"] == "running"
    finally:
        w.close()


def test_evaluate_leaves_a_model_in_the_mode_it_came_in(synthetic_data):
    model = build_model("residual").eval()
    evaluate(model, synthetic_data.test_x, synthetic_data.test_y, channels_last=False)
    assert model.training is False
    model.train()
    evaluate(model, synthetic_data.test_x, synthetic_data.test_y, channels_last=False)
    assert model.training is True


def test_the_weight_average_stays_in_eval_mode(synthetic_data, make_config):
    end = fit(make_config("residual", ema=0.9, epochs=1), synthetic_data)
    assert end["status"] == "done"
    assert end["model"].training is False


def test_an_unknown_optimizer_is_refused_not_replaced():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer(build_model("residual"), Recipe(optimizer="rmsprop"))


def test_extend_refuses_a_run_whose_saved_recipe_cannot_train(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--model", "residual", "--synthetic", "64", "--epochs", "1", "--batch-size", "32",
                 "--threads", "1", "--quiet", "--run-dir", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    config["recipe"]["optimizer"] = "rmsprop"  # edited by hand
    (run / "config.json").write_text(json.dumps(config))
    metrics = (run / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert main(["train", "--extend", str(run), "--threads", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "optimizer must be one of" in err[0], err
    assert (run / "metrics.jsonl").read_text() == metrics  # nothing trained, nothing written
    assert read_status(run)["status"] == "done"


def test_a_stop_while_paused_ends_the_run_without_resuming_first(synthetic_data, make_config):
    events, asked = [], threading.Event()
    threading.Timer(0.5, asked.set).start()
    end = fit(make_config("residual", epochs=1), synthetic_data, on_event=events.append,
              should_stop=asked.is_set, steer=lambda: Steering(paused=True))
    kinds = [e["event"] for e in events]
    assert end["status"] == "stopped"
    assert kinds[-2:] == ["pause", "end"], kinds  # never "resume": the status never reads "running" again
    assert "resume" not in kinds


@pytest.mark.process
def test_a_stop_is_enforced_by_the_training_process_itself_with_no_page_open(tmp_path):
    """A run stuck where it cannot reach a batch boundary (here: loading its data forever) ends itself
    KILL_AFTER_S after a stop request; before, only a page rendering the run could kill it."""
    run = tmp_path / "run"
    stuck = ("import time, netlib.cli.commands as c\n"
             "c.training_data = lambda *a: time.sleep(600)\n"
             "from netlib.cli.main import main\n"
             f"main(['train', '--model', 'residual', '--synthetic', '64', '--quiet', '--run-dir', {str(run)!r}],"
             " own_process=True)\n")
    proc = subprocess.Popen([sys.executable, "-c", stuck], cwd=REPO)
    try:
        deadline = time.time() + 60
        while (read_status(run) or {}).get("status") != "running":
            assert time.time() < deadline and proc.poll() is None, "the run never started"
            time.sleep(0.1)
        request_stop(run)
        t = time.time()
        proc.wait(timeout=processes.KILL_AFTER_S + 10)
        assert proc.returncode == -signal.SIGKILL
        assert time.time() - t >= processes.KILL_AFTER_S - 1
        status = read_status(run)
        assert status["status"] == "stopped" and "did not reach a batch boundary" in status["reason"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_an_in_process_caller_is_never_killed_by_the_watchdog(tmp_path, monkeypatch):
    """main() called in-process (a notebook, this test) has no watchdog: a slow start with a stop
    already asked ends as "stopped" at the first batch, and this process lives on."""
    import netlib.cli.commands as commands

    run, real = tmp_path / "run", commands.training_data

    def slow(*args):
        request_stop(run)
        time.sleep(processes.KILL_AFTER_S + 1)
        return real(*args)
    monkeypatch.setattr(commands, "training_data", slow)
    assert main(["train", "--model", "residual", "--synthetic", "64", "--batch-size", "32", "--threads", "1",
                 "--quiet", "--run-dir", str(run)]) == 0
    assert read_status(run)["status"] == "stopped"


def test_an_untrained_model_leaves_the_global_random_state_alone():
    torch.manual_seed(1234)
    torch.rand(3)
    before = torch.get_rng_state()
    a, b = untrained_model("residual"), untrained_model("residual")
    assert torch.equal(torch.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert a.training is False


def test_the_inspect_page_does_not_reseed_torch(tmp_path, monkeypatch):
    from support import fresh_app, open_app

    fresh_app(monkeypatch)
    monkeypatch.setenv("NETLIB_CHECKPOINT_DIR", str(tmp_path / "none"))  # no checkpoint: random weights
    monkeypatch.setenv("NETLIB_UPLOADS_DIR", str(tmp_path / "uploads"))
    torch.manual_seed(1234)
    at = open_app("app_pages/inspect.py")
    assert not at.exception, [e.value for e in at.exception]
    assert any("random weights" in c.value for c in at.caption)
    assert torch.initial_seed() == 1234  # torch.manual_seed(0) on every render made it 0


def test_no_dead_helpers_left():
    import netlib.analysis.preprocess as preprocess
    import netlib.runs.files as files

    assert not hasattr(preprocess, "prepare_batch")
    assert not hasattr(files, "FINAL_STATUSES")
    assert os.path.exists(REPO / "netlib" / "runs" / "files.py")
