"""Test-set evaluations shared by every session of the server, the shipped checkpoints' started at server start.

Results reads all 10,000 test digits with a checkpoint (0.5-3 s on the server's one torch thread). The first
visitor of Results used to pay that for the shipped checkpoint it opens on; now a background thread
evaluates the shipped checkpoints when the server starts, and a page asking for one that is still being
evaluated waits for that evaluation instead of starting a second.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path
from typing import Callable, TypeVar

from netlib.analysis.evaluation import Evaluation, evaluate
from netlib.lab import catalogue

log = logging.getLogger(__name__)
MNIST_SOURCE = "MNIST test set"  # the test digits' source when MNIST is there (else drawn digits)
MAX_KEPT = 16  # evaluations kept (a few KB of arrays each, plus the 10,000 x 3 top probabilities)

T = TypeVar("T")  # an Evaluation, or another result of the test set (a lesion test's rows)
_lock = threading.Lock()
_kept: "OrderedDict[tuple, Future]" = OrderedDict()
_warm_started = False  # once per process: clearing Streamlit's caches reruns setup_server, not this


def shared(key: tuple, compute: Callable[[], T]) -> T:
    """compute()'s result for key, computed once: a second caller waits for the first one's result. A
    failure is not kept (the next caller tries again) and reaches every caller waiting on it."""
    with _lock:
        future = _kept.get(key)
        owner = future is None
        if owner:
            future = _kept[key] = Future()
            while len(_kept) > MAX_KEPT:
                _kept.popitem(last=False)
        else:
            _kept.move_to_end(key)
    if owner:
        try:
            future.set_result(compute())
        except BaseException as e:  # noqa: BLE001 - handed to every waiter, then raised here too
            with _lock:
                if _kept.get(key) is future:
                    del _kept[key]
            future.set_exception(e)
    return future.result()


def warm(jobs: Callable[[], list[tuple[tuple, Callable[[], Evaluation]]]]) -> threading.Thread:
    """In a daemon thread, list the (key, compute) jobs and compute each in order; a failure is logged, not
    raised (the page that asks later computes it again and shows its own message)."""
    def run() -> None:
        for key, compute in jobs():
            try:
                shared(key, compute)
            except Exception:  # noqa: BLE001
                log.exception("warming the evaluation %s failed", key)

    thread = threading.Thread(target=run, name="warm-evaluations", daemon=True)
    thread.start()
    return thread


def ready(key: tuple) -> bool:
    with _lock:
        future = _kept.get(key)
    return future is not None and future.done()


def key(path: Path, source: str) -> tuple:
    """A checkpoint's evaluation key: its path, its mtime (a live run rewrites its checkpoint), the digits."""
    return str(path), catalogue.file_stamp(path), source


def warm_shipped(models) -> threading.Thread | None:
    """Evaluate the shipped checkpoints of `models` on MNIST's test set in the background, once per process
    (None: started before, or no MNIST here yet; Results then evaluates on demand)."""
    global _warm_started
    with _lock:
        if _warm_started:
            return None
        _warm_started = True
    from netlib.checkpoint import load_checkpoint
    from netlib.data import load_mnist
    from netlib.mnist import FILES, default_data_dir, raw_dir

    raw = raw_dir(default_data_dir())
    if not all((raw / name).is_file() for name in FILES):  # a fetch is the pages' to do, with its progress shown
        return None

    def jobs() -> list:  # in the thread: verifying and reading MNIST is not start-up's work
        try:
            images, labels = load_mnist(False)
        except Exception:  # noqa: BLE001 - files that fail their check: the page says so when asked
            log.exception("MNIST test set unavailable; no evaluation warmed")
            return []
        images, labels = images.numpy(), labels.numpy()
        paths = [p for p in map(catalogue.shipped_checkpoint, models) if p.is_file()]
        return [(key(p, MNIST_SOURCE), lambda p=p: evaluate(load_checkpoint(p)[0], images, labels)) for p in paths]

    return warm(jobs)
