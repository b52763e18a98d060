"""The server-wide evaluation memo: computed once however many sessions ask, failures not kept, warm at start."""

import os
import threading
import time

import numpy as np
import pytest
import torch

from app_pages import _evaluations as ev
from netlib.analysis.evaluation import evaluate
from netlib.checkpoint import save_checkpoint
from netlib.models import build_model


@pytest.fixture(autouse=True)
def empty_memo(monkeypatch):
    ev._kept.clear()
    monkeypatch.setattr(ev, "_warm_started", False)
    yield
    ev._kept.clear()


def test_concurrent_callers_share_one_computation():
    calls, started = [], threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return "result"

    out = []
    first = threading.Thread(target=lambda: out.append(ev.shared(("k",), slow)))
    first.start()
    started.wait(5)
    assert not ev.ready(("k",))  # still computing: a page shows its spinner
    waiters = [threading.Thread(target=lambda: out.append(ev.shared(("k",), slow))) for _ in range(4)]
    for t in waiters:
        t.start()
    for t in [first, *waiters]:
        t.join(5)
    assert out == ["result"] * 5 and len(calls) == 1
    assert ev.ready(("k",))


def test_a_failure_reaches_the_caller_and_is_not_kept():
    def broken():
        raise OSError("checkpoint unreadable")

    with pytest.raises(OSError, match="unreadable"):
        ev.shared(("k",), broken)
    assert not ev.ready(("k",))
    assert ev.shared(("k",), lambda: 7) == 7  # the next caller computes again


def test_only_the_most_recent_are_kept():
    for i in range(ev.MAX_KEPT + 3):
        ev.shared((i,), lambda i=i: i)
    assert len(ev._kept) == ev.MAX_KEPT
    assert not ev.ready((0,)) and ev.ready((ev.MAX_KEPT + 2,))


def test_the_key_follows_the_file(tmp_path):
    path = tmp_path / "c.pt"
    path.write_bytes(b"x")
    before = ev.key(path, "digits")
    os.utime(path, (1, 1))
    assert ev.key(path, "digits") != before  # a rewritten checkpoint is evaluated again


def test_warm_evaluates_the_shipped_checkpoints(monkeypatch, tmp_path):
    """warm_shipped evaluates each shipped checkpoint in the background; the page's key finds it ready
    and it equals the page's own evaluation."""
    images = np.random.default_rng(0).integers(0, 255, (40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    import netlib.data
    import netlib.mnist
    monkeypatch.setattr(netlib.data, "load_mnist", lambda train, data_dir=None: (torch.from_numpy(images),
                                                                              torch.from_numpy(labels)))
    raw = netlib.mnist.raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name in netlib.mnist.FILES:
        (raw / name).write_bytes(b"")
    monkeypatch.setenv(netlib.mnist.DIR_ENV, str(tmp_path))
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    model = build_model("residual")
    save_checkpoint(shipped / "residual.pt", model, "residual", {}, {}, {})
    monkeypatch.setattr(ev.catalogue, "shipped_checkpoint", lambda m: shipped / f"{m}.pt")

    thread = ev.warm_shipped(["residual", "inception"])  # no inception.pt here: skipped
    thread.join(30)
    key = ev.key(shipped / "residual.pt", ev.MNIST_SOURCE)
    assert ev.ready(key) and len(ev._kept) == 1
    warmed = ev.shared(key, lambda: pytest.fail("computed again"))
    own = evaluate(model, images, labels)
    assert warmed.accuracy == own.accuracy and np.array_equal(warmed.confusion, own.confusion)


def test_warm_starts_once_per_process(monkeypatch, tmp_path):
    """Tests and a cleared cache rerun setup_server; the warm-up (seconds of a core) must not run again."""
    import netlib.mnist
    raw = netlib.mnist.raw_dir(tmp_path)
    raw.mkdir(parents=True)
    for name in netlib.mnist.FILES:
        (raw / name).write_bytes(b"")
    monkeypatch.setenv(netlib.mnist.DIR_ENV, str(tmp_path))
    monkeypatch.setattr(ev.catalogue, "shipped_checkpoint", lambda m: tmp_path / "none.pt")  # nothing to do
    import netlib.data
    monkeypatch.setattr(netlib.data, "load_mnist", lambda train, data_dir=None: (torch.zeros(1, 28, 28), torch.zeros(1)))
    first = ev.warm_shipped(["residual"])
    assert first is not None
    first.join(5)
    assert ev.warm_shipped(["residual"]) is None


def test_warm_does_nothing_without_mnist_files(monkeypatch, tmp_path):
    import netlib.mnist
    monkeypatch.setenv(netlib.mnist.DIR_ENV, str(tmp_path))  # empty: nothing fetched from here
    assert ev.warm_shipped(["residual"]) is None
