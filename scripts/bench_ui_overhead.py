"""Benchmark: training throughput while the Train or Compare page watches a run vs the same run headless.

Usage: python scripts/bench_ui_overhead.py [--model residual|inception|both] [--page train|compare|both]
                                           [--pairs 3] [--limit 60000] [--epochs 2] [--json]
For each network and page: `--pairs` alternating pairs (a run headless, then the same run while a real
Chromium (Playwright) has the page open and streaming it, then headless again...), each a CLI
`python -m netlib train` against one real `streamlit run app.py`. Prints, per page and network, the
median of the pairs' throughput ratios, and while watching: the server's and Chromium's CPU seconds per
second (their whole process trees, psutil), the page's renderer main-thread busy seconds per second (CDP
Performance.getMetrics TaskDuration) and the websocket bytes per second sent to the page.
A quick end-to-end check: --limit 2000 --epochs 1 --pairs 1 (the figures mean nothing at that size).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load_stats import window_rate  # noqa: E402  a sibling script's module, shared with bench_load

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {"train": "/train", "compare": "/compare?run={name}"}  # Compare overlays the watched run alone


# ---------------------------------------------------------------- runs
def start_run(run_dir: Path, model: str, args) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "netlib", "train", "--model", model, "--limit", str(args.limit),
           "--epochs", str(args.epochs), "--run-dir", str(run_dir), "--quiet"]
    return subprocess.Popen(cmd, cwd=REPO)


def finish(proc: subprocess.Popen) -> None:
    if proc.wait() != 0:
        raise SystemExit(f"training failed: {' '.join(proc.args)}")


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def steady_rate(evs: list[dict], since: float = 0.0) -> float:
    """Samples per second of training (evaluation excluded) from wall clock `since` on: the same rule
    headless and watched (scripts/_load_stats.window_rate: each epoch's first and last batch report in the
    window, so an epoch's first report, warm-up or the page still loading, is a start line, not a sample)."""
    rate = window_rate(evs, since=since)["rate"]
    if rate is None:
        raise RuntimeError("no training to measure in the window: a longer run (--limit, --epochs) is needed")
    return rate


def wait_live(run_dir: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until the run has reported a batch (the pages attach to live runs), or it ended."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        metrics = run_dir / "metrics.jsonl"
        if metrics.is_file() and b'"batch"' in metrics.read_bytes():
            return
        time.sleep(0.1)


# ---------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[psutil.Process]:
    try:
        p = psutil.Process(pid)
        return [p, *p.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """User + system CPU seconds of the processes still alive (one that exits takes its share along)."""
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def chromium_procs() -> list[psutil.Process]:
    return [p for p in tree(os.getpid()) if "chrom" in p.name().lower()]


def start_server(runs: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs)}
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    for _ in range(120):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.5)
    raise SystemExit("streamlit did not start")


# ---------------------------------------------------------------- one watched run
def watched(browser, port: int, page_name: str, run_dir: Path, model: str, args) -> dict:
    """Train while a fresh page (a new Streamlit session) watches the run; the run's rate from the moment
    the page shows its charts, and what the server and the browser spent meanwhile."""
    proc = start_run(run_dir, model, args)
    wait_live(run_dir, proc)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    received = [0]
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: received.__setitem__(
        0, received[0] + len(data if isinstance(data, (bytes, bytearray)) else data.encode()))))
    page.goto(f"http://localhost:{port}{PAGES[page_name].format(name=run_dir.name)}", timeout=60000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    try:  # attached: the page shows the run's charts
        page.wait_for_selector(".js-plotly-plot", timeout=60000)
        attached = page.get_by_text(run_dir.name).count() > 0
    except Exception:  # noqa: BLE001 - reported as not attached, never silently counted
        attached = False
    server_procs, browser_procs = tree(SERVER_PID[0]), chromium_procs()
    t0, bytes0 = time.time(), received[0]
    cpu0 = (cpu_seconds(server_procs), cpu_seconds(browser_procs), task_seconds(cdp))
    while proc.poll() is None:  # keep the page's event loop turning (websocket frames are counted here)
        page.wait_for_timeout(200)
    t1 = time.time()
    cpu1 = (cpu_seconds(server_procs), cpu_seconds(browser_procs), task_seconds(cdp))
    sent = received[0] - bytes0
    page.close()
    finish(proc)
    span = max(t1 - t0, 1e-9)
    return {"rate": steady_rate(events(run_dir), since=t0), "attached": attached, "seconds": span,
            "server_cpu": (cpu1[0] - cpu0[0]) / span, "browser_cpu": (cpu1[1] - cpu0[1]) / span,
            "renderer_busy": (cpu1[2] - cpu0[2]) / span, "ws_bytes_per_s": sent / span}


def task_seconds(cdp) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics.get("TaskDuration", 0.0)


SERVER_PID = [0]


# ---------------------------------------------------------------- the benchmark
def bench(browser, port: int, runs: Path, model: str, page_name: str, args, counter: list[int]) -> dict:
    pairs = []
    for i in range(args.pairs):
        counter[0] += 1  # names sort oldest first: Compare picks the newest run of each network
        base = f"bench-{counter[0]:03d}-{model}-{page_name}"
        proc = start_run(runs / f"{base}-headless", model, args)
        finish(proc)
        headless = steady_rate(events(runs / f"{base}-headless"))
        w = watched(browser, port, page_name, runs / f"{base}-watched", model, args)
        pairs.append({"headless": headless, **w, "ratio": w["rate"] / headless})
        print(f"  {model} on {page_name}, pair {i + 1}: headless {headless:,.0f}, watched {w['rate']:,.0f} "
              f"samples/s = {100 * pairs[-1]['ratio']:.0f}%; server {w['server_cpu']:.2f}, Chromium "
              f"{w['browser_cpu']:.2f} CPU s/s, renderer busy {w['renderer_busy']:.2f} s/s, "
              f"{w['ws_bytes_per_s'] / 1000:.1f} kB/s to the page (attached: {w['attached']})", flush=True)
    med = {k: statistics.median(p[k] for p in pairs)
           for k in ("ratio", "headless", "rate", "server_cpu", "browser_cpu", "renderer_busy", "ws_bytes_per_s")}
    return {"model": model, "page": page_name, "pairs": pairs, "median": med,
            "all_attached": all(p["attached"] for p in pairs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=["residual", "inception", "both"], default="both")
    p.add_argument("--page", choices=["train", "compare", "both"], default="both")
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--limit", type=int, default=60000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--json", action="store_true", help="one JSON object with every pair at the end")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    models = ["residual", "inception"] if args.model == "both" else [args.model]
    pages = ["train", "compare"] if args.page == "both" else [args.page]
    runs = Path(tempfile.mkdtemp(prefix="netlib-ui-bench-"))
    server, port = start_server(runs)
    SERVER_PID[0] = server.pid
    results, counter = [], [0]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            warm = browser.new_page()  # the first page load compiles the app: not inside any measurement
            warm.goto(f"http://localhost:{port}/", timeout=60000)
            warm.wait_for_selector("text=Device", timeout=60000)
            warm.close()
            for model in models:
                for page_name in pages:
                    results.append(bench(browser, port, runs, model, page_name, args, counter))
            browser.close()
    finally:
        os.killpg(server.pid, 15)
    report(results, args)


def report(results: list[dict], args) -> None:
    print(f"\n{args.limit} images x {args.epochs} epochs, median of {args.pairs} alternating pair(s):")
    for r in results:
        m = r["median"]
        print(f"{r['model']:9s} {r['page']:7s}: {100 * m['ratio']:.0f}% of headless ({m['rate']:,.0f} vs "
              f"{m['headless']:,.0f} samples/s); server {m['server_cpu']:.2f} CPU s/s, Chromium "
              f"{m['browser_cpu']:.2f} CPU s/s, renderer busy {m['renderer_busy']:.2f} s/s, "
              f"{m['ws_bytes_per_s'] / 1000:.1f} kB/s"
              + ("" if r["all_attached"] else "  (WARNING: the page did not attach to every run)"))
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
