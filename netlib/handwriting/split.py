"""The held-out split of a handwriting set: a fixed share of each digit, decided once per example and kept."""

from __future__ import annotations

import math
from typing import Sequence

HELD_OUT_SHARE = 0.2  # a fifth of each digit's examples is kept for testing


def held_out_target(n: int, share: float = HELD_OUT_SHARE) -> int:
    """How many of a digit's n examples are held out: none of one example (it is needed to train),
    else at least one, and about `share` of them (rounded half up: 2-7 examples -> 1, 8-12 -> 2)."""
    if n < 2:
        return 0
    return max(1, math.floor(n * share + 0.5))


def hold_new(labels: Sequence[int], held_out: Sequence[bool], label: int, share: float = HELD_OUT_SHARE) -> bool:
    """Whether a new example of `label` is held out. The decision is made once, when it is added, and
    never revisited: the new example is held out exactly when its digit falls short of its target, so
    earlier examples keep their place (training or test) whatever is added later."""
    n = sum(1 for x in labels if x == label) + 1
    held = sum(1 for x, h in zip(labels, held_out) if x == label and h)
    return held < held_out_target(n, share)


def refill(labels: Sequence[int], held_out: Sequence[bool], label: int) -> list[bool]:
    """held_out after an example of `label` was removed: if the digit still has two or more examples
    but none held out (the held-out one was removed), its most recently added one is held out instead;
    every other choice stays as it was."""
    out = list(held_out)
    mine = [i for i, x in enumerate(labels) if x == label]
    if len(mine) >= 2 and not any(out[i] for i in mine):
        out[mine[-1]] = True
    return out


def split_in_order(labels: Sequence[int], share: float = HELD_OUT_SHARE) -> list[bool]:
    """The split a set gets when its examples are added one by one in this order (an imported set
    that did not record its own)."""
    out: list[bool] = []
    for i, label in enumerate(labels):
        out.append(hold_new(labels[:i], out, label, share))
    return out
