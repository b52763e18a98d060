"""Fine-tuning on a handwriting set as run requests: the three variants the lesson and Compare put side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from ..request import RunRequest
from .data import trainable_set
from .variants import REPLAY, SETTINGS, VARIANTS, WHAT, label, variant_of  # noqa: F401  (their home is light)


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
