"""Following a live run (netlib.runs.follow): each poll gives what read_run gives, reading only what is new."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from netlib.runs import follow, reader
from netlib.runs.files import METRICS
from netlib.runs.follow import Followers, RunFollower, followers
from netlib.runs.reader import read_run
from pages_support import fake_run, lab, open_page  # noqa: F401
from support import assert_clean


@pytest.fixture
def run(lab):
    """A run folder as the engine writes one, still "running" (its process is this test's)."""
    return fake_run(lab, "r", accs=(0.9, 0.95), status="running")


def _append(run_dir: Path, data: bytes) -> None:
    with open(run_dir / METRICS, "ab") as f:
        f.write(data)


def _line(event: dict) -> bytes:
    return (json.dumps(event) + "\n").encode()


def _batch(epoch: int, batch: int) -> dict:
    return {"event": "batch", "epoch": epoch, "batch": batch, "batches": 40, "loss": 0.5, "acc": 0.9, "lr": 1e-3,
            "samples": batch * 125, "seconds": batch * 0.05}


@pytest.fixture
def bytes_read(monkeypatch):
    """How many bytes os.read has returned from each file (by inode), from now on."""
    counts: dict[int, int] = {}
    real = os.read

    def counting(fd, n):
        data = real(fd, n)
        ino = os.fstat(fd).st_ino
        counts[ino] = counts.get(ino, 0) + len(data)
        return data

    monkeypatch.setattr(os, "read", counting)
    return lambda path: counts.get(Path(path).stat().st_ino, 0)


@pytest.fixture
def parses(monkeypatch):
    """How many lines json.loads has been asked to parse, from now on."""
    seen = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda s, *a, **k: seen.append(s) or real(s, *a, **k))
    return seen


def test_each_poll_equals_read_run_as_a_log_grows_in_random_pieces(run):
    """Property-like: a run extended twice (one abandoned epoch, one extension that failed and was cut
    back), appended in pieces of random size (lines split anywhere, a line with no newline yet)."""
    log = run / METRICS
    events = [_batch(3, b) for b in range(1, 30)] + [{"event": "pause", "epoch": 3}, {"event": "resume", "epoch": 3}]
    events += [{"event": "start", "first_epoch": 3, "epochs": 4}] + [_batch(3, b) for b in range(1, 9)]
    events += [{"event": "epoch", "epoch": 3, "test_acc": 0.97}, {"event": "lr_change", "epoch": 4, "lr": 0.1}]
    data = b"".join(_line(e) for e in events) + b"not json\n\n[1, 2]\n" + _line(_batch(4, 1))[:-1]
    rng = random.Random(7)
    for trial in range(3):
        follower = RunFollower(run)
        assert follower.poll() == read_run(run)
        start = log.read_bytes()
        i = 0
        while i < len(data):
            step = rng.choice([1, 2, 7, 40, 300, 2000])
            _append(run, data[i:i + step])
            i += step
            assert follower.poll() == read_run(run), (trial, i)
            assert follower.poll() == read_run(run)  # nothing new
        log.write_bytes(start)  # cut back to where it was: read again from the start
        assert follower.poll() == read_run(run)


def test_a_second_poll_with_nothing_new_reads_and_parses_nothing(run, bytes_read, parses):
    follower = RunFollower(run)
    first = follower.poll()
    size = (run / METRICS).stat().st_size
    assert bytes_read(run / METRICS) == size and len(parses) >= len(first.events)
    parses.clear()
    again = follower.poll()
    assert again == first and bytes_read(run / METRICS) == size
    assert not [p for p in parses if isinstance(p, bytes)]  # status.json and config.json are str, read whole


def test_a_poll_reads_only_the_bytes_appended_since_the_last(run, bytes_read, parses):
    follower = RunFollower(run)
    follower.poll()
    before = bytes_read(run / METRICS)
    parses.clear()
    line = _line(_batch(3, 1))
    _append(run, line)
    info = follower.poll()
    assert bytes_read(run / METRICS) - before == len(line)
    assert [p for p in parses if isinstance(p, bytes)] == [line[:-1]]
    assert info.events[-1] == _batch(3, 1) and info == read_run(run)


