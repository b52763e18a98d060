"""A pytest plugin: each test's CPU seconds (its process and the children it reaped) and wall seconds.

Columns: test id, CPU seconds (children included), wall seconds, CPU seconds of its child processes.
CPU time, unlike wall time, barely moves with the machine's load, so it says where the suite's work is
even on a busy machine; on 2 cores the suite cannot take less wall time than half its CPU total.
Usage: rm -rf artifacts/cpu; PYTHONPATH=scripts python3 -m pytest -p pytest_cpu -n 3 --dist loadgroup ...; then
python3 scripts/pytest_cpu.py  (per file and in total, from artifacts/cpu/*.tsv).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

OUT = Path(__file__).resolve().parent.parent / "artifacts" / "cpu"
_file = None


def _cpu() -> tuple[float, float]:
    """(CPU seconds of this process and its reaped children, of those children alone)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    children = kids.ru_utime + kids.ru_stime
    return own.ru_utime + own.ru_stime + children, children


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _file
    cpu, wall = _cpu(), time.monotonic()
    yield
    if _file is None:  # one file per worker process
        OUT.mkdir(parents=True, exist_ok=True)
        _file = open(OUT / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}.tsv", "w", buffering=1)
    now = _cpu()
    _file.write(f"{item.nodeid}\t{now[0] - cpu[0]:.2f}\t{time.monotonic() - wall:.2f}\t{now[1] - cpu[1]:.2f}\n")


def main() -> None:
    by_file, children, total, total_children = defaultdict(float), defaultdict(float), 0.0, 0.0
    for tsv in OUT.glob("*.tsv"):
        for line in tsv.read_text().splitlines():
            nodeid, cpu, _, child = (line.split("\t") + ["0"])[:4]
            by_file[nodeid.split("::")[0]] += float(cpu)
            children[nodeid.split("::")[0]] += float(child)
            total, total_children = total + float(cpu), total_children + float(child)
    print("  in-test  children  file (CPU seconds; children: the processes a test started and reaped)")
    for name, cpu in sorted(by_file.items(), key=lambda kv: -kv[1])[:int(sys.argv[1]) if len(sys.argv) > 1 else 25]:
        print(f"{cpu:8.1f} s {children[name]:8.1f} s  {name}")
    print(f"{total:8.1f} s {total_children:8.1f} s  in all ({len(by_file)} files)")


if __name__ == "__main__":
    main()
