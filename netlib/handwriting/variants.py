"""The fine-tuning variants and how a stored request names one: torch-free, for run labels and listings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

REPLAY = 0.9  # the replay variant: nine tenths of each batch from MNIST (measured: docs/benchmarks.md)
VARIANTS = {"last": "last layer only", "all": "whole network", "replay": "whole network with MNIST replay"}
# every stored request's variant: VARIANTS (the three the lesson and the page offer) plus `--tune last --replay`,
# whose batches mix in MNIST as the replay variant's do (engine/finetune.py), so its name says so
NAMES = {**VARIANTS, "last-replay": "last layer only with MNIST replay"}
SETTINGS = {"last": {"tune": "last"}, "all": {"tune": "all"}, "replay": {"tune": "all", "replay": REPLAY}}
WHAT = {
    "last": "only the final layer learns; every feature the network computes stays as it was",
    "all": "every weight learns from your digits alone",
    "replay": f"every weight learns, each batch {REPLAY:.0%} MNIST digits so it keeps what it knew",
}


def variant_of(req: dict) -> Optional[str]:
    """The variant (a NAMES key) a stored request (config.json's "request") fine-tunes as; None if it does not."""
    if not isinstance(req, dict) or not req.get("start_from") or not req.get("handwriting"):
        return None
    if (req.get("tune") or "last") == "last":
        return "last-replay" if req.get("replay") else "last"
    return "replay" if req.get("replay") else "all"


def label(req: dict) -> str:
    """A short label of a fine-tuning request: "whole network with MNIST replay on mine from inception.pt"."""
    v = variant_of(req)
    if v is None:
        return ""
    return f"{NAMES[v]} on {req['handwriting']} from {Path(str(req['start_from'])).name}"
