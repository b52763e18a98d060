"""Benchmark: the network's map. python scripts/bench_map.py [--n 2000] [--repeat 3] [--no-browser] [--compare]

Times, per shipped checkpoint, a PCA map of the first N test digits (features included: the network's
forward pass, PCA, then the separation figures apart) and a t-SNE map (openTSNE); --compare also times
scikit-learn's t-SNE on the same features (the choice docs/design.md explains). Then the Map page's first
render in a fresh browser with the server's cache warm: `streamlit run app.py`, one visit to warm it, then a
new browser context timed from navigation to the map's points drawn. Prints the load average around it.
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
import timeit
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CHROMIUM = Path("/usr/bin/chromium")
MODELS = ("inception", "residual")


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm: imports, first-call setup
    return timeit.repeat(fn, number=1, repeat=repeat)


def bench_library(n: int, repeat: int, compare: bool) -> list[dict]:
    import torch

    from netlib.checkpoint import load_checkpoint
    from netlib.data import load_mnist
    from netlib.embedding.features import features
    from netlib.embedding.maps import build_map
    from netlib.embedding.project import project
    from netlib.lab import catalogue

    torch.set_num_threads(1)  # as the app's server runs it
    images, labels = load_mnist(False)
    images, labels = images[:n].numpy(), labels[:n].numpy()
    rows = []
    for model in MODELS:
        net, _ = load_checkpoint(catalogue.shipped_checkpoint(model))
        pca = timed(lambda: project(features(net, images).vectors, "pca"), repeat)
        whole = build_map(net, images, labels, "pca", n)
        tsne = timed(lambda: build_map(net, images, labels, "tsne", n), 1)
        row = {"model": model, "digits": n, "pca_map_s": statistics.median(pca),
               "separation_s": whole.seconds["separation"], "tsne_map_s": tsne[0]}
        if compare:
            from sklearn.manifold import TSNE

            vectors = features(net, images).vectors
            row["sklearn_tsne_s"] = timed(lambda: TSNE(2, init="pca", random_state=0, n_jobs=2).fit_transform(vectors), 1)[0]
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return rows


def bench_browser() -> dict:
    """Median seconds (of 3) from a fresh browser context's navigation to the Map page's points drawn, the
    cache warm; to the Home page's title, the floor every page of the app pays here; and to the Results
    page's first chart (its evaluation cached too), what a page with Plotly charts pays."""
    from playwright import sync_api

    env = {**os.environ, "NETLIB_RUNS_DIR": tempfile.mkdtemp(prefix="bench-map-"), "OMP_NUM_THREADS": "1"}
    port = 8600 + os.getpid() % 300
    url = f"http://localhost:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.port",
                             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    drawn = "() => { const g = document.querySelector('.st-key-map_one .js-plotly-plot');" \
            " return !!(g && g._fullData && g._fullData.length >= 10 && g.querySelector('.point')); }"
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read()
                break
            except OSError:
                time.sleep(0.25)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox",
                                                                             "--disable-gpu"])
            warm = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            warm.goto(f"{url}/map")
            warm.wait_for_function(drawn, timeout=180_000)  # the map computed once, the server's cache warm
            seconds = {"map": [], "home": [], "results": []}  # Home: what any page here takes to come up; Results: to its first chart
            for _ in range(3):
                for page, ready in (("map", drawn), ("", "() => !!document.querySelector('h1')"),
                                    ("results", "() => !!document.querySelector('.js-plotly-plot .main-svg')")):
                    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
                    t0 = time.perf_counter()
                    fresh.new_page().goto(f"{url}/{page}")
                    fresh.pages[0].wait_for_function(ready, timeout=60_000, polling=50)
                    seconds[page or "home"].append(time.perf_counter() - t0)
                    fresh.close()
            browser.close()
        return {f"{k}_first_render_fresh_browser_s": round(statistics.median(v), 3) for k, v in seconds.items()}
    finally:
        os.killpg(proc.pid, 15)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-browser", action="store_true")
    p.add_argument("--compare", action="store_true", help="also scikit-learn's t-SNE")
    args = p.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs", flush=True)
    bench_library(args.n, args.repeat, args.compare)
    if not args.no_browser:
        print(json.dumps(bench_browser()), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
