"""The CUDA path on one GPU (issue 14): epoch times, time to 99%, pause/stop/+1 epoch across devices, predict, evaluate.

Usage: python scripts/bench_gpu.py [--dry-run]    (prints one JSON summary on stdout; about 2-4 min on an H200)
It needs MNIST where `python -m netlib data` puts it (or NETLIB_DATA_DIR): a GPU machine may be offline.
Without a CUDA GPU it prints why on stderr and exits with status 3, having measured nothing. --dry-run walks
every step on the CPU with synthetic digits and the GPU's recipe (a check of this script, not a measurement).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

NO_CUDA_EXIT = 3
NO_CUDA = ("bench_gpu: no CUDA GPU is available here (torch.cuda.is_available() is False), so nothing was "
           "measured. Run it on a machine with a CUDA GPU; --dry-run checks the script on the CPU.")
TARGET = 0.99
STEP_TIMEOUT_S = 300  # a CLI step that takes longer has hung: the summary says so instead of waiting


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="every step on the CPU, synthetic digits, tiny sizes")
    p.add_argument("--epochs", type=int, default=3, help="epochs timed per network (the first is warm-up)")
    p.add_argument("--eval-every", type=int, default=5, help="steps between test evaluations on the way to 99%%")
    return p.parse_args(argv)


class Bench:
    """One run of the benchmark: where it trains (cuda, or the CPU in a dry run) and on what data."""

    def __init__(self, dry_run: bool):
        import torch

        from netlib.data import load_dataset

        self.torch, self.dry = torch, dry_run
        self.device = "cpu" if dry_run else "cuda"
        self.synthetic = 1200 if dry_run else None
        self.data = load_dataset(self.device, None, self.synthetic)

    def sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def config(self, model: str, **options):
        """train's resolution of these options on this device (the automatic GPU batch included); a dry
        run trains on the CPU with the recipe that CUDA would get."""
        from netlib.engine.setup import train_config
        from netlib.recipes import resolve_recipe

        from netlib.request import RunRequest

        options = {"model": model, "device": self.device, "synthetic": self.synthetic, **options}
        config = train_config(RunRequest(**options))
        if self.dry:
            keep = {k: options.get(k) for k in ("epochs", "batch_size", "lr")}
            config.recipe = resolve_recipe(config.recipe_name, model, device="cuda", limit=self.synthetic, **keep)
        return config

    def epoch_seconds(self, model: str, epochs: int, **options) -> dict:
        """Seconds per epoch as the engine times them (training only), first epoch apart: CUDA's warm-up."""
        from netlib.engine.loop import fit

        config = self.config(model, epochs=epochs, **options)
        events = []
        fit(config, self.data, on_event=lambda e: events.append(e) if e["event"] == "epoch" else None)
        seconds = [e["seconds"] for e in events]
        return {"batch_size": config.recipe.batch_size, "lr": config.recipe.lr,
                "first_epoch_s": round(seconds[0], 3),
                "epoch_s": round(statistics.median(seconds[1:] or seconds), 3),
                "test_acc_by_epoch": [round(e["test_acc"], 4) for e in events]}

    def time_to_target(self, model: str, every: int) -> dict:
        """Training seconds until the evaluated weights pass TARGET on the test set, tested every `every`
        steps (the engine's batch event); the tests' own time is taken out of the clock."""
        from netlib.engine import loop
        from netlib.engine.steering import NO_STEERING

        config = self.config(model)
        clock, curve = {"eval": 0.0, "start": 0.0}, []
        reached = lambda: bool(curve) and curve[-1]["test_acc"] >= TARGET  # noqa: E731

        def on_event(e):
            if e["event"] != "batch" or reached():
                return
            self.sync()  # the batch event has synced already; this makes sure
            t0 = time.perf_counter()
            trained = t0 - clock["start"] - clock["eval"]  # training seconds so far, earlier tests taken out
            _, acc = loop.evaluate(run.eval_model, self.data.test_x, self.data.test_y, run.channels_last)
            self.sync()
            clock["eval"] += time.perf_counter() - t0
            curve.append({"epoch": e["epoch"], "step": e["batch"], "test_acc": round(acc, 4),
                          "train_s": round(trained, 3)})

        every_before, loop.BATCH_EVENT_EVERY = loop.BATCH_EVENT_EVERY, every  # it reports, so we test, that often
        try:
            run = loop._Training(config, self.data, on_event, lambda: NO_STEERING, None)  # fit()'s own parts
            run.start()
            self.sync()
            clock["start"] = time.perf_counter()
            for epoch in range(1, config.recipe.epochs + 1):
                if run.train_one_epoch(epoch, reached) is None:
                    break
        finally:
            loop.BATCH_EVENT_EVERY = every_before
        hit = next((c for c in curve if c["test_acc"] >= TARGET), None)
        return {"model": model, "batch_size": config.recipe.batch_size, "lr": config.recipe.lr,
                "eval_every_steps": every, "seconds_to_99": hit and hit["train_s"],
                "reached_at": hit and {"epoch": hit["epoch"], "step": hit["step"]},
                "best_test_acc": max(c["test_acc"] for c in curve), "evaluations": len(curve)}

    def predict_and_evaluate(self, checkpoint: Path) -> dict:
        """A run's checkpoint on this device: all test digits evaluated, and read one by one through the
        Draw page's preprocessing; the same answers as on the CPU?"""
        from netlib.analysis.evaluation import evaluate
        from netlib.analysis.predict import probabilities
        from netlib.analysis.preprocess import prepare
        from netlib.checkpoint import load_checkpoint
        from netlib.data import load_mnist, synthetic_digits

        cpu_model, _ = load_checkpoint(checkpoint)
        model, _ = load_checkpoint(checkpoint)
        model.to(self.device)
        images, labels = synthetic_digits(500, seed=2) if self.dry else load_mnist(False)
        here, cpu = evaluate(model, images, labels.numpy()), evaluate(cpu_model, images, labels.numpy())
        digits = [prepare(255 - images[i].numpy()) for i in range(20)]  # dark on light, as a person's upload
        read = [int(probabilities(model, d.tensor.to(self.device)).argmax()) for d in digits if not d.blank]
        read_cpu = [int(probabilities(cpu_model, d.tensor).argmax()) for d in digits if not d.blank]
        return {"evaluate_acc": round(here.accuracy, 4), "evaluate_s": round(here.seconds, 3),
                "same_answers_as_cpu": int((here.predictions == cpu.predictions).sum()), "of": len(labels),
                "predict_read": len(read), "predict_same_as_cpu": read == read_cpu}


