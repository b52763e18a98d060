"""Run folders for the report tests, written the way the engine writes them but without training: a
5-epoch fast-recipe run on all of MNIST (its batch events every 10 batches, gradient norms in each), seeded
random weights as its checkpoint; and the 3-seed comparison of two networks that the size target is about."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from netlib.engine.loop import TrainConfig
from netlib.recipes import recipe_for
from netlib.runs.writer import RunWriter

STEPS, EVERY, SAMPLES = 469, 10, 60_000  # the fast recipe on MNIST: batch 128



def seed_run(root: Path, name: str, model: str, seed: int, epochs: int = 5, status: str = "done",
             checkpoint: bool = True) -> Path:
    """A run of `model` with `seed`; status 'running' stops it inside epoch `epochs` (this process is its
    trainer, so it reads as live)."""
    import torch

    from netlib.models import build_model

    config = {**TrainConfig(model=model, recipe_name="fast", recipe=recipe_for("fast", model), seed=seed).to_dict(),
              "request": {"model": model, "seed": seed}, "argv": ["train", "--model", model, "--seed", str(seed)]}
    layers = [n[: -len(".weight")] for n, _ in build_model(model).named_parameters() if n.endswith(".weight")]
    writer = RunWriter(root / name, config)
    writer.on_event({"event": "start", "model": model, "recipe": "fast", "samples": SAMPLES, "test_samples": 10_000,
                     "epochs": 5, "steps_per_epoch": STEPS, "device": "cpu", "threads": 1, "pid": os.getpid(),
                     "time": time.time(), "grad_layers": layers})
    elapsed, wobble = 0.0, 0.002 * seed
    for epoch in range(1, epochs + 1):
        last = status == "running" and epoch == epochs
        for b in range(EVERY, (STEPS // 2 if last else STEPS) + 1, EVERY):
            x = epoch - 1 + b / STEPS
            writer.on_event({"event": "batch", "epoch": epoch, "batch": b, "batches": STEPS,
                             "loss": 0.05 + 2.0 * math.exp(-3 * x) + wobble, "acc": 0.99 - 0.5 * math.exp(-3 * x),
                             "lr": 1e-3, "samples": b * 128, "seconds": b * 0.05,
                             "grad_norm": [0.1 * (i + 1) / (1 + x) for i in range(len(layers))]})
        if last:
            break
        elapsed += STEPS * 0.05 + 2
        acc = 0.99 - 0.02 / epoch - wobble
        event = {"event": "epoch", "epoch": epoch, "epochs": 5, "train_loss": 0.1 / epoch, "train_acc": acc - 0.005,
                 "test_loss": 0.09 / epoch, "test_acc": acc, "seconds": STEPS * 0.05, "samples_per_s": 2560.0,
                 "lr": 1e-3, "elapsed": elapsed}
        writer.on_event(event)
        if checkpoint:
            torch.manual_seed(seed)
            writer.save(build_model(model), event)
    if status != "running":
        writer.on_event({"event": "end", "status": status, "reason": "", "epochs_completed": epochs,
                         "test_acc": acc, "elapsed": elapsed})
    writer.close()
    return root / name


def three_seed_comparison(root: Path) -> list[Path]:
    """Inception and Residual, seeds 0, 1 and 2 each: six finished runs with checkpoints."""
    return [seed_run(root, f"20260101-00000{seed}-{model}-fast-{seed:03d}", model, seed)
            for model in ("inception", "residual") for seed in range(3)]
