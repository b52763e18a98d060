"""Benchmark: many visitors at once. N browser sessions draw digits on the Draw page of one server while a run trains.

Usage: python scripts/bench_load.py [--sessions 1,5,10] [--digits-per-session 5] [--train | --no-train]
                                    [--watch | --no-watch] [--model residual] [--limit 60000] [--no-floor]
One `streamlit run app.py` (a free port, a fresh NETLIB_RUNS_DIR, headless). First the training run alone
(`python -m netlib train`, no server: the headless figure), then the server: the first render of Results
and Inspect in a new session (cold: the server's first visitor there; fresh: a new visitor; cached: a new tab of
that visitor, its browser cache warm) and, unless --no-floor, of a minimal one-chart page on a server of
its own (scripts/_load_floor_app.py: what the browser and framework cost before the lab adds anything), then the
same run training in the server's runs folder (watched on the Train page by one more session unless
--no-watch) while, for each N, N Playwright contexts (async: they act at once) each draw
--digits-per-session digits stroke by stroke (tests/test_browser_draw.py's strokes), reading each answer.
Per N: p50/p95/max ms from a stroke's mouse-up to the new answer shown (the page's own clock; includes
the canvas component's 200 ms debounce), errors (timeouts, exceptions or errors shown, console and page
errors, no reading shown), digits read otherwise than drawn, the server's CPU (its process tree; cores
busy on average) and RSS (from before any session to the end of this N), and the run's training
throughput in the window as a share of headless. A table, then one JSON line per N.
A quick end-to-end check: --sessions 1,2 --digits-per-session 2 --limit 2000 (figures mean nothing then).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _load_session as ls  # noqa: E402
from _load_stats import latency_summary, share, window_rate  # noqa: E402
from _load_usage import Usage  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RENDER_PAGES = (("results", "Results"), ("inspect", "Inspect"))


# ---------------------------------------------------------------- processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(runs: Path, script: str = "app.py") -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "NETLIB_RUNS_DIR": str(runs), "PYTHONUNBUFFERED": "1"}
    log = open(runs.parent / f"server-{Path(script).stem}.log", "wb")  # noqa: SIM115 - open while it runs
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
                               "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)  # its own process group: stopped as a whole
    for _ in range(240):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, f"http://localhost:{port}"
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"streamlit did not start; see {log.name}")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)  # the whole process group start_server began
    server.wait(30)


def start_run(run_dir: Path, args, epochs: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "netlib", "train", "--model", args.model, "--limit", str(args.limit),
           "--epochs", str(epochs), "--run-dir", str(run_dir), "--quiet"]
    return subprocess.Popen(cmd, cwd=REPO, start_new_session=True)


def events(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def wait_live(run_dir: Path, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    """Until the run has reported a batch (its data loaded, training under way)."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if any(e.get("event") == "batch" for e in events(run_dir)):
            return
        time.sleep(0.2)
    raise SystemExit(f"the training run did not start within {timeout:.0f} s (exit code {proc.poll()}): {run_dir}")


def headless_rate(runs: Path, args) -> dict:
    """The same training alone, before the server starts: the figure the loaded run is compared with."""
    run_dir = runs.parent / "headless"
    proc = start_run(run_dir, args, args.headless_epochs)
    if proc.wait() != 0:
        raise SystemExit(f"headless training failed: {' '.join(proc.args)}")
    return window_rate(events(run_dir))


# ---------------------------------------------------------------- the benchmark
async def one_n(browser, url: str, n: int, usage: Usage, args) -> dict:
    """N sessions open the Draw page, then all draw at once; their latencies, errors and the server's use."""
    sessions = await asyncio.gather(*(ls.open_draw(browser, url, i, args.timeout) for i in range(n)))
    usage.mark()
    t0 = time.time()
    await asyncio.gather(*(ls.draw_session(s, args.digits_per_session, 1000 * n + s.stats.index, args.timeout)
                           for s in sessions))
    t1 = time.time()
    used = usage.phase()
    await asyncio.gather(*(s.context.close() for s in sessions))
    stats = [s.stats for s in sessions]
    errors: dict[str, int] = {}
    for s in stats:
        for kind, k in s.errors.items():
            errors[kind] = errors.get(kind, 0) + k
    return {"sessions": n, "t0": t0, "t1": t1, "seconds": t1 - t0,
            **latency_summary([x for s in stats for x in s.latencies_ms]),
            "rerun_start_p50_ms": latency_summary([x for s in stats for x in s.rerun_ms])["p50_ms"],
            "page_load_max_s": max(s.load_s for s in stats), "digits": sum(s.digits for s in stats),
            "misread": sum(s.misread for s in stats), "errors": sum(errors.values()), "error_kinds": errors,
            "error_notes": [note for s in stats for note in s.notes][:10], **used}


