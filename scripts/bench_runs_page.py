"""Benchmark: the Runs page (the lab notebook) over many run folders: python scripts/bench_runs_page.py [N] [--dir DIR]

Makes N fake, well-formed runs (scripts/make_runs.py; default 500) unless DIR already holds runs, then times
netlib.runs.notebook.notebook_rows (the listing: config, status, meta and a bounded tail per run) and the
Runs page rendered by AppTest (the app's frame first, then the page, then a rerun as a click makes).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, nargs="?", default=500)
    p.add_argument("--dir", type=Path, help="a runs folder to use (made if it holds no runs)")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-runs-")) / "runs"
    os.environ["NETLIB_RUNS_DIR"] = str(root)
    from netlib.runs.notebook import notebook_rows

    if not notebook_rows(root, include_archived=True):
        import make_runs
        import random

        root.mkdir(parents=True, exist_ok=True)
        rng = random.Random(0)
        for i in range(args.n):
            make_runs.make_run(root, i, rng, 100)
    rows = notebook_rows(root, include_archived=True)
    listing = timed(lambda: notebook_rows(root, include_archived=True), args.repeat)
    print(f"{len(rows)} runs in {root}")
    print(f"notebook_rows: median {statistics.median(listing):.3f} s, max {max(listing):.3f} s ({args.repeat} calls)")

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    t0 = time.perf_counter()
    at.switch_page("app_pages/runs.py").run()
    first = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[0].value.shape[0]
    reruns = timed(at.run, args.repeat)
    print(f"Runs page, {shown} rows: first render {first:.2f} s; rerun median {statistics.median(reruns):.2f} s, "
          f"max {max(reruns):.2f} s (AppTest, app frame included)")
    if args.dir is None:  # the fake runs were this script's own
        shutil.rmtree(root.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
