"""The run queue's benchmark: N runs submitted at once, with the queue and without, against N x one run alone.

    python scripts/bench_queue.py [--runs 6] [--limit 6000] [--threads 2] [--model residual] [--json]

Each run is `python -m netlib train --model M --epochs 1 --limit L --threads T` on MNIST, started through
netlib.runs.queue in a fresh runs folder. Three timings, from submit to the last run's end:
  alone    one run on its own (the machine otherwise quiet): N x this is the target's base;
  queue    N runs submitted together, NETLIB_SLOTS unset (slots = CPU threads): they take turns;
  no queue N runs submitted together with NETLIB_SLOTS=999: every run starts at once.
Run it on a quiet machine: it prints the load average before it starts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netlib.engine.setup import train_config  # noqa: E402
from netlib.request import RunRequest  # noqa: E402
from netlib.runs import queue  # noqa: E402
from netlib.runs.files import ENDED_STATUSES as ENDED  # noqa: E402
from netlib.runs.reader import read_run, read_status  # noqa: E402


def batch(n: int, options: dict, slots: str | None, timeout: float = 1800) -> dict:
    """Submit n runs at once in a fresh runs folder; wall seconds until all have ended, and per run
    its epoch's seconds and when it started (seconds after submit)."""
    if slots is None:
        os.environ.pop(queue.SLOTS_ENV, None)
    else:
        os.environ[queue.SLOTS_ENV] = slots  # the training processes inherit it: their end pumps agree
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        req = RunRequest(**options)
        config = train_config(req).to_dict()
        t0 = time.time()
        dirs = queue.submit(Path(tmp), [queue.Submission("run", req, config) for _ in range(n)])
        while True:
            statuses = [(read_status(d) or {}).get("status") for d in dirs]
            if all(s in ENDED for s in statuses):
                break
            if time.time() - t0 > timeout:
                raise SystemExit(f"bench_queue: runs still going after {timeout:.0f} s: {statuses}")
            queue.pump(Path(tmp))  # reaps finished children; a run's own end pump starts the next
            time.sleep(0.2)
        wall = time.time() - t0
        runs = [read_run(d) for d in dirs]
        bad = [f"{r.name}: {r.status} {r.reason}" for r in runs if r.status != "done"]
        if bad:
            raise SystemExit("bench_queue: " + "; ".join(bad))
        return {"wall_s": round(wall, 1),
                "epoch_s": [round(r.epochs[-1]["seconds"], 1) for r in runs],
                "started_after_s": [round(r.start["time"] - t0, 1) for r in runs]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=6)
    p.add_argument("--limit", type=int, default=6000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--model", default="residual")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    options = {"model": args.model, "epochs": 1, "limit": args.limit, "threads": args.threads, "device": "cpu"}
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} ({os.cpu_count()} CPU threads); {args.runs} x {args.model}, 1 epoch on "
          f"{args.limit:,} images, {args.threads} threads each", file=sys.stderr)
    alone = batch(1, options, None)
    with_queue = batch(args.runs, options, None)
    without = batch(args.runs, options, "999")
    base = args.runs * alone["wall_s"]
    out = {"load_before": round(load, 2), "cpus": os.cpu_count(), "runs": args.runs, "alone": alone,
           "queue": with_queue, "no_queue": without, "n_x_alone_s": round(base, 1),
           "queue_ratio": round(with_queue["wall_s"] / base, 2), "no_queue_ratio": round(without["wall_s"] / base, 2)}
    if args.json:
        print(json.dumps(out))
        return
    print(f"one run alone:      {alone['wall_s']:7.1f} s (epoch {alone['epoch_s'][0]} s); "
          f"{args.runs} x that = {base:.1f} s")
    for label, r in (("with the queue", with_queue), ("no queue (all at once)", without)):
        print(f"{label:23s} {r['wall_s']:7.1f} s = {r['wall_s'] / base:.2f} x; epochs "
              f"{min(r['epoch_s'])}-{max(r['epoch_s'])} s")


if __name__ == "__main__":
    main()
