"""For scripts/bench_load.py: the server's CPU and memory (its process tree) and Chromium's CPU, by phase."""

from __future__ import annotations

import threading
import time

import psutil

MB = 1 / 2**20


def total(procs: list[psutil.Process], what) -> float:
    """what(p) summed over the processes still alive (one that exits takes its share along)."""
    out = 0.0
    for p in procs:
        try:
            out += what(p)
        except psutil.Error:
            pass
    return out


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


class Usage:
    """Samples the server's process tree (minus excluded pids: the training run) every 0.25 s for its
    peak RSS. mark() starts a phase; phase() says what the server, and Chromium (the load generator
    shares the cores), used since."""

    def __init__(self, pid: int, exclude: set[int]):
        self.pid, self.exclude, self.stop = pid, exclude, threading.Event()
        self.baseline_rss = self.rss()
        self.mark()
        threading.Thread(target=self._sample, daemon=True).start()

    def server(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            return [p for p in [root, *root.children(recursive=True)] if p.pid not in self.exclude]
        except psutil.NoSuchProcess:
            return []

    @staticmethod
    def chromium() -> list[psutil.Process]:
        return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name().lower()]

    def rss(self) -> int:
        return int(total(self.server(), lambda p: p.memory_info().rss))

    def _sample(self) -> None:
        while not self.stop.wait(0.25):
            self.peak = max(self.peak, self.rss())

    def mark(self) -> None:
        self.t0, self.rss0 = time.time(), self.rss()
        self.peak = self.rss0
        self.cpu0, self.browser0 = total(self.server(), cpu_seconds), total(self.chromium(), cpu_seconds)

    def phase(self) -> dict:
        t, rss = max(time.time() - self.t0, 1e-9), self.rss()
        return {"server_cpu_cores": (total(self.server(), cpu_seconds) - self.cpu0) / t,
                "browser_cpu_cores": (total(self.chromium(), cpu_seconds) - self.browser0) / t,
                "rss_before_mb": self.baseline_rss * MB, "rss_start_mb": self.rss0 * MB, "rss_end_mb": rss * MB,
                "rss_peak_mb": max(self.peak, rss) * MB, "rss_growth_mb": (rss - self.baseline_rss) * MB}
