"""The run queue under faults: bad CLI names, failed status writes, racing reapers, symlinked, config-less
and deleted run folders, --runs-dir pumping and a lesson's pair enqueued together."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import threading

import pytest

from netlib.cli.main import main
from netlib.lab import launch, lesson_runs
from netlib.runs import queue, spawn
from support import started_in
from netlib.runs.files import CONFIG, STATUS
from netlib.runs.reader import queue_order, read_status, run_index
from test_queue import enqueue, free, occupy, two_slots, wait_status  # noqa: F401  two_slots: autouse fixture


def test_queue_names_that_are_not_one_run_folder_exit_2_and_write_nothing_outside(runs_dir, tmp_path, capsys):
    holder = occupy(runs_dir)
    enqueue(runs_dir)
    before = sorted(p.name for p in tmp_path.iterdir())
    for action in ("cancel", "front"):
        for name in (".", "..", "a/b", " . "):
            assert main(["queue", action, name]) == 2, (action, name)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .queue.lock beside the runs folder
    assert not (tmp_path / ".queue.lock").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 8 and all(line.startswith("netlib: error: ") for line in err), err
    free(holder)


class Recorder:
    """subprocess.Popen that remembers the processes it made."""

    def __init__(self, real):
        self.real, self.made = real, []

    def __call__(self, *args, **kwargs):
        self.made.append(self.real(*args, **kwargs))
        return self.made[-1]


def _failing_writes(monkeypatch, fails):
    real = queue.write_json

    def write(path, obj):
        if path.name == STATUS and fails(obj):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, obj)
    monkeypatch.setattr(queue, "write_json", write)


def queued_with_recorded_popen(runs_dir, monkeypatch):
    """One queued run that fits now, and a Popen that records the processes a pump makes."""
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    free(holder)
    popen = Recorder(subprocess.Popen)
    monkeypatch.setattr(subprocess, "Popen", popen)
    return d, popen


def test_a_failed_pid_write_kills_the_child_fails_the_run_and_never_starts_it_twice(runs_dir, monkeypatch):
    d, popen = queued_with_recorded_popen(runs_dir, monkeypatch)
    _failing_writes(monkeypatch, lambda obj: obj.get("pid") not in (None, os.getpid()))  # the child's pid
    assert queue.pump(runs_dir) == []  # no exception reaches the caller
    assert len(popen.made) == 1 and popen.made[0].poll() is not None  # started, then killed
    status = read_status(d)
    assert status["status"] == "failed" and "could not be started" in status["reason"], status
    assert queue.pump(runs_dir) == [] and len(popen.made) == 1 and not started_in(runs_dir)


def test_a_status_that_cannot_be_written_starts_nothing_and_pump_does_not_raise(runs_dir, monkeypatch):
    d, popen = queued_with_recorded_popen(runs_dir, monkeypatch)
    _failing_writes(monkeypatch, lambda obj: True)  # a full disk: "starting" cannot be written
    assert queue.pump(runs_dir) == [] and popen.made == []
    assert read_status(d)["status"] == "queued"  # it starts (once) when the disk has room again
    monkeypatch.setattr(queue, "run_index", lambda root: 1 / 0)
    assert queue.pump(runs_dir) == []


def test_eight_threads_reaping_the_same_processes_do_not_crash_and_keep_their_exits(runs_dir):
    dirs = [runs_dir / f"r{i}" for i in range(6)]
    for d in dirs:
        spawn.start_training(d, ["--bogus"])  # a usage error: exit 2 at once
    errors = []

    def reap_until_all_ended():
        try:
            while any(spawn.exit_code(d) is None for d in dirs):
                spawn.reap()
        except Exception as e:  # noqa: BLE001  what the test looks for
            errors.append(e)
    threads = [threading.Thread(target=reap_until_all_ended) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and [spawn.exit_code(d) for d in dirs] == [2] * 6  # reaped, how each ended kept
    assert not any(str(d) in spawn.running() for d in dirs)


@pytest.fixture
def recorded_starts(monkeypatch):
    """The run folders the queue starts a training process for; a sleeping process stands in for each
    (never this one: a status naming the test's own pid would let a stop signal it)."""
    starts, procs = [], []

    def start(run_dir, words=None, extend=False):
        starts.append(run_dir)
        procs.append(subprocess.Popen(["sleep", "60"]))
        return procs[-1]
    monkeypatch.setattr(spawn, "start_training", start)
    yield starts
    for p in procs:
        p.kill()
        p.wait()


def test_a_symlinked_run_folder_is_started_once(runs_dir, recorded_starts):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir, threads=1)  # two 1-thread runs would fit the 2 slots: both would start
    os.symlink(d.name, runs_dir / "zz-link")
    free(holder)
    assert queue.pump(runs_dir) == [d] and recorded_starts == [d]


