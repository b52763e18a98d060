"""Sweeps when things go wrong around them: a reaper looking while a worker claims its trial, a trial the
study ended under its worker, a damaged journal, a run its worker could not train, passwords in URLs."""

from __future__ import annotations

import os
import subprocess

import pytest

from netlib.runs import queue
from netlib.runs.files import CONFIG, STATUS, write_json
from netlib.runs.processes import start_time
from netlib.runs.reader import read_status
from netlib.sweeps import storage as S
from netlib.sweeps import trials as T
from netlib.sweeps.space import SpaceError, SweepSpec
from netlib.sweeps.worker import finish_trial, report_epoch


def new_sweep(runs_dir, name="r", url=None, **space):
    storage = S.open_storage(url, runs_dir)
    T.create(SweepSpec(name=name, model=["residual"], lr=space.pop("lr", [0.01, 0.03]), epochs=[1], **space), storage)
    return T.load(name, storage, with_sampler=True)


def states(study) -> list[str]:
    return [r.state for r in T.rows(study)]


def test_a_trial_is_claimed_in_one_write_and_only_a_gone_worker_is_reaped(runs_dir):
    study, _ = new_sweep(runs_dir)
    mine = T.take(study)
    assert T.reap_lost(study) == []  # taken, not claimed yet, and young: nobody's to fail
    T.claim(mine, runs_dir)
    assert T.worker_of(study.trials[0]) == {"host": T.HOST, "machine": T.MACHINE, "pid": os.getpid(),
                                            "started": start_time(os.getpid()), "runs_dir": str(runs_dir)}
    assert T.reap_lost(study) == [] and states(study)[:2] == ["RUNNING", "WAITING"]
    other = T.take(study)
    sleeper = subprocess.Popen(["sleep", "0"])
    sleeper.wait()
    record = {"host": T.HOST, "machine": T.MACHINE, "pid": sleeper.pid, "started": 1, "runs_dir": str(runs_dir)}
    other.set_user_attr(T.WORKER_ATTR, record)
    assert T.reap_lost(study) == [other.number]  # its worker on this machine has ended
    rows = T.rows(study)
    assert [r.state for r in rows] == ["RUNNING", "FAIL", "WAITING"] and rows[2].retry_of == other.number
    far = {**record, "host": "elsewhere", "machine": "elsewhere/0123"}  # another machine: its heartbeat decides
    T.take(study).set_user_attr(T.WORKER_ATTR, far)
    assert T.reap_lost(study) == [] and not T.rows(study)[2].here


def test_a_trial_the_study_ended_under_its_worker_stops_without_an_error(runs_dir):
    from optuna.trial import TrialState

    study, _ = new_sweep(runs_dir)
    trial = T.take(study)
    T.claim(trial, runs_dir)
    study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)  # a reaper's verdict
    pruned: dict = {}
    report_epoch(trial, {"epoch": 1, "test_acc": 0.5}, 3, pruned)
    assert pruned.get("ended") is True  # training stops; the run says why
    finish_trial(study, trial, "done", "", 0.9, lost=False)  # the worker's own end is dropped, not raised
    assert states(study)[0] == "FAIL" and study.trials[0].value is None


def test_a_storage_that_fails_a_moment_costs_an_epoch_point_not_the_run(runs_dir):
    study, _ = new_sweep(runs_dir)
    trial = T.take(study)

    class Broken:
        def report(self, *_):
            raise OSError("the journal's disk is full")

    pruned: dict = {}
    report_epoch(Broken(), {"epoch": 1, "test_acc": 0.5}, 3, pruned)
    assert pruned == {}
    report_epoch(trial, {"epoch": 1, "test_acc": 0.5}, 3, pruned)
    assert study.trials[0].intermediate_values == {1: 50.0}


def test_a_damaged_journal_is_one_line_and_exit_1(runs_dir, capsys):
    from netlib.cli.main import main

    new_sweep(runs_dir, name="j")
    journal = runs_dir / S.JOURNAL
    journal.write_bytes(b"not json at all\n" + journal.read_bytes())  # a last line cut short is Optuna's to skip
    for args in (["list"], ["show", "j"]):
        code = main(["sweep", *args])
        err = capsys.readouterr().err
        assert code == 1 and "cannot be used" in err and len(err.strip().splitlines()) == 1, err


