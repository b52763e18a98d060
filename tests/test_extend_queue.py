"""+1 epoch through the run queue: it waits in line like any run, leaves the run as it was until its process
takes the run over, is cancelled or moved first like a queued run, says once why it could not start
(whichever process started it), and `train --extend` in a terminal waits its turn (Ctrl-C cancels it)."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from netlib.cli.main import main
from netlib.engine.loop import TrainConfig
from netlib.lab import launch
from netlib.recipes import RECIPES
from netlib.runs import extension, manage, queue, spawn
from netlib.runs.files import STATUS, TRAIN_STATE
from netlib.runs.notebook import notebook_rows, status_text
from netlib.runs.reader import queue_order, read_run, read_status
from netlib.runs.writer import RunWriter
from support import started_in, stop_children
from test_queue import cli, enqueue, free, occupy

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def two_slots(monkeypatch):
    """NETLIB_SLOTS=2 here and in the processes started; afterwards no training process is left."""
    monkeypatch.setenv(queue.SLOTS_ENV, "2")
    yield
    stop_children()


@pytest.fixture
def recorded_starts(monkeypatch):
    """(run folder, words, extend, process) of each training process the queue starts; a sleeping
    process stands in for each."""
    starts = []

    def start(run_dir, words=None, extend=False):
        starts.append((Path(run_dir), words, extend, subprocess.Popen(["sleep", "60"])))
        return starts[-1][3]
    monkeypatch.setattr(spawn, "start_training", start)
    yield starts
    for *_, proc in starts:
        proc.kill()
        proc.wait()


def ended_run(root: Path, state: bytes = b"state") -> Path:
    """A one-thread run that ended done after 2 epochs, with a train state (what makes it extendable)."""
    config = TrainConfig(model="residual", recipe_name="seed", recipe=RECIPES["seed"], threads=1).to_dict()
    writer = RunWriter(root / "ended", config)
    writer.on_event({"event": "epoch", "epoch": 2, "epochs": 2, "test_acc": 0.9})
    writer.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 2})
    writer.close()
    (writer.dir / TRAIN_STATE).write_bytes(state)
    return writer.dir


def until(what: str, done, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_plus_one_epoch_waits_in_line_behind_an_earlier_run_and_starts_when_slots_free(runs_dir,
                                                                                         recorded_starts):
    run = ended_run(runs_dir)
    before = (run / STATUS).read_bytes()
    holder = occupy(runs_dir)  # every slot taken by a live run
    (first,) = enqueue(runs_dir, threads=2)
    queue.extend(run, 1, 0.01)
    assert queue_order(runs_dir) == [first, run] and queue.position(run) == 2
    assert read_run(run).queue_position == 2 and not launch.can_extend(read_run(run))
    with pytest.raises(ValueError, match="already"):
        queue.extend(run, 1, 0.01)  # one +1 epoch of a run at a time
    free(holder)
    assert queue.pump(runs_dir) == [first]  # first come, first served: it takes both slots
    assert queue.position(run) == 1 and not launch.extension_starting(run)
    assert (run / STATUS).read_bytes() == before  # still "done, 2 epochs" while it waits
    free(recorded_starts[0][3])  # the first run's process ends: its slots are free
    assert queue.pump(runs_dir) == [run]
    assert recorded_starts[1][:3] == (run, None, True)  # its process reads what to train from extension.json
    assert {k: extension.look(run).record[k] for k in ("epochs", "lr")} == {"epochs": 1, "lr": 0.01}
    assert launch.extension_starting(run) and queue.position(run) is None
    assert queue.pump(runs_dir) == []  # started once: the next pump counts its slot, starts nothing
    assert (run / STATUS).read_bytes() == before  # until its process takes the run over


def test_a_waiting_plus_one_epoch_is_listed_moved_first_and_cancelled_leaving_the_run_as_it_was(runs_dir, capsys):
    run = ended_run(runs_dir)
    before = (run / STATUS).read_bytes()
    holder = occupy(runs_dir)
    (first,) = enqueue(runs_dir, threads=2)
    queue.extend(run, 1, 0.01)
    (row,) = [r for r in notebook_rows(runs_dir) if r.name == run.name]
    assert status_text(row) == "done, +1 epoch queued, position 2"  # the Runs page and `runs list`
    assert main(["queue", "--json", "--runs-dir", str(runs_dir)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["position"], r["name"], r.get("extend")) for r in rows] == [(1, first.name, None), (2, run.name, 1)]
    assert main(["queue", "front", run.name, "--runs-dir", str(runs_dir)]) == 0
    assert queue_order(runs_dir) == [run, first]
    assert main(["queue", "cancel", run.name, "--runs-dir", str(runs_dir)]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert queue.position(run) is None and queue_order(runs_dir) == [first]
    assert not queue.cancel(run) and not queue.to_front(run)  # nothing of it waits any more
    assert launch.can_extend(read_run(run)) and (run / STATUS).read_bytes() == before
    assert read_status(first)["status"] == "queued" and not started_in(runs_dir)
    free(holder)


def test_a_run_asked_through_a_symlink_is_in_line_once_under_its_own_name(runs_dir, recorded_starts):
    run = ended_run(runs_dir)
    holder = occupy(runs_dir)
    (runs_dir / "zz-link").symlink_to(run.name)
    queue.extend(runs_dir / "zz-link", 1, 0.01)
    with pytest.raises(ValueError, match="already"):
        queue.extend(run, 1, 0.01)  # the same run under its own name
    assert queue_order(runs_dir) == [run]
    free(holder)
    assert queue.pump(runs_dir) == [run] and [s[0] for s in recorded_starts] == [run]



def test_a_run_whose_plus_one_epoch_waits_or_starts_is_not_deleted_until_it_is_cancelled(runs_dir, recorded_starts):
    run = ended_run(runs_dir)
    holder = occupy(runs_dir)
    queue.extend(run, 1, 0.01)
    with pytest.raises(manage.RunRefused, match="in line: cancel it first"):
        manage.delete(runs_dir, run.name)
    free(holder)
    assert queue.pump(runs_dir) == [run] and launch.extension_starting(run)
    with pytest.raises(manage.RunRefused, match="starting"):
        manage.delete(runs_dir, run.name)  # its process is about to train into this folder
    deleted, _, refused = manage.prune(runs_dir, manage.prune_plan(runs_dir, older_than_days=0, now=2e9))
    assert run.name not in deleted and [r for r in refused if run.name in r] and run.is_dir()


def test_a_plus_one_epoch_with_more_threads_holds_them_once_it_runs(runs_dir, recorded_starts):
    run = ended_run(runs_dir)  # trained with 1 thread
    writer = RunWriter(run, read_run(run).config, extending=True, holds={"threads": 2, "device": "cpu"})
    try:  # this process trains its +1 epoch with 2 threads: both slots are taken
        (waiting,) = enqueue(runs_dir, threads=1)
        assert queue.pump(runs_dir) == [] and queue.position(waiting) == 1
    finally:
        writer.on_event({"event": "end", "status": "stopped", "reason": "", "epochs_completed": 0})
        writer.close()
    assert queue.pump(runs_dir) == [waiting]

@pytest.mark.process
def test_a_plus_one_epoch_that_fails_before_taking_over_is_said_once_whoever_started_it(runs_dir):
    run = ended_run(runs_dir, state=b"not a torch file\n")
    before = (run / STATUS).read_bytes()
    holder = occupy(runs_dir)
    queue.extend(run, 1, 0.01)  # waits: nothing is started by this process
    free(holder)
    out = cli("queue", "--runs-dir", str(runs_dir))  # another process's pump starts it
    assert out.returncode == 0, out.stderr
    until("the +1 epoch's process to end", lambda: not launch.extension_starting(run) and not queue.position(run))
    assert not started_in(runs_dir)
    said = launch.extension_error(run)
    assert said and said.startswith("+1 epoch could not start: cannot read ") and TRAIN_STATE in said, said
    assert launch.extension_error(run) is None  # said once
    assert (run / STATUS).read_bytes() == before and launch.can_extend(read_run(run))


def test_saying_a_failure_never_removes_a_plus_one_epoch_asked_meanwhile(runs_dir, monkeypatch):
    """Tab 1 says why the last +1 epoch could not start while tab 2 asks a new one: the new one stays."""
    run = ended_run(runs_dir)
    extension.fail(run, "+1 epoch could not start: boom")
    looked, asked = threading.Event(), threading.Event()
    real_look = extension.look

    def look(d):  # tab 2 asks right after tab 1 has seen the failure
        pending = real_look(d)
        if not looked.is_set():
            looked.set()
            assert asked.wait(30)
        return pending
    monkeypatch.setattr(extension, "look", look)

    def tab_two():
        with queue.locked(runs_dir):
            looked.wait(30)
            extension.ask(run, 1, 0.01, None, None)
            asked.set()
    other = threading.Thread(target=tab_two)
    other.start()
    said = launch.extension_error(run)
    other.join(30)
    assert said is None and real_look(run).state == extension.WAITING and queue.position(run) == 1


def _ctrl_c_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # an xdist worker ignores SIGINT, and children inherit that


def _extend_in_a_terminal(run: Path, procs: list) -> subprocess.Popen:
    """`python -m netlib train --extend RUN` while every slot is taken (added to procs): once it waits in line."""
    proc = subprocess.Popen([sys.executable, "-m", "netlib", "train", "--extend", str(run), "--threads", "1"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    procs.append(proc)
    ready, _, _ = select.select([proc.stderr], [], [], 180)  # it says it waits once it is in line
    assert ready and "queued behind" in proc.stderr.readline() and queue.position(run) == 1
    return proc


@pytest.mark.process
def test_train_extend_in_a_terminal_waits_its_turn_and_ctrl_c_cancels_it(runs_dir):
    run = runs_dir / "r"
    assert main(["train", "--model", "residual", "--recipe", "seed", "--synthetic", "64", "--epochs", "1",
                 "--batch-size", "32", "--threads", "1", "--quiet", "--run-dir", str(run)]) == 0
    before = (run / STATUS).read_bytes()
    holder, procs = occupy(runs_dir), []
    try:
        _extend_in_a_terminal(run, procs).send_signal(signal.SIGINT)
        _, err = procs[0].communicate(timeout=120)
        assert procs[0].returncode == 130, err
        assert queue.position(run) is None and (run / STATUS).read_bytes() == before
        assert launch.can_extend(read_run(run))
        _extend_in_a_terminal(run, procs)
        free(holder)  # its own pump gives it the slots
        _, err = procs[1].communicate(timeout=300)
        assert procs[1].returncode == 0, err
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    status = read_status(run)
    assert (status["status"], status["epoch"]) == ("done", 2) and queue.position(run) is None
