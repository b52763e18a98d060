"""Training progress for people: a bar while an epoch trains (on a terminal), then one line per epoch."""

from __future__ import annotations

import sys


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
