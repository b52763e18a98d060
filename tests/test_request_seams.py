"""Seams around the run request: a +1 epoch that diverged says so on the page, older runs' data is found
leniently, --no-record refuses a folder, and a light command's pump never loads torch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netlib.cli.main import main
from netlib.lab import launch
from netlib.request import trained_on
from netlib.runs import queue, spawn
from netlib.runs.processes import same_process
from netlib.runs.reader import queue_order, read_status
from support import stop_children
from test_queue import free, occupy

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "tests" / "fixtures" / "run-2026-12-02-residual"


@pytest.mark.process
def test_a_plus_one_epoch_that_diverges_before_its_epoch_ends_says_so_once(runs_dir, monkeypatch):
    monkeypatch.chdir(runs_dir.parent)
    run = Path(runs_dir.name) / "r"  # relative, as the page's default runs folder names it
    assert main(["train", "--model", "residual", "--recipe", "seed", "--synthetic", "640", "--epochs", "1",
                 "--batch-size", "32", "--threads", "1", "--quiet", "--run-dir", str(run)]) == 0
    try:
        queue.extend(run, 1, 10.0, threads=1)  # plain SGD at rate 10: a non-finite loss within the epoch
        spawn.child(run).proc.wait(timeout=300)
        said = launch.extension_error(run)
        assert said.startswith("+1 epoch diverged before its epoch ended, not kept: loss became nan"), said
        assert launch.extension_error(run) is None  # said once
        assert read_status(run)["status"] == "done" and read_status(run)["epoch"] == 1  # the run as it was
    finally:
        stop_children()


def test_an_older_runs_data_is_found_whatever_else_its_words_say(tmp_path):
    config = json.loads((FIXTURE / "config.json").read_text())
    assert trained_on(config) == (None, 512)
    odd = {**config, "argv": [*config["argv"], "--seed", "-1", "--threads", "5000", "--data-dir", "/data/m"]}
    assert trained_on(odd) == ("/data/m", 512)  # words today's parser refuses cost nothing
    assert trained_on({"argv": ["train", "--synthetic=64"]}) == (None, 64)
    assert trained_on({"request": {"model": "residual", "synthetic": 32}, "data_dir": "/d"}) == ("/d", 32)
    assert trained_on({"argv": "not a list"}) == trained_on({"request": [1]}) == (None, None)


def test_no_record_goes_with_neither_a_run_dir_nor_extend(runs_dir, capsys):
    for extra in (["--run-dir", str(runs_dir / "x")], ["--extend", str(runs_dir / "x")]):
        assert main(["train", "--model", "residual", "--synthetic", "64", "--no-record", *extra]) == 2
        assert "--no-record" in capsys.readouterr().err
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


@pytest.mark.process
def test_a_light_command_that_starts_a_queued_run_loads_no_torch(runs_dir):
    holder = occupy(runs_dir)  # every slot taken: the submitted run waits on disk
    assert main(["submit", "--model", "residual", "--synthetic", "64", "--epochs", "1", "--threads", "1",
                 "--runs-dir", str(runs_dir)]) == 0
    (queued,) = queue_order(runs_dir)
    free(holder)
    try:
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "netlib", "runs", "list", "--runs-dir",
                               str(runs_dir)], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        modules = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")]
        assert "netlib.runs.spawn" in modules and "torch" not in modules  # it started the run, and stayed light
        assert read_status(queued)["status"] != "queued"
    finally:
        status = read_status(queued) or {}
        if status.get("pid") and same_process(status["pid"], status.get("started")):
            os.kill(status["pid"], signal.SIGKILL)


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT back to its default in the child: an xdist worker ignores it, and an ignored SIGINT is
    inherited (Python then installs no KeyboardInterrupt handler, and Ctrl-C would never reach the run)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _queued_cli_train(runs_dir):
    """`python -m netlib train` in a terminal while every slot is taken: (its process, its queued run)."""
    proc = subprocess.Popen([sys.executable, "-m", "netlib", "train", "--model", "residual", "--synthetic", "64",
                             "--batch-size", "32", "--epochs", "1", "--threads", "1"], cwd=REPO,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while not queue_order(runs_dir) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # polls for the run the process puts in line (importing torch takes seconds)
    (run,) = queue_order(runs_dir)
    return proc, run


@pytest.mark.process
def test_train_in_a_terminal_waits_its_turn_in_the_queue_and_ctrl_c_cancels_it(runs_dir):
    holder = occupy(runs_dir)  # every CPU slot taken by a live run
    proc, run = _queued_cli_train(runs_dir)
    free(holder)  # its own pump (every 2 s) gives it the slots
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "queued behind other runs" in err and read_status(run)["status"] == "done"
    shutil.rmtree(runs_dir / "00000000-000000-occupant")
    holder = occupy(runs_dir)
    proc, run = _queued_cli_train(runs_dir)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    free(holder)
    assert proc.returncode == 130 and read_status(run)["status"] == "cancelled"
