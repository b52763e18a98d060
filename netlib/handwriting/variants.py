"""The fine-tuning variants and how a stored request names one: torch-free, for run labels and listings."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

REPLAY = 0.9  # the replay variant: nine tenths of each batch from MNIST (measured: docs/benchmarks.md)
VARIANTS = {"last": "last layer only", "all": "whole network", "replay": "whole network with MNIST replay"}
SETTINGS = {"last": {"tune": "last"}, "all": {"tune": "all"}, "replay": {"tune": "all", "replay": REPLAY}}
WHAT = {
    "last": "only the final layer learns; every feature the network computes stays as it was",
    "all": "every weight learns from your digits alone",
    "replay": f"every weight learns, each batch {REPLAY:.0%} MNIST digits so it keeps what it knew",
}


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