def test_a_study_without_its_spec_is_not_taken_for_a_sweep(runs_dir):
    import optuna

    storage = S.open_storage(None, runs_dir)
    optuna.create_study(study_name="half", storage=storage)  # another tool's, or one still being created
    with pytest.raises(SpaceError, match="still being created"):
        T.load("half", storage)
    assert T.list_sweeps(storage) == []


def test_a_run_its_worker_could_not_train_never_stays_starting(runs_dir):
    run = runs_dir / "claimed"
    run.mkdir(parents=True)
    write_json(run / CONFIG, {"model": "residual"})
    write_json(run / STATUS, {"status": "starting", "pid": os.getpid(), "started": start_time(os.getpid())})
    queue.end_claimed(run, "RunWriter could not open metrics.jsonl")
    assert read_status(run)["status"] == "failed" and "RunWriter" in read_status(run)["reason"]
    write_json(run / STATUS, {"status": "done", "reason": ""})
    queue.end_claimed(run, "too late")
    assert read_status(run)["status"] == "done"  # an ended run keeps its end


@pytest.mark.parametrize("url,shown", [
    ("postgresql://sweeps:s3cret@db:5432/lab", "postgresql://sweeps:***@db:5432/lab"),
    ("postgresql://sweeps:s3c@ret@db/lab", "postgresql://sweeps:***@db/lab"),  # an '@' in the password
    ("postgresql+psycopg://u:p%40ss@h/lab?sslmode=require", "postgresql+psycopg://u:***@h/lab?sslmode=require"),
    ("postgresql://db/lab?user=u&password=s3cret", "postgresql://db/lab?user=u&password=***"),
    ("postgresql://db:5432/lab", "postgresql://db:5432/lab"),
    ("could not connect to postgresql://u:s3cret@h/db: refused", "could not connect to postgresql://u:***@h/db: refused"),
    ("postgresql://user:pa ss word@host/db", "postgresql://user:***@host/db"),  # spaces
    ("postgresql://u:p@s:s/w#r d@h:5432/lab", "postgresql://u:***@h:5432/lab"),  # '@', ':', '/', '#'
    ("postgresql://u:%20p%40ss%3A%2F@h/lab", "postgresql://u:***@h/lab"),  # percent-escapes
    ("postgresql://u@corp:s3 cret@h/lab", "postgresql://u@corp:***@h/lab"),  # an '@' in the user name
    ("postgresql://:s3 cret@h/lab", "postgresql://:***@h/lab"),  # a password without a user name
    ("postgresql://u@h:5432/lab", "postgresql://u@h:5432/lab"),
    ("postgresql://h/lab?password=pa ss#x&sslmode=require", "postgresql://h/lab?password=***&sslmode=require"),
    ("no connection to postgresql://u:pa ss@h/db: refused", "no connection to postgresql://u:***@h/db: refused"),
    ("postgresql://u:first line\nsecond @ line@h/db", "postgresql://u:***@h/db"),
])
def test_a_password_never_shows(url, shown, tmp_path):
    assert S.hide_password(url) == shown
    assert S.describe(url, tmp_path) == shown  # what a trial run's config.json and the Sweep page show


@pytest.mark.parametrize("password", ["hidden1 hidden2", "hidden1@h:w/d#hidden2", "hidden1%40 hidden2",
                                      "hidden1\nhidden2"])
def test_a_storage_it_cannot_reach_names_it_without_its_password(tmp_path, password):
    url = f"postgresql://sweeps:{password}@127.0.0.1:1/lab"  # nobody listens on port 1
    with pytest.raises(S.StorageError) as e:
        S.open_storage(url, tmp_path)
    message = str(e.value)
    assert "sweeps:***@127.0.0.1:1/lab" in message and len(message.splitlines()) == 1, message
    assert "hidden" not in message, message
