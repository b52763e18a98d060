"""Benchmark: training throughput while the Train page streams the run vs the same run headless.

Usage: python scripts/bench_ui_overhead.py [--model residual] [--limit 30000] [--epochs 2]
Starts a real `streamlit run app.py` and Debian's Chromium (Playwright) on the Train page; the page
attaches to the newest live run and redraws it every second while the run trains.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def train(run_dir: Path, args) -> float:
    """Run the CLI to completion; mean samples/s over its epochs."""
    cmd = [sys.executable, "-m", "netlib", "train", "--model", args.model, "--limit", str(args.limit),
           "--epochs", str(args.epochs), "--run-dir", str(run_dir), "--quiet"]
    subprocess.run(cmd, check=True, cwd=REPO)
    events = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = [e["samples_per_s"] for e in events if e["event"] == "epoch"]
    return sum(rates) / len(rates)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="residual")
    p.add_argument("--limit", type=int, default=30000)
    p.add_argument("--epochs", type=int, default=2)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    runs = Path(tempfile.mkdtemp(prefix="netlib-ui-bench-"))
    headless = train(runs / "headless", args)

    port = free_port()
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs)}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for _ in range(60):
                try:
                    page.goto(f"http://localhost:{port}/train", timeout=5000)
                    break
                except Exception:
                    time.sleep(1)
            page.wait_for_selector("text=Train", timeout=30000)
            streamed = train(runs / "streamed", args)  # the open page attaches to it and streams it
            attached = page.locator("text=streamed").count() > 0
            browser.close()
    finally:
        os.killpg(server.pid, 15)
    print(f"{args.model}, {args.limit} images x {args.epochs} epochs: headless {headless:,.0f} samples/s, "
          f"with the Train page streaming {streamed:,.0f} samples/s = {100 * streamed / headless:.0f}%"
          f" (page attached to the run: {attached})")


if __name__ == "__main__":
    main()