async def first_renders(browser, url: str, timeout: float, pages=RENDER_PAGES) -> list[dict]:
    """Each page three times, each a new session: the server's first visitor there (cold), a new
    visitor (fresh: a new browser context, so the app's scripts are downloaded again) and a returning
    one (cached: a new tab in the fresh visitor's context)."""
    out, context = [], None
    for path, title in pages:
        for kind in ("cold", "fresh", "cached"):
            got, context = await ls.first_render(browser, url, path, title, timeout,
                                                 context if kind == "cached" else None)
            out.append({"kind": kind, **got, "page": path or title.lower()})
            if kind != "fresh":
                await context.close()
    return out


async def floor_renders(browser, runs: Path, timeout: float) -> list[dict]:
    """The same three visits to scripts/_load_floor_app.py on a server of its own: the framework's floor."""
    server, url = start_server(runs, "scripts/_load_floor_app.py")
    try:
        context, page = await ls.new_page(browser, timeout)  # the first page load compiles the script
        await page.goto(url)
        await page.locator(ls.CONTENT).first.wait_for(state="visible", timeout=120_000)
        await context.close()
        return await first_renders(browser, url, timeout, pages=(("", "Floor"),))
    finally:
        stop_server(server)


async def bench(url: str, server: subprocess.Popen, runs: Path, args, headless: dict | None) -> tuple[list, list, dict]:
    from playwright.async_api import async_playwright

    train, run_dir, watcher, results = None, runs / "20990101-000000-load-bench", None, []
    async with async_playwright() as pw:
        browser = await ls.launch(pw)
        warm_ctx, warm = await ls.new_page(browser, args.timeout)  # the first page load compiles the app
        await warm.goto(url)
        await warm.wait_for_selector("text=Device", timeout=120_000)
        await warm_ctx.close()
        renders = await first_renders(browser, url, args.timeout)
        if args.floor:
            renders += await floor_renders(browser, runs, args.timeout)
        try:
            if args.train:
                train = start_run(run_dir, args, epochs=1000)  # the most allowed: stopped when the sessions are done
                await asyncio.to_thread(wait_live, run_dir, train)
                if args.watch:
                    watcher, attached = await ls.watch_train(browser, url, run_dir.name, args.timeout)
                    print(f"Train page watching the run: {'attached' if attached else 'NOT attached'}", flush=True)
            usage = Usage(server.pid, {train.pid} if train else set())
            for n in args.sessions:
                results.append(await one_n(browser, url, n, usage, args))
                print(f"  N={n}: done in {results[-1]['seconds']:.0f} s", flush=True)
            usage.stop.set()
        finally:
            if watcher is not None:
                await watcher.close()
            if train is not None:
                train.send_signal(signal.SIGTERM)  # a clean stop at the next batch
                try:
                    await asyncio.to_thread(train.wait, 120)
                except subprocess.TimeoutExpired:
                    train.kill()
            await browser.close()
    run = events(run_dir) if args.train else []
    for r in results:
        r["train"] = window_rate(run, r["t0"], r["t1"]) if args.train else None
        r["train_share"] = share(r["train"]["rate"], headless and headless["rate"]) if args.train else None
    return results, renders, headless or {}


