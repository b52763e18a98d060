"""Fine-tuning on a handwriting set as run requests: the three variants the lesson and Compare put side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from ..request import RunRequest
from .data import trainable_set

REPLAY = 0.9  # the replay variant: nine tenths of each batch from MNIST (measured: docs/benchmarks.md)
VARIANTS = {"last": "last layer only", "all": "whole network", "replay": "whole network with MNIST replay"}
SETTINGS = {"last": {"tune": "last"}, "all": {"tune": "all"}, "replay": {"tune": "all", "replay": REPLAY}}
WHAT = {
    "last": "only the final layer learns; every feature the network computes stays as it was",
    "all": "every weight learns from your digits alone",
    "replay": f"every weight learns, each batch {REPLAY:.0%} MNIST digits so it keeps what it knew",
}


def request(model: str, checkpoint, set_name: str, variant: str, root: Optional[Path] = None,
            **options) -> RunRequest:
    """The run request that fine-tunes checkpoint (of `model`) on set `set_name` (in root, default the lab's
    handwriting folder) as `variant` (a VARIANTS key); options: any other request option (epochs, seed,
    synthetic, ...; None ones are left out). A ValueError in one line for an unknown variant, a bad option
    or a set it cannot learn from (empty, one digit, none held out): refused before it is queued."""
    if variant not in SETTINGS:
        raise ValueError(f"unknown fine-tuning variant {str(variant)[:20]!r}; one of {', '.join(VARIANTS)}")
    given = {k: v for k, v in options.items() if v is not None}
    req = RunRequest(model=model, start_from=str(checkpoint), handwriting=set_name, **SETTINGS[variant], **given)
    trainable_set(set_name, root)
    return req


def describe(variants: Iterable[str]) -> str:
    """One sentence per variant: what it trains."""
    return " ".join(f"{VARIANTS[v].capitalize()}: {WHAT[v]}." for v in variants if v in VARIANTS)


def variant_of(req: dict) -> Optional[str]:
    """The variant a stored request (config.json's "request") fine-tunes as; None if it does not fine-tune."""
    if not isinstance(req, dict) or not req.get("start_from") or not req.get("handwriting"):
        return None
    if req.get("tune", "last") == "last":
        return "last"
    return "replay" if req.get("replay") else "all"


def label(req: dict) -> str:
    """A short label of a fine-tuning request: "whole network with MNIST replay on mine from inception.pt"."""
    v = variant_of(req)
    if v is None:
        return ""
    return f"{VARIANTS[v]} on {req['handwriting']} from {Path(str(req['start_from'])).name}"
