"""Sweeps on a real PostgreSQL server (tests/postgres.py starts a private one): shared trials, lost workers, bad URLs."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postgres import PASSWORD, PostgresError, free_port, private_postgres, sqlalchemy_url

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
GRID = ["--model", "residual", "--lr", "0.01,0.03", "--batch-size", "32,64", "--epochs", "2", "--limit", "256",
        "--synthetic", "256", "--threads", "1", "--sampler", "grid"]


@pytest.fixture(scope="module")
def postgres_url():
    """postgresql://netlib:netlib-test@127.0.0.1:PORT/sweeps on a server of this module's own."""
    with contextlib.ExitStack() as stack:
        try:
            url, error = stack.enter_context(private_postgres()), ""
        except PostgresError as e:  # PostgreSQL missing or not starting: a failure, never a skip
            error = str(e)
        if error:
            pytest.fail(error, pytrace=False)
        yield url


def test_optuna_keeps_a_study_and_a_trial_in_the_private_server(postgres_url):
    import optuna

    storage = optuna.storages.RDBStorage(sqlalchemy_url(postgres_url))
    study = optuna.create_study(study_name="fixture-check", storage=storage)
    trial = study.ask()
    study.tell(trial, 0.5)
    again = optuna.load_study(study_name="fixture-check", storage=sqlalchemy_url(postgres_url))
    assert [(t.number, t.state, t.value) for t in again.trials] == [(0, optuna.trial.TrialState.COMPLETE, 0.5)]


def test_a_wrong_password_is_refused(postgres_url):
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_url.replace(PASSWORD, "wrong"), connect_timeout=5).close()