def report(results: list[dict], renders: list[dict], headless: dict, args) -> None:
    fmt = lambda v, f="{:.0f}": "—" if v is None else f.format(v)  # noqa: E731
    print("\nFirst render in a fresh session (s from goto; target <= 3 s; floor: a minimal page with one "
          "chart, scripts/_load_floor_app.py):")
    print(f"{'page':8s} {'visit':6s} {'heading':>8s} {'content':>8s} {'idle':>6s} errors")
    for r in renders:
        print(f"{r['page']:8s} {r['kind']:6s} {fmt(r.get('heading_s'), '{:.2f}'):>8s} "
              f"{fmt(r.get('content_s'), '{:.2f}'):>8s} {fmt(r.get('idle_s'), '{:.2f}'):>6s} {r['errors']}")
    base = headless.get("rate")
    print(f"\nDraw page, {args.digits_per_session} digit(s) per session; training {args.model} "
          f"(--limit {args.limit}): headless {fmt(base, '{:,.0f}')} samples/s"
          + ("" if args.train else " (no training: --no-train)"))
    print(f"{'N':>3s} {'strokes':>7s} {'p50 ms':>7s} {'p95 ms':>7s} {'max ms':>7s} {'errors':>6s} {'misread':>7s} "
          f"{'CPU':>5s} {'Chrome':>6s} {'RSS MB':>7s} {'growth':>7s} {'peak':>6s} {'train/s':>8s} {'share':>6s}")
    for r in results:
        rate = r["train"]["rate"] if r["train"] else None
        print(f"{r['sessions']:3d} {r['n']:7d} {fmt(r['p50_ms']):>7s} {fmt(r['p95_ms']):>7s} {fmt(r['max_ms']):>7s} "
              f"{r['errors']:6d} {r['misread']:7d} {r['server_cpu_cores']:5.2f} {r['browser_cpu_cores']:6.2f} "
              f"{r['rss_end_mb']:7.0f} "
              f"{r['rss_growth_mb']:+7.0f} {r['rss_peak_mb']:6.0f} {fmt(rate, '{:,.0f}'):>8s} "
              f"{fmt(r['train_share'] and 100 * r['train_share'], '{:.0f}%'):>6s}")
        for note in r["error_notes"]:
            print(f"      {note}")
    if any(r["train"] and r["train"]["basis"] == "epochs" for r in results):
        print("train/s from whole epochs that ended in the window (too few batch reports in it): a rough figure")
    print("CPU: the server's process tree, Chrome: Chromium's (the sessions'), cores busy on average; growth: "
          "the server's RSS now minus before any session.")
    for r in results:
        print(json.dumps({"bench": "load", "model": args.model, "limit": args.limit,
                          "headless_rate": base, "watched": args.watch and args.train,
                          **{k: v for k, v in r.items() if k not in ("t0", "t1")}}))
    print(json.dumps({"bench": "first_render", "renders": renders}))


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", default="1,5,10", type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                   help="numbers of simultaneous sessions, one measurement each (default 1,5,10)")
    p.add_argument("--digits-per-session", type=int, default=5)
    p.add_argument("--train", action=argparse.BooleanOptionalAction, default=True,
                   help="a run trains meanwhile (default on)")
    p.add_argument("--watch", action=argparse.BooleanOptionalAction, default=True,
                   help="one more session watches the run on the Train page (default on)")
    p.add_argument("--model", choices=["residual", "inception"], default="residual")
    p.add_argument("--limit", type=int, default=60000, help="training images per epoch")
    p.add_argument("--headless-epochs", type=int, default=1)
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a session waits for an answer")
    p.add_argument("--floor", action=argparse.BooleanOptionalAction, default=True,
                   help="also time the first render of a minimal one-chart Streamlit page (default on)")
    return p.parse_args()


def main() -> None:
    args = parse()
    runs = Path(tempfile.mkdtemp(prefix="netlib-load-bench-")) / "runs"
    runs.mkdir()
    headless = headless_rate(runs, args) if args.train else None
    if headless:
        print(f"headless: {headless['rate']:,.0f} samples/s", flush=True)
    server, url = start_server(runs)
    try:
        results, renders, headless = asyncio.run(bench(url, server, runs, args, headless))
    finally:
        stop_server(server)
    report(results, renders, headless, args)
    print(f"(runs and the server log: {runs.parent})")


if __name__ == "__main__":
    main()
