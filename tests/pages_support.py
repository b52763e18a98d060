"""Shared by the test_pages*.py modules: the `lab` fixture (autouse in every module that imports it), run
folders written the way the engine writes them but without training, a Train-page run started from its
widgets, and waiting on a page."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from netlib.models import build_model
from netlib.recipes import RECIPES
from netlib.runs.writer import RunWriter
from netlib.engine.loop import TrainConfig
from support import assert_clean, fresh_app, open_app, stop_children

open_page = open_app  # the name the test_pages*.py modules call it by


@pytest.fixture(autouse=True)
def lab(tmp_path, monkeypatch):
    """A fresh runs directory and empty Streamlit caches (they outlive AppTest instances)."""
    fresh_app(monkeypatch)
    runs = tmp_path / "runs"
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(runs))
    threads = torch.get_num_threads()
    yield runs
    torch.set_num_threads(threads)  # the app sets 1 thread for its server process (this process here)
    stop_children()  # never leave a training process behind


def values(data) -> list:
    """A trace's x or y: a plain list, or Plotly's typed array {"dtype", "bdata"} for numpy input."""
    if isinstance(data, dict) and "bdata" in data:
        return np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"]).tolist()
    return list(data or [])


def fake_run(root: Path, name: str, model: str = "residual", accs=(0.97, 0.985, 0.992),
             status: str = "done", reason: str = "", checkpoint: bool = False) -> Path:
    """A run directory written the way the engine writes one, without training (fast, deterministic)."""
    recipe = RECIPES["fast"]
    config = {**TrainConfig(model=model, recipe_name="fast", recipe=recipe).to_dict(),
              "argv": ["train", "--model", model]}
    writer = RunWriter(root / name, config)
    steps, n = 40, 5000
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": n, "test_samples": 10000,
                     "epochs": len(accs) + (1 if status == "running" else 0), "steps_per_epoch": steps,
                     "device": "cpu", "threads": 1, "pid": os.getpid(), "time": time.time()})
    elapsed = 0.0
    for epoch, acc in enumerate(accs, 1):
        for b in range(10, steps + 1, 10):
            writer.on_event({"event": "batch", "epoch": epoch, "batch": b, "batches": steps,
                             "loss": 1.0 / (epoch * b), "acc": acc - 0.01, "lr": 1e-3, "samples": b * 125,
                             "seconds": b * 0.05})
        elapsed += 2.5
        event = {"event": "epoch", "epoch": epoch, "epochs": len(accs), "train_loss": 0.1 / epoch,
                 "train_acc": acc - 0.01, "test_loss": 0.09 / epoch, "test_acc": acc, "seconds": 2.0,
                 "samples_per_s": 2500.0, "lr": 1e-3, "elapsed": elapsed}
        writer.on_event(event)
        if checkpoint:
            writer.save(build_model(model), event)
    if status != "running":
        writer.on_event({"event": "end", "status": status, "reason": reason,
                         "epochs_completed": len(accs), "test_acc": accs[-1] if accs else None,
                         "elapsed": elapsed})
    writer.close()
    return root / name


def wait_for(at: AppTest, done, timeout: float = 180, every: float = 1.0, on_poll=None) -> AppTest:
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(every)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if on_poll:
            on_poll(at)
        if done(at):
            return at
    raise AssertionError(f"timed out after {timeout} s; errors {[e.value for e in at.error]}, "
                         f"info {[i.value for i in at.info]}")


def start_tiny_run(at: AppTest, epochs: int, limit: int, batch: int = 64, model: str = "residual") -> AppTest:
    at.selectbox(key="model").set_value(model)
    at.radio(key="recipe").set_value("custom").run()
    at.number_input(key="epochs").set_value(epochs)
    at.select_slider(key="batch_size").set_value(batch)
    at.number_input(key="limit").set_value(limit).run()
    assert_clean(at)
    at.button(key="start").click().run()
    assert not at.exception
    return at
