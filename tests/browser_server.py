"""The browser tests' harness: `streamlit run app.py` on a free port with a fresh runs folder, one
Chromium per module, a fresh tab per test that records console errors, and a clean stop of the server
with the training processes it started. test_browser*.py import its fixtures.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

from netlib.lab import catalogue, launch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

expect.set_options(timeout=30_000)


# ---------------------------------------------------------------- the server and the browser
@dataclass
class Server:
    url: str
    runs: Path
    started_s: float  # from `streamlit run` to the first page served
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The direct children of pid (training processes the server started), from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is as good as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """`streamlit run app.py` on a free port with a fresh runs folder; stopped, with its runs, at the end.
    Real MNIST (NETLIB_LAB_SYNTHETIC unset) and the shipped checkpoints."""
    name = f"server-{request.module.__name__}"  # one log per module: xdist runs modules side by side
    with serving(tmp_path_factory, name, {launch.SYNTHETIC_ENV: None, catalogue.CHECKPOINT_DIR_ENV: None}) as (
            server, proc):
        yield server
        assert not stop_server(proc), "training processes outlived the server"


@contextlib.contextmanager
def serving(tmp_path_factory, name: str, changes: dict):
    """(Server, its process): `streamlit run app.py` on a free port with a fresh runs folder and the
    environment's changes (None: unset), once it serves; stopped at the end. Its log: ARTIFACTS/NAME.log."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    runs = tmp_path_factory.mktemp(name) / "runs"
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **changes}
    env = {k: v for k, v in env.items() if v is not None}
    port, t0, log = _free_port(), time.perf_counter(), ARTIFACTS / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: stopped as a whole
    url = f"http://localhost:{port}"
    started = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                urllib.request.urlopen(url, timeout=5).read()
                started = time.perf_counter() - t0
                break
            except OSError:
                time.sleep(0.25)
        if started is None:
            raise AssertionError(f"streamlit did not serve within 60 s; see {log}:\n{log.read_text()[-3000:]}")
        yield Server(url, runs, started, log), proc
    finally:
        stop_server(proc)  # a second stop finds nothing left: the caller's check has run


@pytest.fixture(scope="module")
def browser(server):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab (its own Streamlit session) that records console errors and uncaught page errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    problems: list[str] = []

    def on_console(msg) -> None:
        if msg.type == "error" and not benign(msg.text, msg.location.get("url", "")):
            problems.append(f"console error: {msg.text} ({msg.location.get('url', '')})")

    tab.on("console", on_console)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.problems = problems
    yield tab
    context.close()


# ---------------------------------------------------------------- helpers
def benign(text: str, url: str) -> bool:
    """Two failed resource loads that Streamlit itself causes on every page, and nothing else:
    - on a page URL like /draw the frontend first probes /draw/_stcore/health and /draw/_stcore/host-config
      (in case /draw is the server's base path), gets 404, then uses /_stcore/...: the app works;
    - the favicon of page_icon=":material/neurology:" is fetched from fonts.gstatic.com, which an offline
      machine (this one, CI) cannot resolve: only the tab icon is missing.
    Any other console error, failed load or uncaught page error fails the test."""
    if not text.startswith("Failed to load resource"):
        return False
    if re.fullmatch(r"https?://[^/]+/[^/]+/_stcore/(health|host-config)", url) and "404" in text:
        return True
    return url.startswith("https://fonts.gstatic.com/s/i/") and "ERR_NAME_NOT_RESOLVED" in text


def stop_server(proc: subprocess.Popen) -> list[int]:
    """Stop a `streamlit run` and what it started; the pids still alive after 10 s. Training processes
    and sweep workers run in sessions of their own (they must survive a page reload): they go first,
    then the server's process group."""
    kids = _children(proc.pid)
    for pid in kids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in kids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return [p for p in kids if _alive(p)]
