"""The run queue: slots, order, statuses, one starter per run under a race, restarts, SIGKILL, cancel and
front, hostile queued.json files, the CLI (submit, queue) and the Train page's queued view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netlib.cli.main import main
from netlib.engine.setup import train_config
from netlib.request import RunRequest
from netlib.lab import launch
from netlib.runs import queue, spawn
from support import started_in
from netlib.runs.files import CONFIG, QUEUED_FILE, STATUS, write_json
from netlib.runs.processes import same_process, start_time
from netlib.runs.reader import queue_order, read_run, read_status, run_index

REPO = Path(__file__).resolve().parent.parent
TINY = {"model": "residual", "epochs": 1, "synthetic": 300, "limit": 300, "device": "cpu"}


@pytest.fixture(autouse=True)
def two_slots(monkeypatch, runs_dir):
    """NETLIB_SLOTS=2 (in this process and the ones it starts); afterwards no process of a run is left."""
    monkeypatch.setenv(queue.SLOTS_ENV, "2")
    yield
    for proc in spawn.children().values():
        proc.kill()
        proc.wait(timeout=30)
    for d in runs_dir.glob("*") if runs_dir.is_dir() else []:
        status = read_status(d) or {}
        if status.get("pid") not in (None, os.getpid()) and same_process(status.get("pid"), status.get("started")):
            os.kill(status["pid"], signal.SIGKILL)


def occupy(root: Path, threads=None) -> subprocess.Popen:
    """A run holding CPU slots (no thread count: all of them): status running, its process a real sleep."""
    proc = subprocess.Popen(["sleep", "300"])
    d = root / "00000000-000000-occupant"
    d.mkdir(parents=True)
    write_json(d / CONFIG, {"model": "residual", "recipe_name": "fast", "threads": threads, "device": "cpu"})
    write_json(d / STATUS, {"status": "running", "reason": "", "pid": proc.pid, "started": start_time(proc.pid)})
    return proc


def free(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)


def enqueue(root: Path, n: int = 1, threads=2, **options) -> list[Path]:
    req = RunRequest(**{**TINY, "threads": threads, **options})
    config = train_config(req).to_dict()
    return queue.submit(root, [queue.Submission("run", req, config) for _ in range(n)])


def wait_status(run_dir: Path, wanted, timeout: float = 180) -> dict:
    wanted = (wanted,) if isinstance(wanted, str) else wanted
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = read_status(run_dir) or {}
        if status.get("status") in wanted:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{run_dir.name} never {wanted}: {read_status(run_dir)}")


def cli(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netlib", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------- rules
def test_slots_come_from_the_environment_and_bad_values_take_the_default(monkeypatch):
    for text, expected in (("3", 3), ("abc", os.cpu_count()), ("0", os.cpu_count()), ("-2", os.cpu_count()),
                           ("", os.cpu_count()), ("1e3", os.cpu_count())):
        monkeypatch.setenv(queue.SLOTS_ENV, text)
        assert queue.cpu_slots() == expected, text
    monkeypatch.setenv(queue.SLOTS_ENV, "4")
    assert queue.need(1, "cpu") == (1, 0) and queue.need(None, "cpu") == (4, 0)  # no thread count: all
    assert queue.need(16, "cpu") == (4, 0)  # more than the machine: all, never waits for ever
    assert queue.need(2, "cuda") == (0, 1) and queue.gpu_slots() == queue.DEFAULT_GPU_SLOTS


def test_a_queued_run_is_neither_live_nor_failed_and_lists_with_its_position(runs_dir):
    holder = occupy(runs_dir)
    dirs = enqueue(runs_dir, 3)
    assert [read_status(d)["status"] for d in dirs] == ["queued"] * 3  # read_status never "interrupted"
    entries = {e.name: e for e in run_index(runs_dir)}
    assert [entries[d.name].queue_position for d in dirs] == [1, 2, 3]
    assert all(entries[d.name].waiting and not entries[d.name].live for d in dirs)
    info = read_run(dirs[1])
    assert info.queue_position == 2 and info.network == "Residual" and info.config["threads"] == 2
    assert queue_order(runs_dir) == dirs and queue.position(dirs[2]) == 3
    free(holder)


def test_cancel_and_to_front(runs_dir):
    holder = occupy(runs_dir)
    a, b, c = enqueue(runs_dir, 3)
    assert queue.to_front(c) and queue_order(runs_dir) == [c, a, b]
    assert queue.cancel(a)
    assert read_status(a)["status"] == "cancelled" and queue.position(a) is None and a.is_dir()
    assert queue_order(runs_dir) == [c, b] and [queue.position(d) for d in (c, b)] == [1, 2]
    assert not queue.cancel(a) and not queue.to_front(a)  # no longer queued
    assert not started_in(runs_dir)  # the slots were held all along: nothing started
    free(holder)


def test_a_starting_run_whose_process_is_gone_reads_failed_with_its_log(runs_dir):
    d = runs_dir / "r"
    d.mkdir(parents=True)
    (d / "process.log").write_text("netlib: error: argument --model: invalid choice: 'x'\n")
    proc = subprocess.Popen(["true"])
    proc.wait()
    write_json(d / STATUS, {"status": "starting", "reason": "", "pid": proc.pid, "started": 1})
    status = read_status(d)
    assert status["status"] == "failed" and "invalid choice" in status["reason"]


@pytest.mark.parametrize("content", [
    b"not json {", b"[1, 2]", b'{"argv": "--model residual; touch MARK"}',
    json.dumps({"argv": ["--model", "residual", "--save", "MARK"]}).encode(),
    json.dumps({"argv": ["--model", "residual", "--data-dir", "/etc"]}).encode(),
    json.dumps({"argv": ["--model", "../MARK"]}).encode(),
    json.dumps({"argv": ["--model", "--save", "--recipe", "MARK"]}).encode(),
    json.dumps({"argv": ["-c", "open('MARK', 'w')"]}).encode(),
    json.dumps({"argv": ["--model", "residual"] + ["--seed", "1"] * 40}).encode(),
    b'{"argv": [' + b'"--seed", "1", ' * 150_000 + b'"--model", "residual"]}',  # over 1 MB
    "fifo",
], ids=["not-json", "a-list", "a-string", "save", "data-dir", "path-value", "option-as-value", "python-c",
        "too-many-words", "huge", "fifo"])
def test_a_hostile_queued_json_is_refused_and_nothing_runs(runs_dir, content, tmp_path):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    (d / QUEUED_FILE).unlink()
    if content == "fifo":
        os.mkfifo(d / QUEUED_FILE)
    else:
        (d / QUEUED_FILE).write_bytes(content.replace(b"MARK", str(tmp_path / "marker").encode()))
    free(holder)
    assert queue.pump(runs_dir) == []
    status = read_status(d)
    assert status["status"] == "failed" and status["reason"].startswith("refused to start from the queue: ")
    assert "\n" not in status["reason"] and not started_in(runs_dir) and not (tmp_path / "marker").exists()


def test_cli_refuses_paths_and_bad_names_in_one_line(runs_dir, capsys):
    assert main(["submit", "--model", "residual", "--save", "x.pt"]) == 2
    assert main(["submit", "--model", "residual", "--run-dir", "/tmp/x"]) == 2
    runs_dir.mkdir()
    for name in ("../etc", "/etc", "a/b", "nothing-here"):
        assert main(["queue", "cancel", name]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("netlib: error: ") for line in err), err
    assert main(["queue"]) == 0 and "no queued runs" in capsys.readouterr().out


# ---------------------------------------------------------------- real training processes
@pytest.mark.slow
def test_three_two_thread_runs_on_two_slots_run_one_at_a_time_in_order(runs_dir):
    holder = occupy(runs_dir)  # holds both slots while the three are submitted: all three wait
    dirs = []
    for seed in range(3):
        out = cli("submit", "--model", "residual", "--synthetic", "300", "--limit", "300", "--epochs", "1",
                  "--threads", "2", "--seed", str(seed))
        assert out.returncode == 0, out.stderr
        dirs.append(Path(out.stdout.strip()))
    rows = [json.loads(line) for line in cli("queue", "--json").stdout.splitlines()]
    assert [(r["position"], r["name"]) for r in rows] == [(i + 1, d.name) for i, d in enumerate(dirs)]
    free(holder)
    rows = [json.loads(line) for line in cli("queue", "--json").stdout.splitlines()]  # any CLI call pumps
    assert [(r["position"], r["name"]) for r in rows] == [(1, dirs[1].name), (2, dirs[2].name)]
    assert read_status(dirs[0])["status"] in ("starting", "running", "done")
    deadline = time.monotonic() + 540  # while they run, at most one holds the two slots at any moment
    while time.monotonic() < deadline:
        now = [(read_status(d) or {}).get("status") for d in dirs]
        assert sum(s in ("starting", "running") for s in now) <= 1, now
        if all(s == "done" for s in now):
            break
        time.sleep(0.05)
    ends = [wait_status(d, "done") for d in dirs]  # each ending run starts the next
    starts = [next(e for e in read_run(d).events if e["event"] == "start")["time"] for d in dirs]
    for i in (1, 2):
        assert starts[i] > ends[i - 1]["updated"], "a run started before the one before it had ended"


@pytest.mark.slow
def test_ten_processes_racing_to_start_one_queued_run_start_it_once(runs_dir, tmp_path):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    free(holder)
    go = tmp_path / "go"  # each racer imports netlib, says it is ready, then waits for "go" to pump
    code = ("import json, os, sys, time; from netlib.runs import queue; "
            f"open(sys.argv[1], 'w').close()\nwhile not os.path.exists({str(go)!r}): time.sleep(0.001)\n"
            f"print(json.dumps([str(p) for p in queue.pump({str(runs_dir)!r})]))")
    racers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"ready{i}")], cwd=REPO,
                               stdout=subprocess.PIPE, text=True) for i in range(10)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready*"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()
    started = [json.loads(p.communicate(timeout=120)[0]) for p in racers]
    assert sorted(len(s) for s in started) == [0] * 9 + [1], started
    wait_status(d, "done")
    assert sum(e["event"] == "start" for e in read_run(d).events) == 1


@pytest.mark.slow
def test_a_queued_run_left_on_disk_starts_on_a_later_cli_call(runs_dir):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    free(holder)  # like a server stopped with a run in line: nobody pumps, reading starts nothing
    assert read_run(d).status == "queued" and read_run(d).queue_position == 1
    out = cli("summary", "--model", "residual")
    assert out.returncode == 0 and read_status(d)["status"] != "queued"
    wait_status(d, "done")


@pytest.mark.slow
def test_a_sigkilled_run_frees_its_slots_for_the_next_pump(runs_dir):
    first, second = enqueue(runs_dir, 2, synthetic=3000, limit=3000, epochs=20)
    assert read_status(first)["status"] in ("starting", "running") and queue.position(second) == 1
    pid = wait_status(first, "running", timeout=120)["pid"]
    os.kill(pid, signal.SIGKILL)
    spawn.children()[str(first)].wait(timeout=30)
    assert read_status(first)["status"] == "interrupted"
    assert queue.pump(runs_dir) == [second]
    wait_status(second, "running", timeout=120)


def test_an_older_queued_command_with_a_bad_value_fails_with_the_request_line(runs_dir):
    holder = occupy(runs_dir)
    (d,) = enqueue(runs_dir)
    write_json(d / QUEUED_FILE, {"argv": ["--model", "bogus", "--threads", "1"]})  # words allowed, value not
    free(holder)
    assert queue.pump(runs_dir) == []  # refused by the request's own check, before any process starts
    status = read_status(d)
    assert status["status"] == "failed" and "unknown model 'bogus'" in status["reason"], status


# ---------------------------------------------------------------- the Train page
def test_train_shows_a_queued_run_with_its_place_and_cancels_it(runs_dir, monkeypatch):
    from support import assert_clean, fresh_app
    from streamlit.testing.v1 import AppTest

    fresh_app(monkeypatch)
    holder = occupy(runs_dir)
    (d,) = queue.enqueue(runs_dir, [launch.request_for("residual", "fast", {"epochs": 1}, 300, threads=2)])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    at.session_state["train_run"] = str(d)
    at.switch_page("app_pages/train.py").run()
    assert_clean(at)
    assert any("queued, position 1" in i.value for i in at.info)
    assert any(d.name in m.value and "queued, position 1" in m.value for m in at.sidebar.markdown)
    at.button(key=f"q_cancel_{d.name}").click().run()
    assert_clean(at)
    assert read_status(d)["status"] == "cancelled"
    assert any("cancelled before it started" in i.value for i in at.info)
    free(holder)


def test_compare_shows_a_queued_pair_in_line_and_cancels_one(runs_dir, monkeypatch):
    from support import assert_clean, fresh_app
    from streamlit.testing.v1 import AppTest

    fresh_app(monkeypatch)
    holder = occupy(runs_dir)
    a, b = queue.enqueue(runs_dir, [launch.request_for(m, "fast", {"epochs": 1}, 300, threads=1)
                                         for m in ("inception", "residual")])
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=90).run()
    at.session_state["compare_pair"] = [str(a), str(b)]
    at.switch_page("app_pages/compare.py").run()
    assert_clean(at)
    said = [i.value for i in at.info]
    assert f"{a.name}: queued, position 1" in said and f"{b.name}: queued, position 2" in said, said
    at.button(key=f"cmp_cancel_{a.name}").click().run()
    assert_clean(at)
    assert read_status(a)["status"] == "cancelled" and queue.position(b) == 1
    free(holder)
