"""Seed-recipe math on the CPU: one 2-thread step per batch of 64 against the batch split across two 1-thread workers.

Usage: python scripts/bench_split_batch.py [--models inception,residual] [--batches 300] [--pairs 3] [--json]
Both ways compute the same update (SGD 0.01, momentum 0.5, mean cross-entropy over 64 digits): the split
way runs each half's forward and backward on its own Python thread with torch at 1 thread, scales each
half's loss by 1/2 and lets autograd add the two halves' gradients into the shared weights' .grad, then
one optimizer step. Also prints the FP32 ceiling: a large matrix product's GFLOP/s at 1 and 2 threads and
the samples/s it would allow at 6 x the network's multiply-adds per digit (forward, and the two products of
the backward pass). Needs MNIST where `python -m netlib data` puts it. About 2-4 minutes on 2 quiet cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from netlib.analysis.inspection import model_cost  # noqa: E402
from netlib.cli.bench import seed_loop_samples_per_s  # noqa: E402
from netlib.data import load_dataset  # noqa: E402
from netlib.mnist import ensure_mnist  # noqa: E402
from netlib.models import build_model  # noqa: E402

BATCH = 64


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="inception,residual")
    p.add_argument("--batches", type=int, default=300, help="timed batches of 64 per measurement")
    p.add_argument("--pairs", type=int, default=3, help="alternating whole/split measurements (median)")
    p.add_argument("--json", action="store_true")
    return p.parse_args(argv)


def _setup(name: str):
    torch.manual_seed(0)
    model = build_model(name).to(memory_format=torch.channels_last)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)


def _batches(data, batches: int):
    gen = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(data.train_x), generator=gen)[:batches * BATCH]
    for i in range(batches):
        idx = perm[i * BATCH:(i + 1) * BATCH]
        yield data.train_x[idx].contiguous(memory_format=torch.channels_last), data.train_y[idx]


def whole(model, opt, batches) -> None:
    """The engine's step: the batch of 64 at once, torch on 2 threads."""
    torch.set_num_threads(2)
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def split(model, opt, batches) -> None:
    """The batch of 64 as two halves of 32, each on a 1-thread worker, gradients summed."""
    torch.set_num_threads(1)
    work = [None, None]
    start, done = threading.Barrier(3), threading.Barrier(3)
    failed = []

    def worker(k: int) -> None:
        try:
            while True:
                start.wait()
                if work[k] is None:
                    return
                x, y = work[k]
                (F.cross_entropy(model(x), y) * 0.5).backward()  # mean over 64 = half of each half's mean
                done.wait()
        except threading.BrokenBarrierError:
            return
        except Exception as e:  # a worker's fault must end the measurement, not hang it
            failed.append(e)
            start.abort()
            done.abort()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in (0, 1)]
    for t in threads:
        t.start()
    try:
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            work[0], work[1] = (x[:BATCH // 2], y[:BATCH // 2]), (x[BATCH // 2:], y[BATCH // 2:])
            start.wait()
            done.wait()
            opt.step()
        work[0] = work[1] = None
        start.wait()
    except threading.BrokenBarrierError:
        raise failed[0] if failed else RuntimeError("a split worker stopped")


def _half_worker(model, data_x, data_y, index, grads, go, finished) -> None:
    """A second process: on each `go`, the second half's gradients into the shared flat `grads`."""
    torch.set_num_threads(1)
    params = list(model.parameters())
    while True:
        go.wait()
        if index[0] < 0:
            return
        x = data_x[index].contiguous(memory_format=torch.channels_last)
        for q in params:
            q.grad = None
        (F.cross_entropy(model(x), data_y[index]) * 0.5).backward()
        torch.cat([q.grad.flatten() for q in params], out=grads)
        finished.wait()


def split_processes(model, opt, batches) -> None:
    """The batch of 64 as two halves of 32: one in this process, one in a second, each on 1 thread; the
    weights live in shared memory, the second half's gradients come back through a shared buffer."""
    import torch.multiprocessing as mp

    torch.set_num_threads(1)
    ctx = mp.get_context("fork")
    model.share_memory()
    params = list(model.parameters())
    grads = torch.zeros(sum(q.numel() for q in params)).share_memory_()
    half_x = torch.zeros(BATCH // 2, 1, 28, 28).share_memory_()
    half_y = torch.zeros(BATCH // 2, dtype=torch.long).share_memory_()
    index = torch.zeros(BATCH // 2, dtype=torch.long).share_memory_()
    go, finished = ctx.Barrier(2), ctx.Barrier(2)
    arange = torch.arange(BATCH // 2)
    child = ctx.Process(target=_half_worker, args=(model, half_x, half_y, index, grads, go, finished), daemon=True)
    child.start()
    try:
        for x, y in batches:
            half_x.copy_(x[BATCH // 2:])
            half_y.copy_(y[BATCH // 2:])
            index.copy_(arange)
            opt.zero_grad(set_to_none=True)
            go.wait()
            (F.cross_entropy(model(x[:BATCH // 2]), y[:BATCH // 2]) * 0.5).backward()
            finished.wait(timeout=60)
            offset = 0
            for q in params:
                q.grad.add_(grads[offset:offset + q.numel()].view_as(q))
                offset += q.numel()
            opt.step()
        index.fill_(-1)
        go.wait(timeout=60)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


def samples_per_s(way, name: str, data, batches: int) -> float:
    model, opt = _setup(name)
    t0 = time.perf_counter()
    way(model, opt, _batches(data, batches))
    return batches * BATCH / (time.perf_counter() - t0)


def weight_difference(name: str, data, steps: int = 5, way=None) -> float:
    """Largest weight difference after `steps` steps the whole way and a split way (default: 2 processes);
    the same update, so only the order of float sums differs."""
    weights = []
    for way in (whole, way or split_processes):
        model, opt = _setup(name)
        way(model, opt, _batches(data, steps))
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    return float((weights[0] - weights[1]).abs().max())


def loader_samples_per_s(batches: int) -> float:
    """The seed loop's DataLoader alone (torchvision MNIST, ToTensor, Normalize, batch 64, shuffled): the part
    of its time that keeping MNIST in memory removes. The rest is the same math the engine runs."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from netlib.data import MEAN, STD

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    loader = DataLoader(datasets.MNIST(ensure_mnist(None), train=True, download=False, transform=tf),
                        batch_size=BATCH, shuffle=True)
    t0 = time.perf_counter()
    for i, _ in enumerate(loader):
        if i + 1 == batches:
            break
    return batches * BATCH / (time.perf_counter() - t0)


def gemm_gflops(threads: int, n: int = 1024, repeats: int = 20) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - t0) / 1e9


def measure(name: str, data, batches: int, pairs: int, gflops: float) -> dict:
    """Every way `pairs` times in turn (the seed loop too); medians, and the median of each round's ratios,
    which a load that comes and goes between rounds disturbs less."""
    ways = {"seed_loop": lambda: seed_loop_samples_per_s(name, ensure_mnist(None), batches)}
    ways.update({w.__name__: (lambda w=w: samples_per_s(w, name, data, batches))
                 for w in (whole, split, split_processes)})
    rates = {k: [] for k in ways}
    for _ in range(pairs):
        for key, way in ways.items():
            torch.set_num_threads(2)
            rates[key].append(way())

    def ratio(a: str, b: str) -> float:
        return round(statistics.median(x / y for x, y in zip(rates[a], rates[b])), 3)

    limit = gflops * 1e9 / (6 * model_cost(name)["macs"])
    return {"model": name, "samples_per_s": {k: round(statistics.median(v)) for k, v in rates.items()},
            "all": {k: [round(r) for r in v] for k, v in rates.items()},
            "speedup_over_seed_loop": ratio("whole", "seed_loop"),
            "split_over_whole": ratio("split", "whole"),
            "split_processes_over_whole": ratio("split_processes", "whole"),
            "fp32_limit_samples_per_s": round(limit),
            "whole_share_of_limit": round(statistics.median(rates["whole"]) / limit, 3),
            "twice_seed_loop_share_of_limit": round(2 * statistics.median(rates["seed_loop"]) / limit, 3),
            "max_weight_difference_after_5_steps": weight_difference(name, data)}


def main(argv=None) -> int:
    args = parse(argv)
    data = load_dataset("cpu")
    gflops = {t: gemm_gflops(t) for t in (1, 2)}
    torch.set_num_threads(2)
    loader = loader_samples_per_s(args.batches)
    rows = [measure(name, data, args.batches, args.pairs, gflops[2]) for name in args.models.split(",")]
    out = {"gemm_gflops": {str(k): round(v, 1) for k, v in gflops.items()},
           "loader_samples_per_s": round(loader), "batches": args.batches, "pairs": args.pairs, "rows": rows}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"FP32 matrix product: {gflops[1]:.0f} GFLOP/s on 1 thread, {gflops[2]:.0f} on 2;"
          f" the seed loop's DataLoader alone: {loader:,.0f} samples/s")
    for r in rows:
        n = r["samples_per_s"]
        print(f"{r['model']:>10}: seed loop {n['seed_loop']:>6,}  engine step {n['whole']:>6,}"
              f" ({r['speedup_over_seed_loop']:.2f}x)  split on 2 threads {n['split']:>6,}"
              f" ({r['split_over_whole']:.2f}x of the engine's)  split on 2 processes {n['split_processes']:>6,}"
              f" ({r['split_processes_over_whole']:.2f}x)  samples/s")
        print(f"{'':>12}FP32 limit {r['fp32_limit_samples_per_s']:,} samples/s: the engine step at"
              f" {r['whole_share_of_limit']:.0%} of it, 2x the seed loop would be"
              f" {r['twice_seed_loop_share_of_limit']:.0%}; split and whole weights differ by"
              f" {r['max_weight_difference_after_5_steps']:.1e} after 5 steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
