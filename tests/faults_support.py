"""Shared by the test_faults*.py modules: the cheapest real training, a strict metrics-log reader, the
Train page in a fresh session, and the fixtures that keep each test's processes and SIGTERM handler its own
(import them into every test_faults*.py module: `app` and the two autouse ones)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from netlib.runs import spawn
from support import APP, fresh_app

REPO = Path(__file__).resolve().parent.parent


def train_args(n: int, epochs: int, model: str = "residual", batch: int = 32, lr: str = "") -> list[str]:
    """Seed recipe (plain SGD, no augmentation, no averaging): the cheapest real training there is."""
    args = ["--model", model, "--recipe", "seed", "--synthetic", str(n), "--epochs", str(epochs),
            "--batch-size", str(batch)]
    return args + (["--lr", lr] if lr else [])


def strict_lines(path: Path) -> list[dict]:
    """Every line of a metrics log, parsed; fails on a damaged line or a NaN/Infinity token."""
    def no_constant(token):
        raise AssertionError(f"non-finite number {token} in {path.name}")

    text = path.read_text()
    assert text.endswith("\n"), "the last line was cut off"
    return [json.loads(line, parse_constant=no_constant) for line in text.splitlines()]


def reap(*procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


@pytest.fixture
def app(monkeypatch, runs_dir):
    """AppTest set-up: warm pages manager, empty Streamlit caches, no processes left behind."""
    fresh_app(monkeypatch)
    threads = torch.get_num_threads()
    yield runs_dir
    torch.set_num_threads(threads)
    for proc in spawn.children().values():
        reap(proc)


def train_page(session: dict | None = None) -> AppTest:
    """A fresh browser session (a new tab, or the first one after a server restart) on the Train page."""
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(autouse=True)
def _own_process_table():
    """Each test's training processes end with it (they are started by the one registry, netlib.runs.spawn)."""
    yield
    for proc in spawn.children().values():
        reap(proc)


@pytest.fixture(autouse=True)
def _keep_sigterm():
    before = signal.getsignal(signal.SIGTERM)  # cli.main in-process installs its own handler
    yield
    signal.signal(signal.SIGTERM, before)
