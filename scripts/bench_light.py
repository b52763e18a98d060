"""Light commands and live reads: what `runs list`, `queue`, `sweep list|show` and `--help` cost, and what a
page watching a run reads per tick (read_run against RunFollower.poll).

    python scripts/bench_light.py [--runs 50] [--repeats 7] [--log-mb 5 63]

Light commands: a runs folder of N copies of tests/fixtures/run-2026-12-02-residual and a one-point sweep
in its journal file; each command run REPEATS times (median and min wall seconds), and whether it
imported torch (python -X importtime). Live reads: a metrics log made of the fixture's own batch events
repeated to about M MB; ms per call, the median of 20, with nothing new and with one batch event added.
Run it on a quiet machine: it prints the load average first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from netlib.runs.follow import RunFollower  # noqa: E402
from netlib.runs.reader import read_run  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "run-2026-12-02-residual"
COMMANDS = ("runs list", "queue", "sweep list", "sweep show s", "--help")


def light_commands(root: Path, repeats: int) -> None:
    env = {**os.environ, "NETLIB_RUNS_DIR": str(root)}
    subprocess.run([sys.executable, "-m", "netlib", "sweep", "create", "s", "--model", "residual", "--synthetic",
                    "64"], cwd=REPO, env=env, check=True, capture_output=True)
    for words in COMMANDS:
        cmd = [sys.executable, "-m", "netlib", *words.split()]
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, cwd=REPO, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        imports = subprocess.run([sys.executable, "-X", "importtime", *cmd[1:]], cwd=REPO, env=env,
                                 capture_output=True, text=True).stderr
        torch = any(line.rsplit("|", 1)[-1].strip() == "torch" for line in imports.splitlines())
        print(f"{words:14s} median {statistics.median(times):.3f} s  min {min(times):.3f} s  torch: {torch}")


def per_call_ms(fn, n: int = 20) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def live_reads(root: Path, megabytes: float) -> None:
    run = root / f"run-{megabytes:g}mb"
    shutil.copytree(FIXTURE, run)
    lines = (run / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    start, batches = lines[:1], [line for line in lines if b'"event": "batch"' in line]
    with open(run / "metrics.jsonl", "wb") as f:
        f.writelines(start)
        while f.tell() < megabytes * 2**20:
            f.writelines(batches)
    follower = RunFollower(run)
    follower.poll()
    idle = (per_call_ms(lambda: read_run(run)), per_call_ms(follower.poll))

    def grow_then(fn):
        with open(run / "metrics.jsonl", "ab") as f:
            f.write(batches[-1])
        fn()
    grown = (per_call_ms(lambda: grow_then(lambda: read_run(run))), per_call_ms(lambda: grow_then(follower.poll)))
    size = (run / "metrics.jsonl").stat().st_size / 2**20
    print(f"{size:5.1f} MB log: nothing new: read_run {idle[0]:.2f} ms, poll {idle[1]:.3f} ms; "
          f"+1 batch: read_run {grown[0]:.2f} ms, poll {grown[1]:.3f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--log-mb", type=float, nargs="+", default=[5, 63])
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-light-") as tmp:
        root = Path(tmp) / "runs"
        for i in range(args.runs):
            shutil.copytree(FIXTURE, root / f"20260101-{i:06d}-residual-fast-{i:03d}")
        light_commands(root, args.repeats)
        for mb in args.log_mb:
            live_reads(Path(tmp), mb)


if __name__ == "__main__":
    main()