def cli(*args: str, wait: bool = True):
    """`python -m netlib ...` as a person types it; the finished process (or the running one)."""
    cmd = [sys.executable, "-m", "netlib", *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)


def wait_for(what: str, condition, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def run_facts(run_dir: Path) -> dict:
    from netlib.runs.reader import read_run

    info = read_run(run_dir)
    starts = [e for e in info.events if e.get("event") == "start"]
    return {"status": info.status, "epochs": len(info.epochs), "devices": [e.get("device") for e in starts],
            "batch_size": info.config["recipe"]["batch_size"], "lr": info.config["recipe"]["lr"]}


def controls(bench: Bench, root: Path) -> dict:
    """Through the CLI and the dashboard's own steering calls: a CPU run given +1 epoch on the GPU and
    +1 back on the CPU; a GPU run paused, resumed and stopped."""
    from netlib.lab import steering
    from netlib.runs.reader import read_status

    gpu, data = bench.device, (["--synthetic", str(bench.synthetic)] if bench.dry else ["--limit", "6000"])
    moved = root / "moved"
    steps = [("train_on_cpu", ["train", "--model", "residual", "--device", "cpu", "--epochs", "1", *data,
                               "--run-dir", str(moved)]),
             (f"plus_1_epoch_on_{gpu}", ["train", "--extend", str(moved), "--device", gpu]),
             ("plus_1_epoch_back_on_cpu", ["train", "--extend", str(moved), "--device", "cpu"])]
    out = {}
    for name, args in steps:
        t0 = time.perf_counter()
        done = cli(*args, "--quiet")
        out[name] = {"exit": done.returncode, "wall_s": round(time.perf_counter() - t0, 2),
                     **({"error": done.stderr.strip()[-300:]} if done.returncode else {})}
    out["moved_run"] = run_facts(moved)

    steered = root / "steered"  # long enough to steer: it is stopped long before its last epoch
    proc = cli("train", "--model", "residual", "--device", gpu, "--epochs", "100", "--quiet",
               "--run-dir", str(steered), *(["--synthetic", str(bench.synthetic)] if bench.dry else []), wait=False)
    try:
        status = lambda: (read_status(steered) or {}).get("status")  # noqa: E731
        wait_for("the GPU run's first epoch", lambda: (read_status(steered) or {}).get("epoch", 0) >= 1)
        t0 = time.perf_counter()
        steering.pause(steered, True)
        wait_for("paused", lambda: status() == "paused")
        paused_after = time.perf_counter() - t0
        held = run_facts(steered)["epochs"]
        time.sleep(1.0)
        still = run_facts(steered)["epochs"] == held and status() == "paused"
        steering.pause(steered, False)
        wait_for("running again", lambda: status() == "running")
        t0 = time.perf_counter()
        steering.stop(steered)
        code = proc.wait(timeout=STEP_TIMEOUT_S)
        out["steered_run"] = {**run_facts(steered), "exit": code, "pause_took_s": round(paused_after, 3),
                              "held_while_paused": still, "stop_took_s": round(time.perf_counter() - t0, 3)}
    finally:
        if proc.poll() is None:
            proc.kill()
    return out


def main(argv=None) -> int:
    args = parse(argv)
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(NO_CUDA, file=sys.stderr)
        return NO_CUDA_EXIT
    t_all = time.perf_counter()
    bench = Bench(args.dry_run)
    epochs = 1 if args.dry_run else args.epochs
    summary = {"dry_run": args.dry_run, "device": bench.device, "torch": torch.__version__,
               "gpu": torch.cuda.get_device_name(0) if bench.device == "cuda" else None}
    summary["epoch_seconds"] = {m: bench.epoch_seconds(m, epochs + 1) for m in ("residual", "inception")}
    summary["epoch_seconds_at_batch_128"] = {  # the CPU's batch on the GPU: what the automatic choice saves
        m: bench.epoch_seconds(m, 2, batch_size=128) for m in ("residual", "inception")}
    summary["time_to_99"] = bench.time_to_target("residual", args.eval_every)
    with tempfile.TemporaryDirectory(prefix="bench_gpu-") as tmp:
        os.environ["NETLIB_RUNS_DIR"] = tmp  # nothing of this script lands in a runs folder of yours
        summary["controls"] = controls(bench, Path(tmp))
        summary["predict_evaluate"] = bench.predict_and_evaluate(Path(tmp) / "steered" / "checkpoint.pt")
    summary["wall_s"] = round(time.perf_counter() - t_all, 1)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