def netlib(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netlib", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def start_worker(name: str, url: str, runs_dir: Path) -> subprocess.Popen:
    """`sweep work NAME` in its own process (one machine's worker: its own runs folder), output in a file."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    log = open(runs_dir.parent / f"{runs_dir.name}.log", "w")
    with log:
        return subprocess.Popen([sys.executable, "-m", "netlib", "sweep", "work", name, "--storage", url,
                                 "--runs-dir", str(runs_dir)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "OMP_NUM_THREADS": "1"})


def finish(worker: subprocess.Popen, timeout: float) -> int:
    try:
        return worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise


def show(name: str, url: str) -> tuple[list[dict], dict]:
    """`sweep show NAME --json`: (one dict per trial, the final {"best": ...})."""
    out = netlib("sweep", "show", name, "--storage", url, "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines and set(lines[-1]) == {"best"}, out.stdout[-2000:]
    return lines[:-1], lines[-1]


def test_two_workers_on_two_machines_share_a_grid(postgres_url, tmp_path):
    out = netlib("sweep", "create", "grid", *GRID, "--storage", postgres_url)
    assert out.returncode == 0, out.stderr[-2000:]
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    workers = [start_worker("grid", postgres_url, d) for d in machines]
    codes = [finish(w, timeout=150) for w in workers]
    logs = [(d.parent / f"{d.name}.log").read_text() for d in machines]
    assert codes == [0, 0], logs
    rows, best = show("grid", postgres_url)
    assert [r["state"] for r in rows] == ["COMPLETE"] * 4, rows
    points = sorted((r["params"]["lr"], r["params"]["batch_size"]) for r in rows)
    assert points == [(0.01, 32), (0.01, 64), (0.03, 32), (0.03, 64)]  # each grid point once: disjoint
    taken = {d: 0 for d in machines}
    for r in rows:
        where = [d for d in machines if (d / r["run"]).is_dir()]
        assert len(where) == 1, f"trial {r['number']}'s run {r['run']} is in {where}"
        assert json.loads((where[0] / r["run"] / "status.json").read_text())["status"] == "done"
        assert r["runs_dir"] == str(where[0].resolve())
        taken[where[0]] += 1
    assert sum(f"trial {r['number']}: complete" in "".join(logs) for r in rows) == 4
    assert best["best"]["number"] == max(rows, key=lambda r: (r["value"], -r["number"]))["number"]
    # Not asserted: that each machine took some. Both load their data before taking a trial, then a trial
    # takes 0.4-2 s: a worker that starts 3 s late (a busy 2-core machine) may find the grid done.
    print(f"trials per machine: {list(taken.values())}")


def wait_for(find, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := find():
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout:g} s")


def training_run(runs_dir: Path):
    """A run folder under runs_dir whose status.json says running (its trial is training), else None."""
    for status in runs_dir.glob("*/status.json"):
        with contextlib.suppress(OSError, ValueError):
            if json.loads(status.read_text()).get("status") == "running":
                return status.parent
    return None


def test_a_killed_worker_s_trial_fails_and_is_retried(postgres_url, tmp_path):
    long = ["--model", "residual", "--lr", "0.01,0.03", "--epochs", "30", "--limit", "2048", "--synthetic", "2048",
            "--threads", "1"]
    assert netlib("sweep", "create", "lost", *long, "--storage", postgres_url).returncode == 0
    worker = start_worker("lost", postgres_url, tmp_path / "machine")
    try:
        run = wait_for(lambda: training_run(tmp_path / "machine"), 60, "trial training")
        rows, _ = show("lost", postgres_url)
        assert [r["state"] for r in rows] == ["RUNNING", "WAITING"], rows
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    rows, best = show("lost", postgres_url)  # a look at the sweep fails the trial of a worker gone from here
    lost = next(r for r in rows if r["run"] == run.name)
    assert lost["state"] == "FAIL" and str(worker.pid) in lost["reason"], lost
    assert "RUNNING" not in [r["state"] for r in rows], rows
    retry = [r for r in rows if r["retry_of"] == lost["number"]]
    assert [r["state"] for r in retry] == ["WAITING"], rows  # enqueued once more, with the same parameters
    from netlib.sweeps.trials import load
    from netlib.sweeps.storage import open_storage

    study, _ = load("lost", open_storage(postgres_url, tmp_path))
    fixed = {t.number: t.system_attrs.get("fixed_params") for t in study.trials}
    assert fixed[retry[0]["number"]] == fixed[lost["number"]] == {"lr": lost["params"]["lr"]}, fixed
    assert best == {"best": None}


def test_a_trial_on_a_machine_that_stops_beating_fails_after_the_grace_period(postgres_url, tmp_path, monkeypatch):
    """Another machine's worker cannot be looked up by process: Optuna's heartbeat tells it is gone."""
    from netlib.sweeps import storage as S, trials as T
    from netlib.sweeps.space import SweepSpec
    from netlib.sweeps.worker import suggest

    monkeypatch.setenv(S.HEARTBEAT_ENV, "3")  # a beat every 3 s; stale after 3 missed ones: 9 s
    storage = S.open_storage(postgres_url, tmp_path)
    T.create(SweepSpec(name="far", model=["residual"], lr=[0.01, 0.03], epochs=[1]), storage)
    study, spec = T.load("far", storage, with_sampler=True)
    trial = T.take(study)  # what a worker elsewhere does, up to its first heartbeat; then it goes silent
    params = suggest(trial, spec)
    trial.set_user_attr(T.WORKER_ATTR, {"host": "another-machine", "machine": "another-machine/42", "pid": 1,
                                        "started": 1, "runs_dir": "/far/runs"})
    trial.set_user_attr("run", "far-run")
    study._storage.record_heartbeat(trial._trial_id)
    silent_since = time.monotonic()
    rows, _ = show("far", postgres_url)
    if time.monotonic() - silent_since < 3 * 3:  # read before the beats were missed (a loaded machine may be slower)
        assert rows[trial.number]["state"] == "RUNNING", rows  # pid 1 is alive here, and no matter: another host
    time.sleep(max(0.0, silent_since + 3 * 3 + 1 - time.monotonic()))
    rows, _ = show("far", postgres_url)
    assert rows[trial.number]["state"] == "FAIL", rows
    retry = [r for r in rows if r["retry_of"] == trial.number]
    assert [r["state"] for r in retry] == ["WAITING"], rows  # enqueued once more, with the same parameters
    fixed = {t.number: t.system_attrs.get("fixed_params") for t in study.trials}
    assert fixed[retry[0]["number"]] == params, fixed


@pytest.mark.parametrize("where", ["wrong password", "nobody listening"])
def test_a_storage_it_cannot_use_is_one_line_and_creates_nothing(postgres_url, runs_dir, where):
    import optuna

    secret = "s3cret-not-the-password"
    url = postgres_url.replace(PASSWORD, secret)
    if where == "nobody listening":
        port = postgres_url.rsplit(":", 1)[1].split("/")[0]
        url = url.replace(f":{port}/", f":{free_port()}/")
    out = netlib("sweep", "create", "bad", *GRID, "--storage", url, timeout=60)
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert out.stderr.startswith("netlib: error: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert secret not in out.stderr + out.stdout and "***" in out.stderr, out.stderr
    assert out.stdout == ""
    assert "bad" not in optuna.get_all_study_names(storage=sqlalchemy_url(postgres_url))
    assert not (runs_dir / ".sweeps").exists()  # no journal file instead
