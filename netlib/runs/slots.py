"""The run queue's slots: how many CPU and GPU slots the machine has, and how many a run takes."""

from __future__ import annotations

import os

SLOTS_ENV, GPU_SLOTS_ENV = "NETLIB_SLOTS", "NETLIB_GPU_SLOTS"
DEFAULT_GPU_SLOTS = 4  # CUDA runs at once on one GPU: small MNIST networks leave it mostly idle


def _env_slots(name: str, default: int) -> int:
    try:
        value = int(os.environ.get(name, ""))
    except ValueError:  # unset, empty or not a number: the default, never a crash
        return default
    return value if 0 < value <= 65536 else default


def cpu_slots() -> int:
    """CPU slots: NETLIB_SLOTS, else the machine's CPU threads (os.cpu_count())."""
    return _env_slots(SLOTS_ENV, os.cpu_count() or 1)


def gpu_slots() -> int:
    return _env_slots(GPU_SLOTS_ENV, DEFAULT_GPU_SLOTS)


def need(threads, device) -> tuple[int, int]:
    """(CPU slots, GPU slots) a run takes. A CUDA run takes one GPU slot and no CPU slot. A CPU run
    takes its thread count; without one torch uses every core, so it takes all CPU slots. A run asking
    for more threads than there are slots takes them all (else it would wait for ever)."""
    if str(device).startswith("cuda"):
        return 0, 1
    total = cpu_slots()
    ok = isinstance(threads, int) and not isinstance(threads, bool) and threads > 0
    return min(threads if ok else total, total), 0


def held(config: dict, over) -> tuple[int, int]:
    """(CPU slots, GPU slots) of a run's process that trains with other threads or device than its
    config.json asked (over: a +1 epoch's request, or a live one's `holds` in status.json): over's where it
    names them, else config's."""
    over = over if isinstance(over, dict) else {}
    threads = over.get("threads") if over.get("threads") is not None else config.get("threads")
    return need(threads, str(over.get("device") or config.get("device", "cpu")))
