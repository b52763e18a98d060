"""Fake but well-formed run folders for the notebook's benchmarks and demos: python scripts/make_runs.py N DIR

Each run is written by netlib's own RunWriter (config.json, metrics.jsonl with batch and epoch events,
status.json), so readers see exactly what a training process leaves; no training happens. Networks,
recipes, statuses, epochs and ages vary; every fifth run gets a label, tags and notes (meta.json).
--log-kib sets the metrics log's size per run (default 100 KiB, about a 3-epoch run's).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from netlib.engine.loop import TrainConfig  # noqa: E402
from netlib.models import MODELS  # noqa: E402
from netlib.recipes import RECIPES, recipe_for  # noqa: E402
from netlib.runs import manage  # noqa: E402
from netlib.runs.files import CONFIG, STATUS  # noqa: E402
from netlib.runs.writer import RunWriter  # noqa: E402

STATUSES = ["done"] * 8 + ["stopped", "failed", "diverged"]
TAGS = ["baseline", "lr-sweep", "paper", "augment", "keep"]


def events(rng: random.Random, epochs: int, batches_per_epoch: int):
    elapsed = 0.0
    for epoch in range(1, epochs + 1):
        for b in range(1, batches_per_epoch + 1):
            yield {"event": "batch", "epoch": epoch, "batch": b * 10, "batches": batches_per_epoch * 10,
                   "loss": rng.uniform(0.01, 1), "acc": rng.uniform(0.8, 1), "lr": 1e-3, "samples": 640,
                   "seconds": 0.5, "grad_norm": [rng.uniform(0, 1) for _ in range(8)]}
        elapsed += 20 + rng.uniform(0, 10)
        acc = min(0.995, 0.95 + 0.015 * epoch + rng.uniform(-0.01, 0.01))
        yield {"event": "epoch", "epoch": epoch, "epochs": epochs, "train_loss": 0.1, "train_acc": acc,
               "test_loss": 0.05, "test_acc": acc, "seconds": 18.0, "samples_per_s": 3300.0, "lr": 1e-3,
               "elapsed": elapsed}


def make_run(root: Path, i: int, rng: random.Random, log_kib: int) -> Path:
    model, recipe = rng.choice(list(MODELS)), rng.choice(list(RECIPES))
    epochs = rng.randint(1, 6)
    base = recipe_for(recipe, model)
    changed = base if rng.random() < 0.7 else RECIPES[recipe].__class__(**{**base.to_dict(), "epochs": epochs})
    epochs = min(epochs, changed.epochs)  # only +1 epoch trains past a recipe, and that is no longer its experiment
    config = {**TrainConfig(model=model, recipe_name=recipe, recipe=changed, seed=i).to_dict(),
              "argv": ["train", "--model", model]}
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() - i * 3600))
    run_dir = root / f"{stamp}-{model}-{recipe}-{i:03d}"
    writer = RunWriter(run_dir, config)
    writer.on_event({"event": "start", "model": model, "recipe": recipe, "samples": 60000, "test_samples": 10000,
                     "epochs": epochs, "steps_per_epoch": 469, "device": "cpu", "threads": 1, "pid": os.getpid(),
                     "time": time.time()})
    per_epoch = max(1, log_kib * 1024 // 300 // epochs)  # a batch event is about 300 bytes
    for event in events(rng, epochs, per_epoch):
        writer.on_event(event)
    status = rng.choice(STATUSES)
    writer.on_event({"event": "end", "status": status, "reason": "" if status in ("done", "stopped") else "fake",
                     "epochs_completed": epochs, "elapsed": 30.0 * epochs})
    writer.close()
    if i % 5 == 0:
        manage.set_label(root, run_dir.name, f"run {i}: {model} trial")
        manage.add_tags(root, run_dir.name, rng.sample(TAGS, 2))
        manage.set_notes(root, run_dir.name, f"**Why**: seed {i}.\n\n- one\n- two")
    age = time.time() - i * 3600  # one run an hour, newest first
    for name in (CONFIG, STATUS):
        os.utime(run_dir / name, (age, age))
    return run_dir


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int)
    p.add_argument("dir", type=Path)
    p.add_argument("--log-kib", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = random.Random(args.seed)
    args.dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for i in range(args.n):
        make_run(args.dir, i, rng, args.log_kib)
    print(f"{args.n} runs in {args.dir} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
