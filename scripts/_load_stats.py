"""Pure figures for scripts/bench_load.py: latency percentiles and a run's throughput within a time window."""

from __future__ import annotations

import math


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between the closest ranks (numpy's default); None when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def latency_summary(ms: list[float]) -> dict:
    """n, p50, p95 and max of a list of latencies (ms)."""
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
            "max_ms": max(ms) if ms else None}


def batch_times(events: list[dict]) -> list[tuple[float, dict]]:
    """(wall clock, event) of each batch event: the run's start time, plus the previous epoch's end
    (its evaluation included), plus the seconds into its own epoch."""
    start = next((e["time"] for e in events if e.get("event") == "start"), None)
    if start is None:
        return []
    ends = {e["epoch"]: e["elapsed"] for e in events if e.get("event") == "epoch"}
    return [(start + ends.get(e["epoch"] - 1, 0.0) + e["seconds"], e) for e in events if e.get("event") == "batch"]


def window_rate(events: list[dict], since: float = -math.inf, until: float = math.inf) -> dict:
    """Training samples per second (evaluation excluded) within [since, until]: per epoch, from its first
    batch report in the window to its last (a batch event's samples and seconds count from its epoch's
    start); basis "batches". Where no epoch has two reports in the window (a short window, small epochs):
    the epochs that ended in it, by their own samples_per_s; basis "epochs". Rate None when neither."""
    by_epoch: dict[int, list[dict]] = {}
    for t, e in batch_times(events):
        if since <= t <= until:
            by_epoch.setdefault(e["epoch"], []).append(e)
    samples = seconds = 0.0
    for chunk in by_epoch.values():
        if len(chunk) >= 2:
            samples += chunk[-1]["samples"] - chunk[0]["samples"]
            seconds += chunk[-1]["seconds"] - chunk[0]["seconds"]
    if seconds > 0:
        return {"rate": samples / seconds, "samples": samples, "seconds": seconds, "basis": "batches"}
    start = next((e for e in events if e.get("event") == "start"), {})
    ended = [e for e in events if e.get("event") == "epoch" and since <= start.get("time", 0) + e["elapsed"] <= until]
    n = start.get("samples", 0)
    seconds = sum(n / e["samples_per_s"] for e in ended if e.get("samples_per_s"))
    return {"rate": n * len(ended) / seconds if seconds > 0 else None, "samples": n * len(ended),
            "seconds": seconds, "basis": "epochs" if seconds > 0 else None}


def share(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None
