"""The automatic CUDA batch (issue 14): chosen on a CUDA device, an explicit choice wins, the CPU unchanged,
the run records what it used; scripts/bench_gpu.py says so and stops where there is no GPU."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from netlib.cli.parser import build_parser
from netlib.engine import setup
from netlib.lab import launch
from netlib.recipes import DEVICE_BATCH, RECIPES, recipe_for, resolve_recipe, scaled_batch

REPO_ROOT = Path(__file__).resolve().parent.parent
CUDA_BATCH = DEVICE_BATCH["fast"]["cuda"]


@pytest.fixture
def on_cuda(monkeypatch):
    """train_config as on a machine with a CUDA GPU: "auto" and "cuda" resolve to cuda (nothing runs on it)."""
    def resolve(name):
        if name not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, not {name!r}")
        return torch.device("cpu" if name == "cpu" else "cuda")

    monkeypatch.setattr(setup, "resolve_device", resolve)
    monkeypatch.setattr("netlib.engine.loop.resolve_device", resolve)


def options(*argv: str):
    from netlib.request import from_arguments

    return from_arguments(build_parser().parse_args(["train", *argv]))


@pytest.mark.parametrize("model, cpu_lr", [("residual", 5e-3), ("inception", 3e-3), ("plain", 5e-3)])
def test_the_default_recipe_on_cuda_takes_the_big_batch_and_a_sqrt_scaled_rate(model, cpu_lr):
    for device in ("cuda", "cuda:0"):
        r = recipe_for("fast", model, device)
        assert r.batch_size == CUDA_BATCH == 1024
        assert r.lr == float(f"{cpu_lr * math.sqrt(CUDA_BATCH / 128):.3g}")  # to 3 significant figures
        assert dataclass_rest(r) == dataclass_rest(recipe_for("fast", model))  # nothing else changes


def dataclass_rest(r) -> dict:
    return {k: v for k, v in r.to_dict().items() if k not in ("batch_size", "lr")}


@pytest.mark.parametrize("device", [None, "cpu"])
def test_the_cpu_is_unchanged(device):
    for model in ("residual", "inception"):
        assert recipe_for("fast", model, device) == recipe_for("fast", model)
        assert recipe_for("fast", model, device).batch_size == 128
    assert recipe_for("seed", "residual", "cuda") == RECIPES["seed"]  # the published recipe stays exact


def test_an_explicit_batch_or_rate_wins_over_the_device_batch():
    assert resolve_recipe("fast", "residual", device="cuda", batch_size=256).to_dict() == \
        {**RECIPES["fast"].to_dict(), "batch_size": 256}  # the recipe's own rate, not a scaled one
    assert resolve_recipe("fast", "residual", device="cuda", lr=0.002).batch_size == 128
    assert resolve_recipe("fast", "residual", device="cuda", epochs=2).batch_size == CUDA_BATCH


def test_the_device_batch_never_exceeds_the_training_images():
    assert recipe_for("fast", "residual", "cuda", limit=500).batch_size == 500
    assert recipe_for("fast", "residual", "cuda", limit=500).lr == float(f"{5e-3 * math.sqrt(500 / 128):.3g}")
    assert recipe_for("fast", "residual", "cuda", limit=100) == recipe_for("fast", "residual")  # never below 128
    assert scaled_batch(RECIPES["fast"], 512).lr == 0.01


def test_train_config_on_cuda_records_the_batch_and_rate_it_uses(on_cuda):
    config = setup.train_config(options("--model", "residual"))
    assert config.device == "cuda" and config.recipe_name == "fast"
    recorded = json.loads(json.dumps(config.to_dict()))  # what config.json holds
    assert recorded["recipe"]["batch_size"] == CUDA_BATCH
    assert recorded["recipe"]["lr"] == recipe_for("fast", "residual", "cuda").lr
    cpu = setup.train_config(options("--model", "residual", "--device", "cpu"))
    assert (cpu.device, cpu.recipe) == ("cpu", recipe_for("fast", "residual"))


@pytest.mark.parametrize("argv, batch, lr", [
    (["--batch-size", "128"], 128, 5e-3),
    (["--lr", "0.001"], 128, 1e-3),
    (["--batch-size", "2048", "--lr", "0.02"], 2048, 0.02),
    (["--recipe", "seed"], 64, 0.01),
    (["--synthetic", "600"], 600, float(f"{5e-3 * math.sqrt(600 / 128):.3g}")),
])
def test_train_config_on_cuda_lets_an_explicit_choice_win(on_cuda, argv, batch, lr):
    config = setup.train_config(options("--model", "residual", *argv))
    assert (config.recipe.batch_size, config.recipe.lr) == (batch, pytest.approx(lr))


def test_submit_and_the_dashboard_resolve_alike(on_cuda, tmp_path):
    """`submit` and the Train page's launcher go through train_config: the same batch as `train`."""
    config = setup.train_config(launch.request_for("residual", "fast", {}, None, 0, "auto"))
    assert config.recipe.batch_size == CUDA_BATCH and config.device == "cuda"
    custom = launch.request_for("residual", "fast", {"batch_size": 128, "lr": 0.005, "epochs": 5}, None, 0, "auto")
    assert setup.train_config(custom).recipe.batch_size == 128


