"""A sweep's workers are judged alive by that sweep's own heartbeat interval, whatever other sweeps in the
same storage were looked at through the same storage object (the dashboard's pages share one)."""

from __future__ import annotations

import sqlite3

from netlib.sweeps import storage as S
from netlib.sweeps import trials as T
from netlib.sweeps.space import SweepSpec

FAR = {"host": "elsewhere", "machine": "elsewhere/0123", "pid": 1, "started": 1, "runs_dir": "/far/runs"}


def sweep_beating_every(storage, name: str, seconds: int, monkeypatch):
    """A new sweep whose heartbeat interval is `seconds`, and its first trial taken by a worker on another
    machine (only its heartbeat tells whether it lives): (study, the trial's id in the database)."""
    monkeypatch.setenv(S.HEARTBEAT_ENV, str(seconds))
    T.create(SweepSpec(name=name, model=["residual"], lr=[0.01, 0.03], epochs=[1]), storage)
    monkeypatch.delenv(S.HEARTBEAT_ENV)
    study, _ = T.load(name, storage)
    trial = T.take(study)
    trial.set_user_attr(T.WORKER_ATTR, FAR)
    storage.record_heartbeat(trial._trial_id)
    return study, trial._trial_id


def last_beat_ago(db, trial_id: int, seconds: int) -> None:
    """The trial's last heartbeat, moved `seconds` into the past (by the database's clock, as it is written)."""
    with sqlite3.connect(db) as c:
        changed = c.execute("UPDATE trial_heartbeats SET heartbeat = datetime('now', ?) WHERE trial_id = ?",
                            (f"-{seconds} seconds", trial_id)).rowcount
    assert changed == 1


def state(study) -> str:
    return T.rows(study)[0].state


def test_a_sweep_is_judged_by_its_own_heartbeat_not_by_the_sweep_looked_at_last(tmp_path, monkeypatch):
    db = tmp_path / "sweeps.db"
    storage = S.open_storage(f"sqlite:///{db}", tmp_path)  # one object for every look
    slow, slow_id = sweep_beating_every(storage, "slow", 60, monkeypatch)
    fast, fast_id = sweep_beating_every(storage, "fast", 2, monkeypatch)
    for trial_id in (slow_id, fast_id):
        last_beat_ago(db, trial_id, 20)
    T.load("slow", storage)
    T.load("fast", storage)  # another tab shows the 2 s sweep
    T.reap_lost(slow)
    assert state(slow) == "RUNNING"  # 20 s is not 3 missed beats of 60 s
    assert T.heartbeat_of(slow) == 60 and T.heartbeat_of(fast) == 2
    T.reap_lost(fast)
    assert state(fast) == "FAIL"  # it is 3 missed beats of 2 s
    assert [r.retry_of for r in T.rows(fast)] == [None, None, 0]
    last_beat_ago(db, slow_id, 200)
    T.load("fast", storage)
    T.reap_lost(slow)
    assert state(slow) == "FAIL" and "heartbeat" in T.rows(slow)[0].reason


def test_the_heartbeat_interval_is_the_studys_own(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    sweep_beating_every(S.open_storage(url, tmp_path), "h", 7, monkeypatch)
    study, _ = T.load("h", S.open_storage(url, tmp_path))  # a page or worker without the variable
    assert T.heartbeat_of(study) == 7
    monkeypatch.setenv(S.HEARTBEAT_ENV, "not a number")
    assert S.heartbeat_s() == S.DEFAULT_HEARTBEAT_S
