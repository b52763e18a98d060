"""The run request: one schema that the command line, the queue and sweeps derive from; stored once per run
and read back; and the seams it closed (huge seeds, a cancel that unblocks the line, a launch whose status
could not be written)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netlib.cli.main import main
from netlib.cli.parser import build_parser
from netlib.request import OPTIONS, RequestError, RunRequest, from_arguments
from netlib.runs import queue
from netlib.runs.files import QUEUED_FILE, STATUS, write_json
from netlib.runs.reader import queue_order, read_status
from support import started_in
from test_queue import enqueue, free, occupy, two_slots  # noqa: F401  two_slots: autouse fixture
from test_queue_faults import _failing_writes, queued_with_recorded_popen

REPO = Path(__file__).resolve().parent.parent
TOO_BIG = str(2**64)


def test_every_request_option_is_a_train_and_submit_flag_and_nothing_else_is():
    for command in ("train", "submit"):
        parser = build_parser()._subparsers._group_actions[0].choices[command]
        dests = {a.dest for a in parser._actions}
        assert set(OPTIONS) <= dests, set(OPTIONS) - dests
    args = build_parser().parse_args(["train", "--model", "plain", "--blocks", "3", "--no-augment", "--no-grads",
                                      "--degrade", "blur=0.1", "--lr", "0.02"])
    req = from_arguments(args)
    assert req == RunRequest(model="plain", blocks=3, augment=False, record_grads=False, degrade="blur=0.1", lr=0.02)
    assert from_arguments(build_parser().parse_args(["train", *req.command()[1:]])) == req  # its own words


def test_a_request_is_stored_and_read_back_as_the_same_request():
    req = RunRequest(model="inception", width=32, epochs=2, seed=7, degrade="lowres=0.25,blur=0.1", threads=1)
    assert RunRequest.from_dict(json.loads(json.dumps(req.to_dict()))) == req
    for bad, why in (({"model": "residual", "bogus": 1}, "unknown option 'bogus'"), ([1], "not a JSON object"),
                     ({"model": "residual", "epochs": "5"}, "--epochs: epochs must be a whole number"),
                     ({"model": "residual", "epochs": True}, "--epochs: epochs must be"),
                     ({"model": "residual", "lr": float("nan")}, "--lr: learning rate must be a number"),
                     ({"model": "inception", "blocks": 2}, "--blocks applies to residual and plain"),
                     ({"model": "nope"}, "unknown model 'nope'"), ({}, "a run needs a network")):
        with pytest.raises(RequestError, match=why):
            RunRequest.from_dict(bad)


@pytest.mark.parametrize("seed", [TOO_BIG, "-1", str(10**40)])
def test_a_seed_outside_64_bits_is_refused_in_one_line(seed, capsys):
    assert main(["train", "--model", "residual", "--seed", seed, "--synthetic", "64"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--seed" in err and "whole number from 0" in err, err
    assert main(["submit", "--model", "residual", "--seed", seed]) == 2
    assert "--seed" in capsys.readouterr().err
    assert not (Path(os.environ["NETLIB_RUNS_DIR"])).exists() or not list(Path(os.environ["NETLIB_RUNS_DIR"]).iterdir())


def test_a_queued_json_asking_for_a_huge_seed_fails_the_run_with_one_line(runs_dir):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    write_json(d / QUEUED_FILE, {"request": {"model": "residual", "seed": 2**64}})  # written by hand
    free(holder)
    assert queue.pump(runs_dir) == [] and not started_in(runs_dir)
    status = read_status(d)
    assert status["status"] == "failed" and "--seed: seed must be a whole number" in status["reason"], status


@pytest.mark.process
def test_cancelling_the_first_in_line_starts_the_runs_it_held_back(runs_dir):
    holder = occupy(runs_dir, threads=1)  # one of the two slots taken
    big, small = enqueue(runs_dir, 1, threads=2) + enqueue(runs_dir, 1, threads=1)
    assert queue_order(runs_dir) == [big, small]  # small would fit, but waits behind big (first come first)
    assert queue.cancel(big)
    assert read_status(small)["status"] in ("starting", "running") and str(small) in started_in(runs_dir)
    free(holder)


def test_a_launch_whose_status_cannot_be_recorded_does_not_hold_its_slots_for_ever(runs_dir, monkeypatch):
    d, popen = queued_with_recorded_popen(runs_dir, monkeypatch)
    # a full disk: the child's pid cannot be written, nor the failure: the launcher's "starting" stays
    _failing_writes(monkeypatch, lambda obj: not obj.get("launcher"))
    assert queue.pump(runs_dir) == []
    assert json.loads((d / STATUS).read_text())["launcher"] and read_status(d)["status"] == "starting"
    later = time.time() + 120
    monkeypatch.setattr("netlib.runs.reader.time.time", lambda: later)
    status = read_status(d)
    assert status["status"] == "failed" and "could not be started" in status["reason"], status
    assert main(["runs", "delete", d.name, "--yes", "--runs-dir", str(runs_dir)]) == 0 and not d.exists()


@pytest.mark.process
def test_train_without_a_run_dir_records_a_run_and_says_where(runs_dir):
    done = subprocess.run([sys.executable, "-m", "netlib", "train", "--model", "residual", "--synthetic", "64",
                           "--batch-size", "32", "--epochs", "1", "--threads", "1"], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert f"run {run.name}: {run}" in done.stderr and read_status(run)["status"] == "done"
    assert json.loads((run / "config.json").read_text())["request"]["synthetic"] == 64
    throwaway = subprocess.run([sys.executable, "-m", "netlib", "train", "--model", "residual", "--synthetic", "64",
                                "--batch-size", "32", "--epochs", "1", "--threads", "1", "--no-record", "--quiet"],
                               cwd=REPO, capture_output=True, text=True, timeout=300)
    assert throwaway.returncode == 0 and [p for p in runs_dir.iterdir() if p.is_dir()] == [run]


def test_a_data_error_in_a_named_run_folder_ends_the_run_failed_with_the_reason(runs_dir, capsys):
    run = runs_dir / "named"
    assert main(["train", "--model", "residual", "--synthetic", "100", "--limit", "200", "--run-dir", str(run)]) == 2
    assert "--limit 200 is larger than the training set (100)" in capsys.readouterr().err
    status = read_status(run)
    assert status["status"] == "failed" and "--limit 200" in status["reason"], status  # never "interrupted"
