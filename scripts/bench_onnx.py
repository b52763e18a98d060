"""ONNX export against torch, per shipped checkpoint: agreement on all 10,000 MNIST test digits, and
onnxruntime's inference speed next to torch's on the CPU (batch 1 and batch 1,000).

    python scripts/bench_onnx.py [--threads 2] [--single 1000] [--repeats 5] [--seconds 3] [--checkpoint PATH ...]

Agreement: each checkpoint exported with netlib.onnx_export (as `python -m netlib export` does), then the
test digits read by torch and by onnxruntime in batches of 1,000: how many digits both read alike, and
the largest difference between their logits (target: every digit, at most 1e-4). Speed: both on THREADS
CPU threads (torch.set_num_threads; onnxruntime's intra-op threads), the same normalised digits;
batch 1 reads SINGLE digits one at a time, batch 1,000 all 10,000 in ten batches, a pass stopping early
after SECONDS; each the median of REPEATS passes, in digits per second. Run it on a quiet machine: it prints the load average first.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from netlib.checkpoint import load_checkpoint  # noqa: E402
from netlib.data import load_mnist, normalize  # noqa: E402
from netlib.lab import catalogue  # noqa: E402
from netlib.names import LESION_MODELS  # noqa: E402
from netlib.onnx_export import INPUT_NAME, export_onnx  # noqa: E402

BATCH = 1000


def shipped() -> list[Path]:
    """The shipped checkpoints that are present: Inception, Residual, and the lesion test's deep ones."""
    paths = [catalogue.shipped_checkpoint(m) for m in ("inception", "residual")]
    paths += [catalogue.lesion_checkpoint(m) for m in LESION_MODELS]
    return [p for p in paths if p.is_file()]


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def agreement(model, sess, images: torch.Tensor) -> tuple[int, float]:
    """(digits read alike, largest logit difference) over all images, in batches of BATCH."""
    same, worst = 0, 0.0
    with torch.inference_mode():
        for i in range(0, len(images), BATCH):
            x = images[i:i + BATCH]
            want = model(x).numpy()
            got = sess.run(None, {INPUT_NAME: x.numpy()})[0]
            same += int((want.argmax(1) == got.argmax(1)).sum())
            worst = max(worst, float(np.abs(want - got).max()))
    return same, worst


def digits_per_s(read, batches: list, repeats: int, seconds: float) -> float:
    """The median over repeats of (digits read / seconds) for reading the batches in order, each pass
    ending after the last batch or after `seconds` (a slow engine on a busy machine still ends); a warm-up first."""
    for x in batches[:3]:
        read(x)
    rates = []
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        for x in batches:
            read(x)
            n += len(x)
            if time.perf_counter() - t0 > seconds:
                break
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def speeds(model, sess, images: torch.Tensor, single: int, repeats: int, seconds: float) -> dict:
    """{(engine, batch size): digits per second} for torch and onnxruntime at batch 1 and BATCH."""
    out = {}
    for size, count in ((1, single), (BATCH, len(images))):
        torch_batches = [images[i:i + size] for i in range(0, count, size)]
        numpy_batches = [x.numpy() for x in torch_batches]

        def by_torch(x):
            with torch.inference_mode():
                model(x)

        out[("torch", size)] = digits_per_s(by_torch, torch_batches, repeats, seconds)
        out[("onnxruntime", size)] = digits_per_s(lambda x: sess.run(None, {INPUT_NAME: x}), numpy_batches,
                                                  repeats, seconds)
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}); torch {torch.__version__}, onnxruntime {ort.__version__}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--single", type=int, default=1000, help="digits read one at a time (batch 1)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seconds", type=float, default=3.0, help="at most this long per timed pass")
    p.add_argument("--checkpoint", type=Path, nargs="+", help="default: the shipped checkpoints")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}; {args.threads} threads", flush=True)
    images = normalize(load_mnist(False)[0])
    agree_rows, speed_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for checkpoint in args.checkpoint or shipped():
            out = Path(tmp) / f"{checkpoint.stem}.onnx"
            done = export_onnx(checkpoint, out)
            model, _ = load_checkpoint(checkpoint)
            sess = session(out, args.threads)
            same, worst = agreement(model, sess, images)
            name = checkpoint.relative_to(REPO) if checkpoint.is_relative_to(REPO) else checkpoint
            agree_rows.append(f"| `{name}` | {done['network']} | {same:,} of {len(images):,} | {worst:.1e} |")
            print(agree_rows[-1], flush=True)
            rate = speeds(model, sess, images, args.single, args.repeats, args.seconds)
            speed_rows.append(f"| {done['network']} | {rate[('torch', 1)]:,.0f} | {rate[('onnxruntime', 1)]:,.0f} | "
                              f"{rate[('torch', BATCH)]:,.0f} | {rate[('onnxruntime', BATCH)]:,.0f} |")
            print(speed_rows[-1], flush=True)
    print("\n| checkpoint | network | same digit | largest logit difference |\n|---|---|---|---|")
    print("\n".join(agree_rows))
    print(f"\n| network | torch, batch 1 | onnxruntime, batch 1 | torch, batch {BATCH:,} | onnxruntime, batch {BATCH:,} |"
          "\n|---|---|---|---|---|")
    print("\n".join(speed_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
