"""Benchmarks: engine speed against the seed loop, accuracy, gradient-norm cost, shipped checkpoints on drawn
and uploaded digits (bench_uploads.py)."""

from __future__ import annotations

import json
import platform
import time

import torch
import torch.nn.functional as F

from ..data import MEAN, STD, load_dataset
from ..engine.loop import BATCH_EVENT_EVERY, TrainConfig, fit, resolve_device
from ..engine.state import grad_layers
from ..models import build_model
from ..recipes import resolve_recipe
from .bench_uploads import UPLOADS_HEADER, bench_uploads, shipped_models, uploads_row
from .parser import UsageError


def seed_loop_samples_per_s(model_name: str, data_root, batches: int) -> float:
    """The published loop as the baseline: torchvision MNIST + DataLoader + transforms, plain steps."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    loader = DataLoader(datasets.MNIST(data_root, train=True, download=False, transform=tf),
                        batch_size=64, shuffle=True)
    torch.manual_seed(0)
    model = build_model(model_name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    model.train()
    t0 = time.perf_counter()
    seen = 0
    for i, (x, y) in enumerate(loader):
        if i == batches:
            break
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        seen += len(y)
    return seen / (time.perf_counter() - t0)


def engine_samples_per_s(model_name: str, data, batches: int, device: str) -> float:
    """The real engine (fit) with the seed recipe's math for `batches` batches of 64."""
    recipe = resolve_recipe("seed", epochs=1)
    config = TrainConfig(model=model_name, recipe_name="seed", recipe=recipe, device=device,
                         limit=batches * recipe.batch_size)
    rates = []
    fit(config, data, on_event=lambda e: rates.append(e["samples_per_s"]) if e["event"] == "epoch" else None)
    return rates[0]


def bench_speed(args) -> list[dict]:
    from ..mnist import ensure_mnist

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    root = ensure_mnist(args.data_dir)
    data = load_dataset(device, args.data_dir)
    results = []
    for name in args.models:
        base = seed_loop_samples_per_s(name, root, args.batches)
        engine = engine_samples_per_s(name, data, args.batches, str(device))
        results.append({"model": name, "device": str(device), "threads": torch.get_num_threads(),
                        "batches": args.batches, "seed_loop_samples_per_s": round(base),
                        "engine_samples_per_s": round(engine), "speedup": round(engine / base, 2)})
    return results


def bench_drawn(args) -> list[dict]:
    from ..analysis.predict import predict_image
    from ..analysis.strokes import drawn_digit_set

    digits = drawn_digit_set(n_per_digit=args.per_digit, seed=1234)
    results = []
    for name, model in shipped_models(args, "drawn").items():  # without --models: the shipped networks
        correct, by_polarity, wrong = 0, {}, []
        t0 = time.perf_counter()
        for image, label, style in digits:
            ok = predict_image(model, image)["digit"] == label
            correct += ok
            hit = by_polarity.setdefault(style.polarity, [0, 0])
            hit[0] += ok
            hit[1] += 1
            if not ok:
                wrong.append(label)
        ms = 1000 * (time.perf_counter() - t0) / len(digits)
        results.append({"model": name, "drawn_digits": len(digits), "accuracy": round(correct / len(digits), 4),
                        "by_polarity": {k: round(a / n, 4) for k, (a, n) in by_polarity.items()},
                        "errors_by_true_digit": {d: wrong.count(d) for d in range(10) if d in wrong},
                        "ms_per_digit": round(ms, 2)})
    return results


def bench_accuracy(args) -> list[dict]:
    """Train each model with a recipe for several seeds; per-epoch mean test accuracy, time to 99%."""
    device = resolve_device(args.device)
    data = load_dataset(device, args.data_dir)
    results = []
    for name in args.models:
        recipe = resolve_recipe(args.recipe, name, device=str(device), epochs=args.epochs)  # as `train` on it
        curves, to99, totals = [], [], []
        for seed in range(args.seeds):
            epochs = []
            fit(TrainConfig(model=name, recipe_name=args.recipe, recipe=recipe, seed=seed,
                            device=str(device), threads=args.threads),
                data, on_event=lambda e: epochs.append(e) if e["event"] == "epoch" else None)
            curves.append([e["test_acc"] for e in epochs])
            hit = next((e["elapsed"] for e in epochs if e["test_acc"] >= 0.99), None)
            to99.append(hit)
            totals.append(epochs[-1]["elapsed"])
            if not args.json:
                when = f"99% after {hit:.1f} s" if hit else f"never 99% in {epochs[-1]['elapsed']:.0f} s"
                print(f"  {name} seed {seed}: " + " ".join(f"{100 * a:.2f}" for a in curves[-1])
                      + f"  ({when})", flush=True)
        mean = [sum(c[i] for c in curves) / len(curves) for i in range(len(curves[0]))]
        reached = [t for t in to99 if t is not None]
        results.append({"model": name, "recipe": args.recipe, "seeds": args.seeds,
                        "mean_test_acc_by_epoch": [round(a, 5) for a in mean],
                        "seconds_to_99": [round(t, 1) if t else None for t in to99],
                        "seconds_total": [round(t, 1) for t in totals],
                        "mean_seconds_to_99": round(sum(reached) / len(reached), 1)
                        if len(reached) == len(to99) else None})
    return results


