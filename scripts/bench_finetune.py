"""Fine-tuning benchmark: per writer, network and variant, held-out and MNIST accuracy before -> after.

Usage: python scripts/bench_finetune.py [--models inception residual] [--writers continental narrow round]
       [--threads 2] [--json out.json]
Each run fine-tunes the shipped checkpoint on the writer's 50 training digits (6 per digit, one of each held
out) with the request's defaults, exactly as `python -m netlib train --start-from ... --handwriting ...`
would. "train s" is the training steps' time (the epoch events' seconds); "wall s" the whole fit(), its
per-epoch test on MNIST's 10,000 digits included. The load average is printed before and after: the
machine is shared, and its load moves the seconds (not the accuracies, which are seeded).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def run_one(model: str, writer: str, variant: str, data, threads: int) -> dict:
    from netlib.checkpoint import load_checkpoint
    from netlib.engine.loop import fit
    from netlib.engine.setup import train_config
    from netlib.handwriting import tuning
    from netlib.handwriting.changes import compute
    from netlib.handwriting.data import with_set
    from netlib.handwriting.sets import load_set

    start = REPO / "checkpoints" / f"{model}.pt"
    config = train_config(tuning.request(model, start, writer, variant, device="cpu", threads=threads))
    events = []
    t0 = time.perf_counter()
    end = fit(config, with_set(data, config.finetune), on_event=events.append)
    wall = time.perf_counter() - t0
    before, _ = load_checkpoint(start)
    c = compute(before, end["model"], load_set(None, writer), data.test_x, data.test_y)
    train_s = sum(e["seconds"] for e in events if e["event"] == "epoch")
    return {"model": model, "writer": writer, "variant": variant, "epochs": config.recipe.epochs,
            "lr": config.recipe.lr, "replay": config.finetune["replay"],
            "held_before": c["held_out"]["before"], "held_after": c["held_out"]["after"],
            "set_before": c["training"]["before"], "set_after": c["training"]["after"],
            "mnist_before": c["mnist"]["before"], "mnist_after": c["mnist"]["after"],
            "train_s": round(train_s, 2), "wall_s": round(wall, 2), "status": end["status"]}


def row(r: dict) -> str:
    drop = (r["mnist_before"] - r["mnist_after"]) * 100
    return (f"| {r['writer']} | {r['model']} | {r['variant']} | {r['held_before']:.0%} → {r['held_after']:.0%} | "
            f"{r['set_before']:.0%} → {r['set_after']:.0%} | {r['mnist_before']:.2%} → {r['mnist_after']:.2%} "
            f"({-drop:+.2f}) | {r['train_s']:.1f} | {r['wall_s']:.1f} |")


def main(argv=None) -> int:
    from netlib.handwriting.sets import HANDWRITING_ENV, write_set
    from netlib.handwriting.writers import WRITERS, writer_set

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["inception", "residual"])
    p.add_argument("--writers", nargs="+", default=list(WRITERS), choices=WRITERS)
    p.add_argument("--variants", nargs="+", default=["last", "all", "replay"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    import torch

    from netlib.data import load_dataset

    torch.set_num_threads(args.threads)
    os.environ[HANDWRITING_ENV] = tempfile.mkdtemp(prefix="bench-finetune-")
    for w in args.writers:  # each writer's set, as a person's would be stored
        s = writer_set(w, w)
        write_set(None, w, s.images, s.labels.tolist(), s.held_out.tolist())
    data = load_dataset("cpu")
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs, torch threads {args.threads}")
    print("| writer | network | variant | held-out before → after | training digits | MNIST test (points) "
          "| train s | wall s |\n|---|---|---|---|---|---|---|---|")
    results = []
    for w in args.writers:
        for m in args.models:
            for v in args.variants:
                results.append(run_one(m, w, v, data, args.threads))
                print(row(results[-1]), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f} (1 min)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