def test_a_half_written_line_waits_for_its_newline(run):
    follower = RunFollower(run)
    n = len(follower.poll().events)
    line = _line(_batch(3, 1))
    _append(run, line[:10])
    assert len(follower.poll().events) == n
    _append(run, line[10:])
    assert follower.poll().events[-1] == _batch(3, 1)


def test_a_log_cut_back_and_rewritten_to_a_larger_size_is_read_again(run):
    """+1 epoch that ends before its first epoch: the writer cuts its events away, then appends
    extend_failed, which may leave the log longer than where a follower stopped."""
    follower = RunFollower(run)
    ended = (run / METRICS).stat().st_size
    _append(run, _line({"event": "start", "first_epoch": 3, "epochs": 3}))
    assert follower.poll().start["first_epoch"] == 3
    with open(run / METRICS, "r+b") as f:
        f.truncate(ended)
    _append(run, _line({"event": "extend_failed", "status": "stopped", "reason": "stopped by request " * 5}))
    info = follower.poll()
    assert info == read_run(run) and info.events[-1]["event"] == "extend_failed"
    assert not any(e.get("first_epoch") == 3 for e in info.events)


def test_a_replaced_or_removed_log_is_read_from_its_start(run):
    follower = RunFollower(run)
    follower.poll()
    fresh = run / "new.jsonl"
    fresh.write_bytes(b"".join(_line(_batch(1, b)) for b in range(1, 400)))  # longer than the old log
    os.replace(fresh, run / METRICS)
    assert follower.poll() == read_run(run)
    (run / METRICS).unlink()
    assert follower.poll().events == [] == read_run(run).events


@pytest.mark.parametrize("max_bytes, max_events", [(1000, 10**6), (10**9, 7), (1000, 5)])
def test_a_follower_keeps_read_events_bounds(run, max_bytes, max_events):
    log = run / METRICS
    log.write_bytes(b"")
    follower = RunFollower(run, max_bytes=max_bytes, max_events=max_events)
    for b in range(1, 40):
        _append(run, _line(_batch(1, b)))
        assert follower.poll().events == reader.without_redone_epochs(reader.read_events(log, max_bytes, max_events))
    assert len(follower.poll().events) < 39 and follower.offset <= max_bytes


def test_a_refused_log_reads_as_unreadable_like_read_run(run):
    follower = RunFollower(run)
    follower.poll()
    (run / METRICS).unlink()
    os.mkfifo(run / METRICS)
    info = follower.poll()
    assert info == read_run(run) and info.status == "unreadable"


def test_followers_keep_one_follower_per_watched_run_and_drop_the_others(lab, bytes_read):
    a, b = fake_run(lab, "a", accs=(0.9,)), fake_run(lab, "b", accs=(0.8,))
    state: dict = {}
    store = followers(state)
    assert followers(state) is store and isinstance(state[follow.FOLLOWERS_KEY], Followers)
    assert store.read(a) == read_run(a) and store.read(b) == read_run(b)
    store.watch([b])  # the page watches b alone now: a's follower goes, a is read whole when next read
    line = _line(_batch(2, 1))
    _append(a, line)
    _append(b, line)
    read_a, read_b = bytes_read(a / METRICS), bytes_read(b / METRICS)
    assert store.read(a) == read_run(a) and store.read(b) == read_run(b)
    assert bytes_read(b / METRICS) - read_b == len(line) + (b / METRICS).stat().st_size  # read_run's whole read
    assert bytes_read(a / METRICS) - read_a == 2 * (a / METRICS).stat().st_size


@pytest.mark.parametrize("page", ["app_pages/train.py", "app_pages/compare.py"])
def test_a_page_watching_a_run_reads_only_what_it_appended(run, bytes_read, page):
    """A page rerun (a timer tick) with nothing new reads none of the log; with one new event, that line."""
    at = open_page(page)
    assert_clean(at)
    log = run / METRICS
    before = bytes_read(log)
    at.run()
    assert bytes_read(log) == before
    line = _line(_batch(3, 1))
    _append(run, line)
    at.run()
    assert_clean(at)
    assert bytes_read(log) - before == len(line)
