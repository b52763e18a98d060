"""A sweep the lab wrote, read by another process through Optuna's public API alone (optuna.load_study), as
optuna-dashboard reads it (docs/sweeps.md): every trial with its parameters, value and state."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from netlib.sweeps.storage import JOURNAL

REPO = Path(__file__).resolve().parent.parent
# Three grid points, two of them trained: COMPLETE, COMPLETE and one still WAITING for a worker.
SWEEP = ["--model", "residual", "--lr", "0.01,0.03,0.1", "--epochs", "1", "--synthetic", "256", "--limit", "128",
         "--threads", "1", "--sampler", "grid"]
# What a person's own script does: Optuna only (-I: netlib cannot even be imported), the storage given
# as optuna-dashboard takes it, a journal file's path or a database URL.
READER = """
import json, sys
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
where = sys.argv[1]
storage = where if "://" in where else JournalStorage(JournalFileBackend(where))
study = optuna.load_study(study_name=sys.argv[2], storage=storage)
# a trial no worker has taken yet holds its grid point as the parameters enqueued for it
print(json.dumps([{"number": t.number, "params": t.params or t.system_attrs.get("fixed_params"),
                   "value": t.value, "state": t.state.name} for t in study.trials]))
"""


def netlib(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "netlib", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    return done


def read_with_optuna(where: str, name: str, cwd: Path) -> list[dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NETLIB_OPTUNA_STORAGE")}
    done = subprocess.run([sys.executable, "-I", "-c", READER, where, name], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def lab_trials(env: dict) -> list[dict]:
    """The trials as the lab shows them (sweep show --json)."""
    lines = [json.loads(line) for line in netlib("sweep", "show", "api", "--json", env=env).stdout.splitlines()]
    return lines[:-1]


def assert_same_trials(by_optuna: list[dict], lab: list[dict]) -> None:
    """Optuna's trials are the lab's: numbers, parameters, values and states."""
    assert [t["state"] for t in by_optuna] == ["COMPLETE", "COMPLETE", "WAITING"]
    assert [t["number"] for t in by_optuna] == [t["number"] for t in lab] == [0, 1, 2]
    assert sorted(t["params"]["lr"] for t in by_optuna) == [0.01, 0.03, 0.1]
    for mine, theirs in zip(by_optuna, lab):
        assert mine["state"] == theirs["state"]
        assert theirs["params"].items() <= mine["params"].items()  # the lab shows a waiting trial's as {}
        assert mine["value"] == pytest.approx(theirs["value"])
    assert all(0 <= t["value"] <= 100 for t in by_optuna[:2]) and by_optuna[2]["value"] is None


def make_sweep(env: dict) -> list[dict]:
    netlib("sweep", "create", "api", *SWEEP, env=env)
    netlib("sweep", "work", "api", "--trials", "2", env=env)
    return lab_trials(env)


@pytest.fixture(scope="module")
def journal_sweep(tmp_path_factory) -> tuple[Path, list[dict]]:
    """(the runs folder, the lab's trials) of the sweep "api" in the default storage, the journal file."""
    runs = tmp_path_factory.mktemp("optuna-api") / "runs"
    return runs, make_sweep({"NETLIB_RUNS_DIR": str(runs)})


@pytest.mark.process
def test_a_journal_sweep_reads_with_optuna_alone(journal_sweep, tmp_path):
    runs, lab = journal_sweep
    assert_same_trials(read_with_optuna(str(runs / JOURNAL), "api", tmp_path), lab)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_json(url: str, proc: subprocess.Popen, timeout: float = 60):
    """GET url from the dashboard once it answers (it takes a moment to start)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.loads(r.read())
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"optuna-dashboard did not answer: {proc.stdout.read()}") from None
            time.sleep(0.2)


@pytest.mark.process
def test_optuna_dashboard_opens_the_journal_as_docs_sweeps_md_says(journal_sweep):
    runs, lab = journal_sweep
    doc = (REPO / "docs" / "sweeps.md").read_text()
    assert f"optuna-dashboard runs/{JOURNAL}" in doc  # the file the lab writes, in the default runs folder
    port = free_port()
    proc = subprocess.Popen([shutil.which("optuna-dashboard"), str(runs / JOURNAL), "--port", str(port), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        (study,) = dashboard_json(f"http://127.0.0.1:{port}/api/studies", proc)["study_summaries"]
        assert study["study_name"] == "api"
        trials = dashboard_json(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}", proc)["trials"]
    finally:
        proc.kill()
        proc.wait(timeout=30)
    shown = [{"number": t["number"], "state": t["state"].upper(), "value": (t.get("values") or [None])[0],
              "params": {p["name"]: float(p["param_external_value"]) for p in t["params"] or t["fixed_params"]}}
             for t in trials]
    assert_same_trials(shown, lab)


@pytest.mark.slow
def test_a_postgresql_sweep_reads_with_optuna_alone(tmp_path):
    from postgres import PostgresError, private_postgres, sqlalchemy_url

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(private_postgres())
        except PostgresError as e:  # PostgreSQL missing or not starting: a failure, never a skip
            pytest.fail(str(e), pytrace=False)
        env = {"NETLIB_OPTUNA_STORAGE": url}
        lab = make_sweep(env)
        # SQLAlchemy reads postgresql:// as psycopg2, which is not installed: the URL names psycopg (3)
        assert_same_trials(read_with_optuna(sqlalchemy_url(url), "api", tmp_path), lab)
