"""The pure figures of scripts/bench_load.py: percentiles, and a run's throughput within a time window."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))
from _load_stats import latency_summary, percentile, share, window_rate  # noqa: E402


def test_percentiles_interpolate_between_ranks_like_numpy():
    np = pytest.importorskip("numpy")
    values = [120.0, 80.0, 950.0, 300.0, 310.0, 45.0, 600.0]
    for q in (0, 25, 50, 90, 95, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None
    assert latency_summary([]) == {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    assert latency_summary([1.0, 3.0]) == {"n": 2, "p50_ms": 2.0, "p95_ms": pytest.approx(2.9), "max_ms": 3.0}


def run_events() -> list[dict]:
    """Two epochs of 1000 samples, reported every 250; epoch 1 ends (evaluation included) 12 s in."""
    out = [{"event": "start", "time": 1000.0, "samples": 1000}]
    for epoch, rate in ((1, 100.0), (2, 50.0)):
        for samples in (250, 500, 750, 1000):
            out.append({"event": "batch", "epoch": epoch, "samples": samples, "seconds": samples / rate})
        out.append({"event": "epoch", "epoch": epoch, "elapsed": 12.0 if epoch == 1 else 34.0,
                    "samples_per_s": rate})
    return out


def test_window_rate_counts_the_reports_inside_the_window_only():
    evs = run_events()
    # epoch 1's reports at 1002.5 .. 1010, epoch 2's at 1017 .. 1032 (after its 12 s start)
    whole = window_rate(evs)
    assert whole["samples"] == 1500 and whole["seconds"] == pytest.approx(7.5 + 15)
    assert window_rate(evs, until=1011)["rate"] == pytest.approx(100.0)
    assert window_rate(evs, since=1011)["rate"] == pytest.approx(50.0)
    assert window_rate(evs, until=1011)["basis"] == "batches"
    # one report only, no interval to measure: the epoch that ended in the window, by its own figure
    assert window_rate(evs, 1031, 1035) == {"rate": 50.0, "samples": 1000, "seconds": 20.0, "basis": "epochs"}
    assert window_rate(evs, 1004, 1006)["rate"] is None  # neither
    assert window_rate([], 0, 1)["rate"] is None


def test_share_of_nothing_is_none():
    assert share(50.0, 100.0) == 0.5
    assert share(None, 100.0) is None and share(50.0, None) is None and share(50.0, 0.0) is None


def test_the_floor_page_is_a_title_a_metric_and_one_chart():
    """scripts/_load_floor_app.py, the first-render floor bench_load.py times: it must run and hold the one chart."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(SCRIPTS / "_load_floor_app.py")).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Floor"] and len(at.metric) == 1
    assert len(at.get("plotly_chart")) == 1