@pytest.mark.parametrize("config", [None, b"not json {"], ids=["missing", "corrupt"])
def test_a_queued_run_without_a_readable_config_fails_instead_of_waiting(runs_dir, recorded_starts, config):
    holder = occupy(runs_dir)
    a, b = enqueue(runs_dir, 2, threads=1)
    (a / CONFIG).unlink()
    if config is not None:
        (a / CONFIG).write_bytes(config)
    free(holder)
    assert queue.pump(runs_dir) == [b] and recorded_starts == [b]
    status = read_status(a)
    assert status["status"] == "failed" and "config.json is missing or unreadable" in status["reason"]
    assert queue_order(runs_dir) == [] and read_status(b)["status"] == "starting"


def test_queue_writes_never_make_a_deleted_run_folder_again(runs_dir, monkeypatch):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    stale = run_index(runs_dir)  # read before the folder is deleted by hand
    shutil.rmtree(d)
    assert not queue.cancel(d) and not queue.to_front(d)
    queue.end_claimed(d, "x")
    free(holder)
    monkeypatch.setattr(queue, "run_index", lambda root: stale)
    monkeypatch.setattr(queue, "queue_order", lambda root: [d])
    assert queue.pump(runs_dir) == []
    assert not d.exists() and not started_in(runs_dir)


@pytest.mark.parametrize("command", [["runs", "list"], ["queue"]])
def test_a_cli_call_pumps_the_runs_folder_it_works_on(runs_dir, tmp_path, monkeypatch, command):
    other = tmp_path / "other"
    other.mkdir()
    runs_dir.mkdir()
    pumped = []
    monkeypatch.setattr(queue, "pump", lambda root=None, index=None: pumped.append(root) or [])
    assert main([*command, "--runs-dir", str(other)]) == 0
    assert pumped and all(p == other for p in pumped), pumped


def test_a_lessons_pair_is_enqueued_together(runs_dir, monkeypatch):
    holder = occupy(runs_dir)
    calls = []
    real = queue.enqueue
    monkeypatch.setattr(queue, "enqueue", lambda root, reqs, tag="": calls.append(len(reqs)) or real(root, reqs, tag))
    dirs = lesson_runs.start_runs("naive-speed", runs_dir)
    assert calls == [2] and [str(d) for d in queue_order(runs_dir)] == dirs
    free(holder)


def test_the_pages_say_what_a_run_no_longer_queued_is_now(runs_dir, monkeypatch):
    from app_pages import _queue

    holder = occupy(runs_dir)
    a, b = enqueue(runs_dir, 2)
    said = []
    monkeypatch.setattr(_queue.st, "toast", said.append)
    queue.cancel(a)
    _queue.cancel(a)
    _queue.front(a)
    shutil.rmtree(b)
    _queue.cancel(b)
    assert said == [f"{a.name} is no longer queued: it is cancelled."] * 2 + [f"{b.name} is no longer queued: it is deleted."]
    free(holder)


@pytest.mark.process
def test_a_process_that_fails_before_training_frees_its_slots_for_the_run_behind_it(runs_dir):
    holder = occupy(runs_dir)
    first, second = enqueue(runs_dir, 2, threads=2)  # each takes both slots: one after the other
    os.mkfifo(first / "metrics.jsonl")  # its process refuses the folder before its writer opens
    free(holder)
    assert queue.pump(runs_dir) == [first]
    spawn.child(first).proc.wait(timeout=120)
    status = read_status(first)
    assert status["status"] == "failed" and "metrics.jsonl" in status["reason"], status
    # no pump by this process since: the failed process's own pump found its slots free
    ended = wait_status(second, ("done", "failed", "stopped", "interrupted"))
    assert ended["status"] == "done", ended
