"""What each `python -m netlib` subcommand does, once its arguments are parsed."""

from __future__ import annotations

import json
import shutil
import signal
import sys
from pathlib import Path

from .cli import UsageError


def load_dataset(device, data_dir=None, synthetic=None, progress=None):
    """The normalised train/test tensors on device: real MNIST, or N synthetic digits."""
    from .data import load_mnist, normalize, synthetic_digits
    from .train import Dataset

    if synthetic:
        (tx, ty), (vx, vy) = synthetic_digits(synthetic, seed=1), synthetic_digits(500, seed=2)
    else:
        (tx, ty), (vx, vy) = load_mnist(True, data_dir), load_mnist(False, data_dir)
    return Dataset(normalize(tx).to(device), ty.to(device), normalize(vx).to(device), vy.to(device))


class HumanPrinter:
    """Progress for people: a bar while an epoch trains (on a terminal), then one line per epoch."""

    def __init__(self, stream=sys.stderr):
        self.out, self.tty = stream, stream.isatty()

    def __call__(self, e: dict) -> None:
        kind = e["event"]
        if kind == "start":
            print(f"training {e['model']} ({e['recipe']} recipe) on {e['samples']:,} images, "
                  f"{e['epochs']} epochs, device {e['device']}, {e['threads']} threads", file=self.out)
        elif kind == "batch" and self.tty:
            done = e["batch"] / e["batches"]
            bar = "#" * int(30 * done)
            rate = e["samples"] / max(e["seconds"], 1e-9)
            print(f"\repoch {e['epoch']} [{bar:<30}] {e['batch']}/{e['batches']} loss {e['loss']:.4f} "
                  f"{rate:,.0f} samples/s", end="", file=self.out, flush=True)
        elif kind == "epoch":
            if self.tty:
                print("\r" + " " * 100 + "\r", end="", file=self.out)
            print(f"epoch {e['epoch']}/{e['epochs']}  train loss {e['train_loss']:.4f}  "
                  f"test loss {e['test_loss']:.4f}  test acc {100 * e['test_acc']:.2f}%  "
                  f"{e['seconds']:.1f} s  {e['samples_per_s']:,.0f} samples/s", file=self.out, flush=True)
        elif kind == "end":
            if self.tty:
                print("\r" + " " * 100 + "\r", end="", file=self.out)
            msg = f"{e['status']}: {e['reason']}" if e["reason"] else e["status"]
            print(f"run {msg} after {e['elapsed']:.1f} s", file=self.out, flush=True)


def cmd_train(args) -> int:
    from .recipes import resolve_recipe
    from .runs import RunWriter
    from .train import TrainConfig, fit, resolve_device

    try:
        recipe = resolve_recipe(args.recipe, args.model, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, optimizer=args.optimizer, schedule=args.schedule,
                                augment=args.augment)
        device = resolve_device(args.device)
    except ValueError as e:
        raise UsageError(str(e)) from None
    config = TrainConfig(model=args.model, recipe_name=args.recipe, recipe=recipe, seed=args.seed,
                         device=str(device), threads=args.threads, limit=args.limit)

    writer = RunWriter(args.run_dir, {**config.to_dict(), "argv": sys.argv[1:]}) if args.run_dir else None
    stop = {"requested": False}
    # SIGTERM (the UI's hard stop, a shutdown) becomes a clean stop at the next batch.
    signal.signal(signal.SIGTERM, lambda *_: stop.update(requested=True))
    listeners = []
    if writer:
        listeners.append(writer.on_event)
    if args.json:
        listeners.append(lambda e: print(json.dumps(e), flush=True))
    elif not args.quiet:
        listeners.append(HumanPrinter())

    try:
        data = load_dataset(device, args.data_dir, args.synthetic)
        n_train = len(data.train_x)
        if args.limit and args.limit > n_train:
            raise UsageError(f"--limit {args.limit} is larger than the training set ({n_train:,})")
        if recipe.batch_size > min(n_train, args.limit or n_train):
            raise UsageError(f"batch size {recipe.batch_size} is larger than the training set "
                             f"({min(n_train, args.limit or n_train):,} images)")
        result = fit(config, data,
                     on_event=lambda e: [listen(e) for listen in listeners],
                     should_stop=lambda: stop["requested"] or (writer is not None and writer.should_stop()),
                     on_checkpoint=writer.save if writer else None)
    except BaseException as e:
        if writer:
            reason = str(e).splitlines()[0] if str(e) else type(e).__name__
            writer.fail(reason if not isinstance(e, KeyboardInterrupt) else "interrupted")
            writer.close()
        raise
    if writer:
        writer.close()
    if args.save:
        if writer and (args.run_dir / "checkpoint.pt").is_file():
            shutil.copyfile(args.run_dir / "checkpoint.pt", args.save)
        else:
            from .checkpoint import save_checkpoint
            epochs = [result.get("test_acc")]
            save_checkpoint(args.save, result["model"], args.model, {}, recipe.to_dict(),
                            {"test_acc": epochs[0], "epochs": result["epochs_completed"]},
                            extra={"recipe_name": args.recipe})
    return 0 if result["status"] in ("done", "stopped") else 1


def cmd_summary(args) -> int:
    from .inspection import format_table, layer_table

    rows = layer_table(args.model)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_table(rows))
    return 0


def cmd_predict(args) -> int:
    from .checkpoint import load_checkpoint
    from .predict import predict_image
    from .preprocess import ImageError, load_image

    model, meta = load_checkpoint(args.checkpoint)
    status = 0
    for path in args.images:
        try:
            result = predict_image(model, load_image(path))
        except (ImageError, OSError) as e:
            print(f"netlib: error: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps({"image": str(path), **result}))
        elif result["digit"] is None:
            print(f"{path}: blank (no digit drawn)")
        else:
            p = result["probs"][result["digit"]]
            print(f"{path}: {result['digit']} ({100 * p:.1f}%)")
    return status


def cmd_data(args) -> int:
    from .data import FILES, default_data_dir, ensure_mnist

    root = ensure_mnist(args.data_dir)
    print(f"MNIST verified (md5 of all {len(FILES)} files) in {Path(root) / 'MNIST' / 'raw'}")
    return 0


def cmd_bench(args) -> int:
    from . import bench

    return bench.run(args)
