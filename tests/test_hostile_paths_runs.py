"""Run folders full of FIFOs and devices, a runs folder that is a FIFO, a metrics log that grows while it
is read, JSON nested too deep: the readers say "unreadable" and every page renders (AppTest), nothing waits."""

from __future__ import annotations

import shutil

import pytest

from hostile_support import SHIPPED, Hostile, _old_run


def test_a_metrics_log_that_grows_is_read_as_far_as_it_is_written(tmp_path):
    """The reader takes what is there now, bounded in bytes and events, and never waits for more."""
    from netlib.runs.reader import read_events

    log = tmp_path / "metrics.jsonl"
    log.write_text("".join(f'{{"event": "batch", "batch": {i}}}\n' for i in range(1000)) + '{"event": "ba')
    assert [e["batch"] for e in read_events(log)] == list(range(1000))  # the half-written line waits
    assert len(read_events(log, max_events=10)) == 10
    assert len(read_events(log, max_bytes=100)) == 3
    with open(log, "a") as f:
        f.write('tch", "batch": 1000}\n')
    assert read_events(log)[-1]["batch"] == 1000


@pytest.mark.parametrize("kind", ["fifo", "symlink_zero", "folder"])
def test_the_readers_of_a_run_folder_say_unreadable(kind, tmp_path):
    from netlib.runs.files import UNREADABLE
    from netlib.runs.reader import read_run, read_status, run_index

    run = _old_run(tmp_path)
    for name in ("status.json", "metrics.jsonl", "config.json"):
        fresh = _old_run(tmp_path / name)
        Hostile(kind, fresh / name)
        info = read_run(fresh)
        assert info.status == UNREADABLE and name in info.reason and ("FIFO" in info.reason or "device" in info.reason
                                                                      or "folder" in info.reason), info.reason
    Hostile(kind, run / "status.json")
    assert read_status(run)["status"] == UNREADABLE
    assert [e.status for e in run_index(run.parent)] == [UNREADABLE]


@pytest.fixture
def hostile_lab(tmp_path, monkeypatch):
    """A runs folder with one good run and one whose every file is a FIFO or a device."""
    from support import fresh_app

    fresh_app(monkeypatch)
    runs = tmp_path / "runs"
    good = _old_run(tmp_path)
    bad = runs / "20261202-000000-residual-fast-666"
    bad.mkdir(parents=True)
    for name, kind in (("config.json", "fifo"), ("status.json", "symlink_zero"), ("metrics.jsonl", "fifo"),
                       ("control.json", "fifo"), ("process.log", "fifo"), ("checkpoint.pt", "symlink_zero"),
                       ("train_state.pt", "dev_urandom")):
        Hostile(kind, bad / name)
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(runs))
    monkeypatch.setenv("NETLIB_UPLOADS_DIR", str(tmp_path / "uploads-fifo"))
    Hostile("fifo", tmp_path / "uploads-fifo")
    return runs, good, bad


@pytest.mark.parametrize("page", ["home", "train", "compare", "inspect", "results", "draw"])
def test_pages_over_a_run_folder_of_fifos_and_devices(hostile_lab, page):
    from support import open_app

    runs, good, bad = hostile_lab
    at = open_app(f"app_pages/{page}.py", timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if bad.name not in e.value], "an error not about the bad run"
    if page == "compare":  # the good run is still there to overlay, and the bad one is listed as unreadable
        assert any(good.name in o for o in at.multiselect(key="compare_runs").options)
    if page == "draw":  # the good run's checkpoint is offered beside the shipped one (both networks shown)
        assert any(good.name in o for box in at.selectbox for o in box.options), [b.options for b in at.selectbox]


def test_plus_one_epoch_on_a_run_whose_log_is_a_fifo_says_so(tmp_path, monkeypatch):
    from support import fresh_app, open_app

    fresh_app(monkeypatch)
    run = _old_run(tmp_path)
    Hostile("fifo", run / "process.log")
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(run.parent))
    at = open_app("app_pages/home.py", timeout=60)
    at.session_state["train_run"] = str(run)
    at.switch_page("app_pages/train.py").run()
    at.button(key="extend").click().run()  # returns: the launcher never waits on the FIFO
    assert not at.exception, [e.value for e in at.exception]
    assert any("process.log" in e.value and "FIFO" in e.value for e in at.error), [e.value for e in at.error]


def test_the_train_page_says_why_a_watched_run_cannot_be_read(hostile_lab):
    from support import open_app

    runs, good, bad = hostile_lab
    at = open_app("app_pages/home.py", timeout=60)
    at.session_state["train_run"] = str(bad)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot be read" in e.value and "config.json" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize("page", ["home", "train", "compare"])
def test_pages_when_the_runs_folder_itself_is_a_fifo(page, tmp_path, monkeypatch):
    from support import fresh_app, open_app

    fresh_app(monkeypatch)
    Hostile("fifo", tmp_path / "runs")
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(tmp_path / "runs"))
    at = open_app(f"app_pages/{page}.py", timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    if page == "train":  # starting a run says what the runs folder is, in one line
        at.button(key="start").click().run()
        assert any("runs folder" in e.value and "FIFO" in e.value for e in at.error), [e.value for e in at.error]


def test_json_nested_past_the_recursion_limit_is_a_damaged_file(tmp_path):
    from netlib.runs.control import read_control
    from netlib.runs.reader import read_events, run_index

    good, deep = _old_run(tmp_path), _old_run(tmp_path / "deep")
    (deep / "config.json").write_text("[" * 100_000)
    (good / "control.json").write_text("[" * 100_000)
    (good / "metrics.jsonl").write_text("[" * 100_000 + "\n" + '{"event": "start"}\n')
    assert [e.name for e in run_index(good.parent)] == [good.name]  # listed; never an exception
    assert run_index(deep.parent) == []  # a config that is no JSON object: not (yet) a run
    assert read_control(good) == {}
    assert read_events(good / "metrics.jsonl") == [{"event": "start"}]


def test_listing_uploads_reads_each_checkpoint_once_per_change(tmp_path, monkeypatch):
    import netlib.lab.uploads as uploads

    root = tmp_path / "uploads"
    root.mkdir()
    shutil.copy(SHIPPED, root / "a.pt")
    uploads._model_of.cache_clear()
    calls = []
    real = uploads.read_checkpoint
    monkeypatch.setattr(uploads, "read_checkpoint", lambda p: calls.append(p) or real(p))
    assert [u.model for u in uploads.list_uploads(root)] == ["residual"]
    assert [u.model for u in uploads.list_uploads(root)] == ["residual"]
    assert len(calls) == 1  # cached by path, mtime and size
