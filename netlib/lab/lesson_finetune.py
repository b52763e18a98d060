"""The fine-tuning lesson: which set it uses, the three variants' runs (netlib/handwriting/tuning.py), and its
measured answer from the runs' stored results (no streamlit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

LESSON_MODEL = "residual"  # the lesson starts from this network's shipped checkpoint
MIN_PER_DIGIT = 2  # a set the lesson can use has every digit at least twice: one to train on, one held out

# The lesson's answers: how many points of MNIST test accuracy a variant loses.
FORGETS, FORGETS_LITTLE, KEEPS = ("yes: it loses more than 1 point", "a little: 0.3 to 1 point",
                                  "no: it loses less than 0.3 points")
FORGET_CHOICES = (FORGETS, FORGETS_LITTLE, KEEPS)
BETTER, SAME, WORSE = "better", "the same", "worse"
HELD_CHOICES = (BETTER, SAME, WORSE)


def forget_verdict(before: Optional[float], after: Optional[float]) -> Optional[str]:
    """The choice for an MNIST accuracy (0-1) before and after; None when either is missing."""
    if before is None or after is None:
        return None
    drop = 100 * (before - after)
    return FORGETS if drop > 1.0 else FORGETS_LITTLE if drop >= 0.3 else KEEPS


def held_verdict(before: Optional[float], after: Optional[float], tested: int) -> Optional[str]:
    """Better, the same or worse on the `tested` held-out digits: how many it reads right, compared as
    counts (a share of a handful of digits moves in steps of one digit)."""
    if before is None or after is None or tested <= 0:
        return None
    right_before, right_after = round(before * tested), round(after * tested)
    return BETTER if right_after > right_before else WORSE if right_after < right_before else SAME


def usable(counts: Sequence[int]) -> bool:
    """A set the lesson can fine-tune on: every digit at least MIN_PER_DIGIT times."""
    return len(counts) == 10 and min(counts) >= MIN_PER_DIGIT


@dataclass(frozen=True)
class LessonSet:
    name: str
    synthetic: bool
    examples: int
    held_out: int = 0


def lesson_set(infos: Sequence) -> Optional[LessonSet]:
    """The set the lesson fine-tunes on (sets.SetInfo rows, the shipped example first as list_sets gives
    them): the person's own usable set with the most examples, else the shipped synthetic example."""
    own = [i for i in infos if not i.synthetic and not i.problem and usable(i.counts)]
    if own:
        best = max(own, key=lambda i: i.total)
        return LessonSet(best.name, False, best.total, best.held_out)
    example = next((i for i in infos if i.synthetic), None)
    return LessonSet(example.name, True, example.total, example.held_out) if example else None


# ---------------------------------------------------------------- fine-tuning runs and what they changed
def variant(config: dict) -> Optional[str]:
    """The fine-tuning variant (netlib/handwriting/variants.py's NAMES key) of a run's config.json; None
    for a run that does not fine-tune."""
    from ..handwriting.variants import variant_of

    return variant_of(config.get("request") or {})


def tuning_runs(entries: Sequence) -> list:
    """The fine-tuning runs among run_index's entries (newest first, as listed)."""
    return [e for e in entries if variant(e.config)]


def points(before: Optional[float], after: Optional[float]) -> Optional[float]:
    """after - before in percentage points (None when either is missing)."""
    return None if before is None or after is None else round(100 * (after - before), 2)


def comparison_rows(runs: Sequence[tuple]) -> list[dict]:
    """One row per fine-tuning run, given as (run name, config, changes.json or None): its variant, the set,
    the held-out digits' and MNIST's accuracy (%) before and after, MNIST's change in points."""
    from ..handwriting.variants import NAMES

    rows = []
    for name, config, changes in runs:
        request, c = config.get("request") or {}, changes if changes and "error" not in changes else {}
        held, mnist = c.get("held_out") or {}, c.get("mnist") or {}
        rows.append({"run": name, "variant": NAMES.get(variant(config), "?"), "set": request.get("handwriting"),
                     "held-out digits": held.get("n"), "held-out before %": _pct(held.get("before")),
                     "held-out after %": _pct(held.get("after")), "MNIST before %": _pct(mnist.get("before")),
                     "MNIST after %": _pct(mnist.get("after")),
                     "MNIST change (points)": points(mnist.get("before"), mnist.get("after"))})
    return rows


def _pct(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(100 * x, 2)


def per_digit_rows(changes: dict) -> list[dict]:
    """Per digit 0-9: held-out and MNIST accuracy (%) before and after (None where a digit has none)."""
    held, mnist = changes["held_out"]["per_digit"], changes["mnist"]["per_digit"]
    return [{"digit": d, "held out": held["count"][d], "held-out before %": _pct(held["before"][d]),
             "held-out after %": _pct(held["after"][d]), "MNIST test digits": mnist["count"][d],
             "MNIST before %": _pct(mnist["before"][d]), "MNIST after %": _pct(mnist["after"][d])}
            for d in range(10)]


def answer(by_variant: dict) -> dict:
    """The lesson's measured answers from changes.json by variant ("last", "all", "replay"): whole network
    on the held-out digits, and whether the whole network forgets MNIST without and with replay."""
    whole, replay = by_variant.get("all") or {}, by_variant.get("replay") or {}
    held = whole.get("held_out") or {}
    return {"held": held_verdict(held.get("before"), held.get("after"), held.get("n") or 0),
            "forget": forget_verdict((whole.get("mnist") or {}).get("before"), (whole.get("mnist") or {}).get("after")),
            "replay": forget_verdict((replay.get("mnist") or {}).get("before"), (replay.get("mnist") or {}).get("after"))}


THREADS = 1  # per run: the three runs share the machine's cores


def start_runs(set_name: str, runs_dir) -> list[str]:
    """The lesson's three runs: the shipped LESSON_MODEL checkpoint fine-tuned on `set_name` each way, queued
    together as ordinary runs; their folders."""
    from ..handwriting import tuning
    from ..runs import queue
    from . import catalogue, launch

    checkpoint = catalogue.shipped_checkpoint(LESSON_MODEL)
    requests = [tuning.request(LESSON_MODEL, checkpoint, set_name, v, threads=THREADS,
                               synthetic=launch.synthetic_from_env()) for v in tuning.VARIANTS]
    return [str(d) for d in queue.enqueue(runs_dir, requests, "lesson")]


def answer_words(rows: Sequence[dict]) -> str:
    """One sentence per measured run of comparison_rows: held-out and MNIST accuracy before -> after."""
    out = []
    for r in rows:
        if r["MNIST after %"] is None or r["held-out after %"] is None:
            continue
        out.append(f"- **{r['variant'].capitalize()}**: held-out digits {r['held-out before %']:.1f}% → "
                   f"{r['held-out after %']:.1f}% (of {r['held-out digits']}); MNIST {r['MNIST before %']:.2f}% → "
                   f"{r['MNIST after %']:.2f}% ({r['MNIST change (points)']:+.2f} points).")
    return "\n".join(out)
