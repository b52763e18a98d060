"""Sweeps through the command line on the default journal storage: a 4-trial grid, trials as runs in the
queue, pruning, random sampling of a log range, a worker killed or stopped mid-trial, every bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netlib.runs import queue, spawn
from support import started_in
from netlib.runs.files import CONFIG, STATUS, write_json
from netlib.runs.processes import start_time
from netlib.runs.reader import read_run, read_status

REPO = Path(__file__).resolve().parent.parent
TINY = ["--model", "residual", "--synthetic", "256", "--threads", "1"]


def netlib(*args: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netlib", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def in_process(capsys, *args: str) -> tuple[int, str, str]:
    """`python -m netlib ARGS` in this process (no torch import to wait for): (exit status, stdout, stderr)."""
    from netlib.cli.main import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def show(name: str) -> tuple[list[dict], dict]:
    out = netlib("sweep", "show", name, "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    return lines[:-1], lines[-1]["best"]


@pytest.mark.slow
def test_a_grid_runs_each_point_once_as_a_run_of_the_queue(runs_dir):
    made = netlib("sweep", "create", "g4", *TINY, "--lr", "0.01,0.03", "--batch-size", "32,64", "--epochs", "2")
    assert made.returncode == 0, made.stderr
    assert "4 trial(s)" in made.stdout
    work = netlib("sweep", "work", "g4")
    assert work.returncode == 0, work.stderr
    assert "finished 4 trial(s); 0 left" in work.stdout
    trials, best = show("g4")
    assert [t["state"] for t in trials] == ["COMPLETE"] * 4
    assert sorted((t["params"]["lr"], t["params"]["batch_size"]) for t in trials) == [
        (0.01, 32), (0.01, 64), (0.03, 32), (0.03, 64)]
    for t in trials:  # trial and run name each other; the run is an ordinary run of the notebook
        run = read_run(runs_dir / t["run"])
        assert run.status == "done" and run.config["sweep"]["name"] == "g4" and run.config["sweep"]["trial"] == t["number"]
        assert t["value"] == pytest.approx(100 * run.epochs[-1]["test_acc"], abs=1e-3)
        assert sorted(int(e) for e in t["epochs"]) == [1, 2]
        assert run.config["recipe"]["lr"] == t["params"]["lr"] and run.config["threads"] == 1
    assert best["value"] == max(t["value"] for t in trials)
    listed = [json.loads(line) for line in netlib("runs", "list", "--json").stdout.splitlines()]
    assert sorted(r["sweep"] for r in listed) == [f"g4 · trial {n}" for n in range(4)]
    again = netlib("sweep", "work", "g4")  # nothing left: a second worker ends at once, runs nothing
    assert again.returncode == 0 and "finished 0 trial(s)" in again.stdout
    assert len(list(runs_dir.glob("*-sweep-g4-*"))) == 4
    first = runs_dir / trials[0]["run"]  # a trial's run trains further like any run, on its own data
    more = netlib("train", "--extend", str(first), "--epochs", "1")
    assert more.returncode == 0, more.stderr
    extended = read_run(first)
    assert extended.status == "done" and len(extended.epochs) == 3
    starts = [json.loads(line) for line in (first / "metrics.jsonl").read_text().splitlines() if '"start"' in line]
    assert [e["samples"] for e in starts if e["event"] == "start"] == [256, 256]  # not MNIST's 60,000


@pytest.mark.slow
@pytest.mark.parametrize("prune", ["median", "halving"])
def test_a_trial_behind_the_others_is_pruned_and_its_run_says_so(runs_dir, prune):
    # the good rates go first; the third (1e-6) is far behind them after epoch 1
    assert netlib("sweep", "create", "p3", *TINY, "--lr", "0.01,0.02,0.000001", "--epochs", "4",
                  "--prune", prune).returncode == 0
    assert netlib("sweep", "work", "p3").returncode == 0
    trials, _ = show("p3")
    assert trials[0]["state"] == "COMPLETE" and trials[2]["state"] == "PRUNED"
    if prune == "median":  # median: nothing is pruned before two trials have finished
        assert trials[1]["state"] == "COMPLETE"
    pruned = read_run(runs_dir / trials[2]["run"])
    assert pruned.status == "pruned" and "pruned by the sweep after epoch 1" in pruned.reason
    assert len(pruned.epochs) == 1 and trials[2]["epochs"] == {"1": pytest.approx(100 * pruned.epochs[0]["test_acc"])}


@pytest.mark.slow
def test_random_sampling_of_a_log_range_stays_inside_it():
    assert netlib("sweep", "create", "r3", *TINY, "--lr-range", "1e-3:1e-1", "--sampler", "random", "--trials", "3",
                  "--epochs", "1").returncode == 0
    assert netlib("sweep", "work", "r3", "--trials", "2").returncode == 0  # --trials: this worker stops at 2
    trials, _ = show("r3")
    assert [t["state"] for t in trials] == ["COMPLETE", "COMPLETE", "WAITING"]
    assert all(1e-3 <= t["params"]["lr"] <= 1e-1 for t in trials[:2]) and trials[0]["params"] != trials[1]["params"]


def start_worker(name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "netlib", "sweep", "work", name], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_running(runs_dir: Path, name: str, timeout: float = 90) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for d in runs_dir.glob(f"*-sweep-{name}-t0*"):
            status = read_status(d) or {}
            if status.get("status") == "running" and status.get("epoch", 0) >= 1:
                return d
        time.sleep(0.2)
    raise AssertionError(f"no trial of {name} was running after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_worker_lost_mid_trial_leaves_no_trial_running(runs_dir, how):
    """SIGKILL: the next look (show) fails the trial, by its dead process, and enqueues it again.
    SIGTERM: the worker stops the run itself, fails the trial and enqueues it again before it exits."""
    assert netlib("sweep", "create", "k1", "--model", "residual", "--synthetic", "2048", "--threads", "1",
                  "--epochs", "40", "--lr", "0.01").returncode == 0
    worker = start_worker("k1")
    try:
        run_dir = wait_running(runs_dir, "k1")
        worker.send_signal(getattr(signal, how))
        worker.wait(timeout=60)
    finally:
        worker.kill()
    trials, _ = show("k1")
    assert [t["state"] for t in trials] == ["FAIL", "WAITING"], trials
    assert trials[1]["retry_of"] == 0 and trials[1]["params"] == trials[0]["params"]
    assert ("ended mid-trial" if how == "SIGKILL" else "worker was stopped") in trials[0]["reason"]
    assert read_run(run_dir).status == ("interrupted" if how == "SIGKILL" else "stopped")


def test_a_trial_waits_in_the_queue_and_the_pump_hands_it_to_its_worker(runs_dir, make_config, monkeypatch):
    """A worker's run is not started by the pump: it is marked "starting" with the worker's pid; a run
    whose worker is gone fails with the reason instead of waiting for ever."""
    from netlib.engine.setup import train_config
    from netlib.request import RunRequest

    monkeypatch.setenv(queue.SLOTS_ENV, "1")
    opts = {"model": "residual", "epochs": 1, "synthetic": 64, "threads": 1, "device": "cpu"}
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        occupant = runs_dir / "0-occupant"
        occupant.mkdir(parents=True)
        write_json(occupant / CONFIG, {"model": "residual", "threads": 1, "device": "cpu"})
        write_json(occupant / STATUS, {"status": "running", "pid": sleeper.pid, "started": start_time(sleeper.pid)})
        req = RunRequest(**opts)
        sub = [queue.Submission("mine", req, train_config(req).to_dict())]
        mine = queue.submit(runs_dir, sub, worker=(os.getpid(), start_time(os.getpid())))[0]
        gone = queue.submit(runs_dir, sub, worker=(sleeper.pid, start_time(sleeper.pid) + 1))[0]
        assert read_status(mine)["status"] == "queued" and not started_in(runs_dir)  # the slot is taken
        sleeper.kill()
        sleeper.wait()
        queue.pump(runs_dir)
    finally:
        sleeper.kill()
    assert read_status(mine)["status"] == "starting" and read_status(mine)["pid"] == os.getpid()
    assert not started_in(runs_dir)  # no training process: the worker trains it
    queue.pump(runs_dir)  # the slot is mine now; the next run's worker is another (dead) process
    assert read_status(gone)["status"] == "queued"
    write_json(mine / STATUS, {"status": "done", "reason": ""})
    queue.pump(runs_dir)
    assert read_status(gone)["status"] == "failed" and "the process that trains it" in read_status(gone)["reason"]


BAD = [  # (arguments after `sweep create NAME --model residual`, words the one line must hold)
    (["--lr", ""], "comma-separated list"),
    (["--batch-size", "64,,128"], "comma-separated list"),
    (["--lr", "0,0.1"], "learning rate 0.0 refused"),
    (["--lr", "-0.01"], "learning rate -0.01 refused"),
    (["--lr-range", "1e-1:1e-4", "--sampler", "random"], "upside down"),
    (["--lr-range", "1e-4:1e-1"], "a grid needs a list of learning rates"),
    (["--lr-range", "0.1"], "LOW:HIGH"),
    (["--bogus", "1"], "unrecognized arguments: --bogus"),
    (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    (["--trials", "0", "--sampler", "random"], "--trials must be from 1 to 10,000, got 0"),
    (["--trials", "1000000", "--sampler", "tpe"], "got 1,000,000"),
    (["--trials", "5", "--lr", "0.01,0.02"], "more than the grid's 2 points"),
    (["--width", "16"], "--width applies to inception and naive only"),
    (["--batch-size", "512", "--synthetic", "256"], "larger than the training set"),
    (["--seeds", "1,1"], "lists a value twice"),
]


@pytest.mark.parametrize("extra,words", BAD, ids=[" ".join(b[0]) or "empty" for b in BAD])
def test_bad_arguments_get_one_line_and_exit_2_and_create_nothing(runs_dir, capsys, extra, words):
    code, _, err = in_process(capsys, "sweep", "create", "bad", "--model", "residual", *extra)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not runs_dir.exists()


@pytest.mark.parametrize("name", ["a/b", "..", "../up", ".hidden", "x" * 65])
def test_a_sweep_name_that_is_no_plain_name_is_refused(runs_dir, capsys, name):
    for action in (["create", name, "--model", "residual"], ["work", name], ["show", name]):
        code, _, err = in_process(capsys, "sweep", *action)
        assert code == 2 and "refused" in err, (action, err)
    assert not runs_dir.exists()


def test_an_unknown_network_or_sweep_and_a_name_taken_twice(runs_dir, capsys):
    code, _, err = in_process(capsys, "sweep", "create", "n", "--model", "resnet")
    assert code == 2 and "unknown network 'resnet'" in err
    assert in_process(capsys, "sweep", "show", "nothing")[0] == 2
    assert in_process(capsys, "sweep", "create", "n", *TINY, "--lr", "0.01")[0] == 0
    code, _, err = in_process(capsys, "sweep", "create", "n", *TINY, "--lr", "0.02")
    assert code == 2 and "already exists" in err
    code, out, _ = in_process(capsys, "sweep", "list", "--json")
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["n"]


@pytest.mark.parametrize("url,words", [
    ("postgresql://lab:s3cret-pw@127.0.0.1:9/sweeps", "cannot reach the sweep storage"),
    ("ftp://lab:s3cret-pw@example/sweeps", "is not a database URL"),
])
def test_a_storage_that_cannot_be_used_exits_1_without_its_password(runs_dir, capsys, monkeypatch, url, words):
    for args in (["--storage", url], []):  # the option, or the environment variable
        monkeypatch.setenv("NETLIB_OPTUNA_STORAGE", url)
        code, out, err = in_process(capsys, "sweep", "create", "s", *TINY, "--lr", "0.01", *args)
        assert code == 1 and words in err and "s3cret" not in err + out
        assert len(err.strip().splitlines()) == 1, err
    assert not runs_dir.exists()
