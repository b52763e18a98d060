"""The split-batch benchmark computes the engine's update: its two ways and the whole batch end on the same weights."""

import importlib.util
from pathlib import Path

import pytest
import torch

from netlib.data import load_dataset

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_split_batch.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_split_batch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    yield module
    torch.set_num_threads(threads)  # the ways set the process's torch threads


@pytest.fixture(scope="module")
def data():
    return load_dataset("cpu", synthetic=64 * 4)


@pytest.mark.parametrize("model", ["residual", "inception"])
@pytest.mark.parametrize("way", ["split", "split_processes"])
def test_a_split_batch_gives_the_whole_batch_update(bench, data, model, way):
    difference = bench.weight_difference(model, data, steps=3, way=getattr(bench, way))
    assert difference < 1e-5  # float summation order only


def test_the_split_way_really_trains(bench, data):
    model, opt = bench._setup("residual")
    before = torch.cat([p.detach().flatten() for p in model.parameters()]).clone()
    bench.split(model, opt, bench._batches(data, 2))
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert (after - before).abs().max() > 1e-4  # a difference of 0 above would also hold for no steps at all
