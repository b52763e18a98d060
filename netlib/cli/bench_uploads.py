"""`bench uploads`: the shipped checkpoints on digits as people upload them, through prepare() like the app."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from itertools import islice

import torch

from .parser import UsageError

NATIVE_BANDS = ((8, 10), (11, 13), (14, 16))  # low resolution: the sides a digit is stored at, grouped
CHUNK = 128  # prepared digits read by the networks at once: batched reads, modest memory


@dataclass
class _Tally:
    """One network's answers on one category."""

    images: int = 0
    correct: int = 0  # the digit the app would claim is the true one
    top_correct: int = 0  # the network's top answer is the true one, even where "not a digit" hides it
    empty: int = 0
    not_a_digit: int = 0
    by_variant: dict = field(default_factory=dict)  # variant -> [correct, images]

    def add(self, variants: tuple[str, ...], label: int, top: int | None, blank: bool, scribble: bool) -> None:
        """One answer; variants: the sub-kinds it counts in (each tallied on its own)."""
        claimed = None if blank or scribble else top
        self.images += 1
        self.correct += claimed == label
        self.top_correct += top == label
        self.empty += blank
        self.not_a_digit += scribble
        for variant in variants:
            hits = self.by_variant.setdefault(variant, [0, 0])
            hits[0] += claimed == label
            hits[1] += 1


def bench_uploads(args) -> list[dict]:
    """One dict per category and network: accuracy and the shares answered "empty" and "not a digit"."""
    from ..analysis.photos import upload_digits
    from ..data import load_mnist

    if args.threads:
        torch.set_num_threads(args.threads)
    categories = _categories(args.category)
    models = shipped_models(args)
    images, labels = (t.numpy() for t in load_mnist(False, args.data_dir))
    results = []
    for category in categories:
        n = (args.limit or len(images)) if category == "tight" else args.per_category
        tallies = {name: _Tally() for name in models}
        seconds = {"render": 0.0, "prepare": 0.0}
        digits = upload_digits(category, images, labels, n, seed=args.seed)
        while chunk := _timed_chunk(digits, seconds):
            _read_chunk(chunk, models, tallies, seconds)
        for name, t in tallies.items():
            results.append(_result(category, name, t, seconds, args.seed))
    return results


def _timed_chunk(digits, seconds: dict) -> list:
    t0 = time.perf_counter()
    chunk = list(islice(digits, CHUNK))  # rendering happens here: the generator is lazy
    seconds["render"] += time.perf_counter() - t0
    return chunk


def _read_chunk(chunk: list, models: dict, tallies: dict, seconds: dict) -> None:
    """prepare() each upload once (the production path), then every network reads the batch."""
    from ..analysis.predict import probabilities
    from ..analysis.preprocess import prepare

    t0 = time.perf_counter()
    prepared = [prepare(d.image) for d in chunk]
    seconds["prepare"] += time.perf_counter() - t0
    live = [i for i, p in enumerate(prepared) if not p.blank]  # a blank has no tensor to read
    batch = torch.cat([prepared[i].tensor for i in live]) if live else None
    for name, model in models.items():
        tops = [None] * len(chunk)
        if batch is not None:
            for i, top in zip(live, probabilities(model, batch).argmax(dim=1).tolist()):
                tops[i] = top
        for d, p, top in zip(chunk, prepared, tops):
            tallies[name].add(_variants(d), d.label, top, p.blank, p.scribble)


def _variants(d) -> tuple[str, ...]:
    """The upload's variant, and for a low-resolution one also the band of sizes it was stored at: a digit
    stored at 8 px is about 6 px tall, near the edge of legible."""
    if not d.native_px:
        return (d.variant,)
    band = next(b for b in NATIVE_BANDS if d.native_px <= b[1])
    return d.variant, f"stored at {band[0]}-{band[1]} px"


def _result(category: str, model: str, t: _Tally, seconds: dict, seed: int) -> dict:
    n = max(t.images, 1)
    return {"category": category, "model": model, "images": t.images, "seed": seed,
            "accuracy": round(t.correct / n, 4), "empty": round(t.empty / n, 4),
            "not_a_digit": round(t.not_a_digit / n, 4), "top_answer_accuracy": round(t.top_correct / n, 4),
            "by_variant": {v: round(c / k, 4) for v, (c, k) in sorted(t.by_variant.items(), key=_variant_order)},
            "ms_render": round(1000 * seconds["render"] / n, 2),
            "ms_prepare": round(1000 * seconds["prepare"] / n, 2)}


def _variant_order(item) -> tuple:
    """Variants by name, then the size bands smallest first ("8-10" before "11-13")."""
    name = item[0]
    return name.startswith("stored at"), len(name), name


def _categories(chosen: list[str] | None) -> list[str]:
    from ..analysis.photos import CATEGORIES

    unknown = [c for c in chosen or [] if c not in CATEGORIES]
    if unknown:
        raise UsageError(f"--category: unknown {', '.join(unknown)} (choose from {', '.join(CATEGORIES)})")
    return list(dict.fromkeys(chosen)) if chosen else list(CATEGORIES)


def shipped_models(args, bench: str = "uploads") -> dict:
    """name -> model for the networks in --models that have a checkpoint. Without --models that is
    residual and inception, the shipped ones (naive and plain ship none); a network asked for by name
    without a checkpoint is skipped with a note."""
    from ..checkpoint import load_checkpoint
    from ..lab.catalogue import PROJECT_ROOT
    from ..models import MODELS

    folder = args.checkpoint_dir or PROJECT_ROOT / "checkpoints"
    found = {name: folder / f"{name}.pt" for name in args.models if (folder / f"{name}.pt").is_file()}
    missing = [name for name in args.models if name not in found]
    if not found:
        raise UsageError(f"no checkpoint for {', '.join(args.models)} in {folder}")
    if missing and args.models != list(MODELS):  # not the default list: the user named them
        print(f"bench {bench}: no checkpoint for {', '.join(missing)} in {folder}: skipped", file=sys.stderr)
    return {name: load_checkpoint(path, expect_model=name)[0] for name, path in found.items()}


UPLOADS_HEADER = (f"{'category':<9} {'network':<10} {'images':>6} {'accuracy':>8} {'empty':>6} {'not a digit':>11}"
                  f" {'top answer':>10} {'ms/prepare':>10}   accuracy by variant")


def uploads_row(r: dict) -> str:
    """One table row of `bench uploads` (UPLOADS_HEADER above it)."""
    variants = ", ".join(f"{v} {100 * a:.1f}%" for v, a in r["by_variant"].items())
    return (f"{r['category']:<9} {r['model']:<10} {r['images']:>6} {100 * r['accuracy']:>7.1f}% "
            f"{100 * r['empty']:>5.1f}% {100 * r['not_a_digit']:>10.1f}% {100 * r['top_answer_accuracy']:>9.1f}% "
            f"{r['ms_prepare']:>10.1f}   {variants}")
