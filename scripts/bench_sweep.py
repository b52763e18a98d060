"""Benchmark: what a sweep costs beyond its runs' own training, per trial and for the whole grid.

Usage: python scripts/bench_sweep.py [--model residual] [--limit 6000] [--epochs 1] [--storage URL]
A grid of 12 trials (3 learning rates x 2 batch sizes x 2 seeds) in a fresh runs folder, worked by one
`python -m netlib sweep work` process. Per trial: the trial's time in the study (taken -> told) minus its
run's own training time (status.json "elapsed"). Whole grid: the worker's wall time (its own start
included: Python, torch, MNIST) over the sum of the runs' training times, and the same from its first
trial's start to its last trial's end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def netlib(*args: str, env: dict) -> str:
    out = subprocess.run([sys.executable, "-m", "netlib", *args], cwd=REPO, env=env, capture_output=True,
                         text=True, check=False)
    if out.returncode:
        sys.exit(f"python -m netlib {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="residual")
    p.add_argument("--limit", type=int, default=6000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--storage", help="a database URL (default: the journal file in a fresh runs folder)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NETLIB_RUNS_DIR": str(Path(tmp) / "runs")}
        if args.storage:
            env["NETLIB_OPTUNA_STORAGE"] = args.storage
        name = f"bench-{int(time.time())}"
        netlib("sweep", "create", name, "--model", args.model, "--lr", "0.003,0.005,0.01", "--batch-size", "64,128",
               "--seeds", "0,1", "--epochs", str(args.epochs), "--limit", str(args.limit), env=env)
        t0 = time.perf_counter()
        netlib("sweep", "work", name, env=env)
        wall = time.perf_counter() - t0
        trials = [json.loads(line) for line in netlib("sweep", "show", name, "--json", env=env).splitlines()][:-1]
        report(trials, wall, Path(tmp) / "runs", args)


def trial_span(runs: Path, trials: list[dict]) -> float:
    """Seconds from the first trial's run being submitted to the queue to the last trial's final status."""
    folders = [runs / t["run"] for t in trials]
    first = min(json.loads((f / "queued.json").read_text())["submitted"] for f in folders)
    return max((f / "status.json").stat().st_mtime for f in folders) - first


def report(trials: list[dict], wall: float, runs: Path, args) -> None:
    rows = []
    for t in trials:
        status = json.loads((runs / t["run"] / "status.json").read_text())
        rows.append({"trial": t["number"], "state": t["state"], "trial_s": t["seconds"], "run_s": status["elapsed"],
                     "overhead_s": t["seconds"] - status["elapsed"], "acc": t["value"]})
    training = sum(r["run_s"] for r in rows)
    over = [r["overhead_s"] for r in rows]
    summary = {"model": args.model, "limit": args.limit, "epochs": args.epochs, "trials": len(rows),
               "states": sorted({r["state"] for r in rows}), "worker_wall_s": round(wall, 2),
               "sum_training_s": round(training, 2), "ratio": round(wall / training, 3),
               "trials_span_s": round(trial_span(runs, trials), 2),
               "ratio_without_worker_start": round(trial_span(runs, trials) / training, 3),
               "overhead_per_trial_s": {"median": round(statistics.median(over), 3), "max": round(max(over), 3)},
               "storage": "database" if args.storage else "journal file"}
    for r in rows:
        print(f"trial {r['trial']:>2} {r['state']:<9} trial {r['trial_s']:6.2f} s  run {r['run_s']:6.2f} s  "
              f"overhead {r['overhead_s']:5.2f} s  {r['acc']:.2f}%")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