def bench_grads(args) -> list[dict]:
    """What recording per-layer gradient norms costs: the default recipe's training throughput with
    and without it, alternating runs of --batches batches, the median of --seeds pairs."""
    from statistics import median

    device = resolve_device(args.device)
    data = load_dataset(device, args.data_dir)
    results = []
    for name in args.models:
        recipe = resolve_recipe(args.recipe, name, device=str(device), epochs=1)
        rates = {True: [], False: []}
        for _ in range(args.seeds):
            for record in (False, True):
                got = []
                fit(TrainConfig(model=name, recipe_name=args.recipe, recipe=recipe, device=str(device),
                                threads=args.threads, limit=args.batches * recipe.batch_size,
                                record_grads=record),
                    data, on_event=lambda e: got.append(e["samples_per_s"]) if e["event"] == "epoch" else None)
                rates[record].append(got[0])
        on, off = median(rates[True]), median(rates[False])
        norm_ms = _grad_norm_ms(name)
        per_report_ms = 1000 * BATCH_EVENT_EVERY * recipe.batch_size / off  # 10 batches of training
        results.append({"model": name, "recipe": args.recipe, "batches": args.batches, "pairs": args.seeds,
                        "samples_per_s_without": round(off), "samples_per_s_with": round(on),
                        "overhead_pct": round(100 * (1 - on / off), 1),
                        "norm_ms_per_report": round(norm_ms, 3),
                        "direct_overhead_pct": round(100 * norm_ms / per_report_ms, 3)})
    return results


def bench_widths(args) -> list[dict]:
    """Inception against Naive at each --widths: training seconds of one epoch of the recipe (the fast
    recipe's batch on the device: 128 on the CPU) and test accuracy, the pair alternating, the median of --seeds."""
    from statistics import median

    from ..analysis.inspection import model_cost
    from ..models import shape_kwargs

    try:  # a width out of range is a usage error, before any training
        for width in args.widths:
            shape_kwargs("inception", width=width)
    except ValueError as e:
        raise UsageError(str(e)) from None
    device = resolve_device(args.device)
    data = load_dataset(device, args.data_dir)
    results = []
    for width in args.widths:
        got: dict[str, list] = {"inception": [], "naive": []}
        for seed in range(args.seeds):
            for name in got:
                recipe = resolve_recipe(args.recipe, name, device=str(device), epochs=1)
                events = []
                fit(TrainConfig(model=name, recipe_name=args.recipe, recipe=recipe, seed=seed,
                                model_kwargs=shape_kwargs(name, width=width), device=str(device),
                                threads=args.threads, record_grads=False),
                    data, on_event=lambda e: events.append(e) if e["event"] == "epoch" else None)
                got[name].append(events[0])
        for name, epochs in got.items():
            results.append({"model": name, "width": width, "recipe": args.recipe, "repeats": args.seeds,
                            "macs": model_cost(name, **shape_kwargs(name, width=width))["macs"],
                            "seconds_per_epoch": round(median(e["seconds"] for e in epochs), 2),
                            "samples_per_s": round(median(e["samples_per_s"] for e in epochs)),
                            "test_acc": round(median(e["test_acc"] for e in epochs), 4)})
    return results


def _grad_norm_ms(name: str, repeats: int = 200) -> float:
    """Median time of the one thing recording adds on a reporting batch: the fused norm of every
    layer's gradient (timed directly, so machine noise does not swamp a cost this small)."""
    from statistics import median

    model = build_model(name).to(memory_format=torch.channels_last)
    x = torch.randn(128, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    F.cross_entropy(model(x), torch.randint(0, 10, (128,))).backward()
    grads = [p.grad for _, p in grad_layers(model)]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        torch.stack(torch._foreach_norm(grads)).tolist()
        times.append(time.perf_counter() - t)
    return 1000 * median(times)


def run(args) -> int:
    results = {"speed": bench_speed, "drawn": bench_drawn, "accuracy": bench_accuracy,
               "grads": bench_grads, "widths": bench_widths, "uploads": bench_uploads}[args.what](args)
    machine = f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    if args.what == "uploads" and not args.json:
        print(UPLOADS_HEADER)
    for r in results:
        if args.json:
            print(json.dumps({**r, "machine": machine}))
        elif args.what == "speed":
            print(f"{r['model']:<10} seed loop {r['seed_loop_samples_per_s']:>7,} samples/s   engine "
                  f"{r['engine_samples_per_s']:>7,} samples/s   speed-up {r['speedup']:.2f}x  ({r['device']})")
        elif args.what == "grads":
            print(f"{r['model']:<10} without gradient norms {r['samples_per_s_without']:>7,} samples/s   with "
                  f"{r['samples_per_s_with']:>7,}   overhead {r['overhead_pct']:.1f}% (median of {r['pairs']})   "
                  f"direct: {r['norm_ms_per_report']:.3f} ms per report = {r['direct_overhead_pct']:.3f}%")
        elif args.what == "widths":
            print(f"{r['model']:<10} width {r['width']:>3}  {r['macs'] / 1e6:>6.2f} M mult-adds  "
                  f"{r['seconds_per_epoch']:>6.1f} s per epoch ({r['samples_per_s']:,} samples/s, median of "
                  f"{r['repeats']})  test acc {100 * r['test_acc']:.2f}%")
        elif args.what == "uploads":
            print(uploads_row(r))
        elif args.what == "accuracy":
            print(f"{r['model']:<10} {r['recipe']} recipe, mean of {r['seeds']} seeds, test acc by epoch: "
                  + " ".join(f"{100 * a:.2f}" for a in r["mean_test_acc_by_epoch"])
                  + f"   seconds to 99%: {r['seconds_to_99']}")
        else:
            print(f"{r['model']:<10} {100 * r['accuracy']:.1f}% of {r['drawn_digits']} drawn digits  "
                  f"by polarity {r['by_polarity']}  errors by digit {r['errors_by_true_digit']}  "
                  f"{r['ms_per_digit']} ms each")
    if not args.json:
        print(f"machine: {machine}")
    return 0
