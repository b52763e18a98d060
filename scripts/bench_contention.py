"""Training throughput beside a bursty CPU load (as a browser redrawing a page), by torch thread settings.

Usage: python scripts/bench_contention.py [--rounds 3] [--limit 15000] [--model residual] [--busy 0.3] [--json]
Each round trains `--limit` images for 1 epoch (`python -m netlib train`) alone and then beside a second
process that is busy `--busy` of every 500 ms, for three settings: torch's default (2 threads here),
the same with OMP_WAIT_POLICY=PASSIVE, and 1 thread. Prints each setting's median samples/s alone and
beside the load, and the ratio. About 2-3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERIOD_S = 0.5
SETTINGS = {"default": ({}, None), "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, None), "1 thread": ({}, 1)}


def busy(share: float, stop) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < share * PERIOD_S:
            pass
        time.sleep(PERIOD_S * (1 - share))


def train_rate(args, env: dict, threads) -> float:
    cmd = [sys.executable, "-m", "netlib", "train", "--model", args.model, "--limit", str(args.limit),
           "--epochs", "1", "--json", "--no-record"] + (["--threads", str(threads)] if threads else [])
    out = subprocess.run(cmd, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return next(e["samples_per_s"] for e in map(json.loads, out.stdout.splitlines()) if e.get("event") == "epoch")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=15000)
    p.add_argument("--model", default="residual")
    p.add_argument("--busy", type=float, default=0.3, help="the other process's busy share of one core")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    rates = {k: {"alone": [], "beside": []} for k in SETTINGS}
    for _ in range(args.rounds):
        for name, (env, threads) in SETTINGS.items():
            rates[name]["alone"].append(train_rate(args, env, threads))
            stop = mp.Event()
            load = mp.Process(target=busy, args=(args.busy, stop))
            load.start()
            try:
                rates[name]["beside"].append(train_rate(args, env, threads))
            finally:
                stop.set()
                load.join()
    rows = [{"setting": k, "alone": round(statistics.median(v["alone"])), "beside": round(statistics.median(v["beside"])),
             "all": {c: [round(x) for x in xs] for c, xs in v.items()}} for k, v in rates.items()]
    for r in rows:
        r["ratio"] = round(r["beside"] / r["alone"], 3)
        if not args.json:
            print(f"{r['setting']:>9}: alone {r['alone']:>6,}  beside the load {r['beside']:>6,} samples/s"
                  f"  = {r['ratio']:.0%}")
    if args.json:
        print(json.dumps({"model": args.model, "limit": args.limit, "busy": args.busy, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
