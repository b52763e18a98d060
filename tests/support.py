"""Shared by the test modules: AppTest set-up, a pickle payload that runs code, run folders and recordings."""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from netlib.lab import catalogue, launch
from netlib.runs.reader import RunInfo

APP = Path(__file__).resolve().parent.parent / "app.py"
SHIPPED = [catalogue.shipped_checkpoint(m) for m in ("inception", "residual")]
SHIPPED_BY_MODEL = dict(zip(("inception", "residual"), SHIPPED))
# Tests that run the lesion test on the shipped checkpoints through pages: on one xdist worker, whose
# server-wide memo (app_pages/_evaluations.shared) computes the rows once for all of them.
SHIPPED_LESION_GROUP = pytest.mark.xdist_group("shipped-lesion")


def start_run(run_dir: Path, args: list[str], threads: int | None = None):
    """`python -m netlib train ARGS --run-dir DIR` as the lab starts training processes (netlib.runs.spawn)."""
    from netlib.runs import spawn

    words = [*args, "--run-dir", str(run_dir), "--quiet", *(["--threads", str(threads)] if threads else [])]
    return spawn.start_training(Path(run_dir), words)


def started_in(runs_dir: Path) -> list[str]:
    """The run folders under runs_dir that this process started a training process for."""
    from netlib.runs import spawn

    return [d for d in spawn.children() if Path(d).parent == Path(os.path.realpath(runs_dir))]


def stop_children() -> None:
    """Never leave a training process behind: kill and reap every one this process started."""
    from netlib.runs import spawn

    for proc in spawn.children().values():
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def fresh_app(monkeypatch) -> None:
    """Before an AppTest: real MNIST (no synthetic runs), empty Streamlit caches (they outlive AppTest
    instances)."""
    monkeypatch.delenv(launch.SYNTHETIC_ENV, raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()


def open_app(page: str, timeout: float = 90) -> AppTest:
    """app.py run once (its frame), then `page` through the navigation, as a person clicks it."""
    at = AppTest.from_file(str(APP), default_timeout=timeout).run()
    if page != "app_pages/home.py":
        at.switch_page(page).run()
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures on the page as JSON specs, by widget key."""
    return {el.key or el.proto.id: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


class WritesMarker:
    """A pickled object whose unpickling runs code (Python's exec, or a shell): it writes a marker file."""

    def __init__(self, marker: Path, via: str = "exec"):
        self.marker, self.via = str(marker), via

    def __reduce__(self):
        if self.via == "shell":
            return os.system, (f"echo code ran > {shlex.quote(self.marker)}",)
        return exec, (f"open({self.marker!r}, 'w').write('code ran\\n')",)


def untrained_run(root: Path, name: str, model: str = "residual") -> Path:
    """A finished one-epoch run whose checkpoint holds seeded random weights, written the way the engine
    writes one: a checkpoint to pick, evaluate or switch to without training."""
    import time

    import torch

    from netlib.models import build_model
    from netlib.recipes import RECIPES
    from netlib.runs.writer import RunWriter
    from netlib.engine.loop import TrainConfig

    config = {**TrainConfig(model=model, recipe_name="fast", recipe=RECIPES["fast"]).to_dict(),
              "argv": ["train", "--model", model]}
    writer = RunWriter(root / name, config)
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": 100, "test_samples": 10000,
                     "epochs": 1, "steps_per_epoch": 1, "device": "cpu", "threads": 1, "pid": os.getpid(),
                     "time": time.time()})
    event = {"event": "epoch", "epoch": 1, "epochs": 1, "train_loss": 2.3, "train_acc": 0.1, "test_loss": 2.3,
             "test_acc": 0.1, "seconds": 1.0, "samples_per_s": 100.0, "lr": 1e-3, "elapsed": 1.0}
    writer.on_event(event)
    torch.manual_seed(0)
    writer.save(build_model(model), event)
    writer.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 1, "test_acc": 0.1,
                     "elapsed": 1.0})
    writer.close()
    return root / name


# ---------------------------------------------------------------- the Lessons tests' runs and recordings
def epoch_event(epoch: int, acc: float, samples_per_s: float = 1000.0) -> dict:
    return {"event": "epoch", "epoch": epoch, "epochs": 7, "train_loss": 0.1, "train_acc": acc, "test_loss": 0.1,
            "test_acc": acc, "seconds": 5000 / samples_per_s, "samples_per_s": samples_per_s, "lr": 0.01,
            "elapsed": 5.0 * epoch}


def batch(epoch: int, grad: float | None, n: int = 10) -> dict:
    return {"event": "batch", "epoch": epoch, "batch": n, "batches": 100, "loss": 1.0, "acc": 0.5, "lr": 0.01,
            "samples": 640, "seconds": 1.0, "grad_norm": None if grad is None else [grad, 1.0]}


def info(model: str, status: str = "done", samples_per_s: float = 1000.0, epochs: int = 1, **kw) -> RunInfo:
    events = [{"event": "start", "threads": 1, "samples": 5000}]
    events += [epoch_event(e, 0.9, samples_per_s) for e in range(1, epochs + 1)]
    return RunInfo(Path(f"/runs/{model}-run"), {"model": model, **kw}, status, "it broke" if status == "failed" else "",
                   events)


def write_run(root: Path, name: str, model: str, samples_per_s: float, status: str = "done", threads: int = 1,
              acc: float = 0.9, **config) -> Path:
    """A run folder as the engine writes one, without training; a 'running' one names this process.
    config: TrainConfig fields to change (limit, device, model_kwargs, recipe_name)."""
    from netlib.engine.loop import TrainConfig
    from netlib.recipes import RECIPES
    from netlib.runs.writer import RunWriter

    recipe = config.pop("recipe_name", "fast")
    base = TrainConfig(model=model, recipe_name=recipe, recipe=RECIPES[recipe], **{"limit": 5000, **config})
    writer = RunWriter(root / name, {**base.to_dict(), "argv": ["train", "--model", model]})
    writer.on_event({"event": "start", "model": model, "recipe": recipe, "samples": 5000, "test_samples": 10000,
                     "epochs": 1, "steps_per_epoch": 40, "device": "cpu", "threads": threads, "pid": os.getpid(),
                     "time": time.time()})
    if status != "running":
        writer.on_event(epoch_event(1, acc, samples_per_s))
        writer.on_event({"event": "end", "status": status, "reason": "the test said so" if status == "failed" else "",
                         "epochs_completed": 1, "test_acc": acc, "elapsed": 5.0})
    writer.close()
    return root / name


def write_seed(folder: Path, seed: int, accs: list[float], model: str = "residual", recipe: str = "seed") -> None:
    """A seed-repeats recording as scripts/record_seed_repeats.sh writes one (no batch events)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [{"event": "start", "model": model, "recipe": recipe, "samples": 60000, "grad_layers": []}]
    lines += [epoch_event(i, a) for i, a in enumerate(accs, 1)]
    (folder / f"residual-seed{seed}.metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