def test_the_train_page_note_says_what_applies(on_cuda):
    note = launch.device_note("residual", "fast", {}, "auto")
    assert note.startswith(f"On cuda: batch {CUDA_BATCH}, peak lr {recipe_for('fast', 'residual', 'cuda').lr:g}")
    assert "instead of 128" in note
    assert launch.device_note("residual", "fast", {}, "cpu") == "On cpu: batch 128, peak lr 0.005, as the recipe says."
    assert "your own values" in launch.device_note("residual", "fast", {"batch_size": 64, "lr": 0.01}, "cuda")
    assert launch.device_note("residual", "seed", {}, "cuda") == "On cuda: batch 64, lr 0.01, as the recipe says."


def test_the_train_page_note_on_this_machine():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert launch.device_note("inception", "fast", {}, "auto") == \
        "On cpu: batch 128, peak lr 0.003, as the recipe says."
    assert "no CUDA GPU" in launch.device_note("inception", "fast", {}, "cuda")


def test_the_help_says_what_cuda_gets():
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    text = " ".join(train.format_help().split())
    assert f"fast on CUDA: batch {CUDA_BATCH}" in text and "unless --batch-size or --lr is given" in text


@pytest.mark.process
def test_bench_gpu_without_a_gpu_says_so_and_measures_nothing():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    done = subprocess.run([sys.executable, "scripts/bench_gpu.py"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 3
    assert "no CUDA GPU is available here" in done.stderr and "nothing was measured" in done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr


@pytest.mark.slow
def test_bench_gpu_dry_run_walks_every_step_on_the_cpu():
    """The script's every step, on the CPU with synthetic digits: it runs through before GPU time is spent."""
    done = subprocess.run([sys.executable, "scripts/bench_gpu.py", "--dry-run"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["dry_run"] and summary["device"] == "cpu"
    assert {m: s["batch_size"] for m, s in summary["epoch_seconds"].items()} == {"residual": 1024, "inception": 1024}
    assert summary["time_to_99"]["evaluations"] >= 1
    controls = summary["controls"]
    assert all(controls[step]["exit"] == 0 for step in ("train_on_cpu", "plus_1_epoch_on_cpu", "plus_1_epoch_back_on_cpu"))
    assert controls["moved_run"]["status"] == "done" and controls["moved_run"]["epochs"] == 3
    steered = controls["steered_run"]
    assert (steered["status"], steered["exit"], steered["held_while_paused"]) == ("stopped", 0, True)
    assert summary["predict_evaluate"]["same_answers_as_cpu"] == summary["predict_evaluate"]["of"]


def test_the_train_page_shows_the_batch_on_the_chosen_device(fresh_lab):
    """The page's caption under the settings: the recipe as it applies on the device picked."""
    from support import open_app

    at = open_app("app_pages/train.py")
    assert not at.exception
    captions = [c.value for c in at.caption]
    if torch.cuda.is_available():
        assert any(c.startswith(f"On cuda: batch {CUDA_BATCH}") for c in captions), captions
    else:
        assert "On cpu: batch 128, peak lr 0.003, as the recipe says." in captions  # Inception, fast
        at.selectbox(key="model").set_value("residual").run()
        assert "On cpu: batch 128, peak lr 0.005, as the recipe says." in [c.value for c in at.caption]
