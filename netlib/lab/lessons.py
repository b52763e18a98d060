"""The Lessons page's lessons: each a question, one preset experiment and its measured answer (no streamlit)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from ..names import DEFAULT_WIDTH, network_title
from .lesson_finetune import FORGET_CHOICES, HELD_CHOICES

# Imported inside the functions that need them: catalogue, launch and analysis load torch, and the
# answers from run events stay importable (and testable) without it.


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    choices: tuple


@dataclass(frozen=True)
class Lesson:
    id: str  # stable: the page selects a lesson by it (?lesson=ID)
    title: str
    questions: tuple
    action: str  # the one button's label
    links: tuple  # app_pages paths of the pages that show more


CHEAPER, DEARER, SAME_COST = "cheaper", "dearer", "the same"
INCEPTION, NAIVE, SAME_SPEED = network_title("inception"), network_title("naive"), "about the same"
GRAD_LEVELS = {"about the same": 1.0, "~10x": 10.0, "~1,000x": 1e3, "~100,000x or more": 1e5}
RESIDUAL, PLAIN = network_title("residual"), network_title("plain")  # the lesion lesson's choices
DIP_LARGER, DIP_WITHIN, RISE_LARGER = ("yes: it falls by more than the spread", "no: it is within the spread",
                                       "no: it rises by more than the spread")
DIP_FROM, DIP_TO = 6, 7  # the seed script printed 99% at epoch 6 and 98% at epoch 7
SAME_SEPARATION = "about the same"  # the map lesson's third choice
# kNN accuracies closer than this count as the same: over 2,000 digits, one near 97% has a standard error of
# about 0.4 points, so a gap under a point is within what another 2,000 digits could give.
SEPARATION_TIE = 0.01
LESSON_WIDTHS = {"w10": 10, "w64": 64}  # lesson 1's questions: conv1's width (the first block's input)


@dataclass(frozen=True)
class Preset:
    """The settings of a lesson's training runs: short enough for under a minute on 2 cores."""

    models: tuple
    recipe: str
    epochs: int
    limit: int
    blocks: int = 1
    threads: int = 1  # one per run: two runs of two threads on two cores spin against each other


PRESETS = {"naive-speed": Preset(("inception", "naive"), "fast", 1, 5000),
           "skip-gradient": Preset(("residual", "plain"), "seed", 1, 5000, blocks=3),
           "map-separation": Preset(("inception", "residual"), "fast", 1, 5000)}


def _at_width(key: str) -> str:
    width = LESSON_WIDTHS[key]
    return f"width {width}" + (" (as published)" if width == DEFAULT_WIDTH else "")


LESSONS = (
    Lesson("one-by-one", "1x1 convs: cheaper or dearer?", (
        Question("w10", f"At {_at_width('w10')}, do the 1x1 convs make Inception's first block "
                        "cheaper or dearer?", (CHEAPER, DEARER, SAME_COST)),
        Question("w64", f"And at {_at_width('w64')}?", (CHEAPER, DEARER, SAME_COST))),
        "Count the multiply-adds", ("app_pages/inspect.py",)),
    Lesson("naive-speed", "Inception vs Naive: which is faster?", (
        Question("faster", "Which trains faster on this machine, Inception or Naive Inception (no 1x1 "
                           "convs in front of the 5x5 and 3x3 branches)?", (INCEPTION, NAIVE, SAME_SPEED)),),
        "Train both", ("app_pages/compare.py", "app_pages/train.py", "app_pages/inspect.py")),
    Lesson("skip-gradient", "Skips and the first layer's gradient", (
        Question("ratio", f"After one epoch at {PRESETS['skip-gradient'].blocks} blocks per stage, how much "
                          "larger is the gradient reaching the first layer with skip connections (Residual) "
                          "than without (Plain)?", tuple(GRAD_LEVELS)),),
        "Open the recording", ("app_pages/compare.py", "app_pages/home.py")),
    Lesson("lesion", "Remove a block at test time", (
        Question("survivor", f"Remove one block at test time: which network survives, {RESIDUAL} (with skip "
                             f"connections) or {PLAIN} (without), both at the depth of the shipped lesion "
                             "checkpoints?", (RESIDUAL, PLAIN, "both", "neither")),),
        "Run the lesion test", ("app_pages/inspect.py", "app_pages/compare.py")),
    Lesson("seed-dip", "The seed's 'overfitting' dip", (
        Question("dip", f"The seed script printed 99% test accuracy at epoch {DIP_FROM} and 98% at epoch "
                        f"{DIP_TO}, and called it overfitting. Rerun with several seeds: is the change from "
                        f"epoch {DIP_FROM} to {DIP_TO} (the seeds' mean) larger than the spread between "
                        "seeds?", (DIP_LARGER, DIP_WITHIN, RISE_LARGER)),),
        "Open the recording", ("app_pages/compare.py", "app_pages/train.py")),
    Lesson("map-separation", "Which network separates the digits sooner?", (
        Question("separates", f"After one epoch on {PRESETS['map-separation'].limit:,} training images, whose last "
                              f"features separate MNIST's test digits better, {INCEPTION}'s or {RESIDUAL}'s (the "
                              "digits' 5 nearest neighbours among those features share their label more often)?",
                 (INCEPTION, RESIDUAL, SAME_SEPARATION)),),
        "Train both and map them", ("app_pages/map.py", "app_pages/compare.py")),
    Lesson("finetune-forget", "Fine-tune on 50 of your digits: does it forget MNIST?", (
        Question("held", "Fine-tune the whole network on your digits: does it read your held-out digits (never "
                         "trained on) better, the same or worse?", HELD_CHOICES),
        Question("forget", "Does that whole-network fine-tuning forget MNIST (its accuracy on MNIST's 10,000 "
                           "test digits)?", FORGET_CHOICES),
        Question("replay", "And with MNIST replay (MNIST digits mixed into every batch)?", FORGET_CHOICES)),
        "Fine-tune three ways", ("app_pages/handwriting.py", "app_pages/draw.py")),
)
LESSON_IDS = tuple(lesson.id for lesson in LESSONS)


def lesson(lesson_id: str) -> Lesson:
    """The lesson with this id; KeyError naming the known ids otherwise."""
    for item in LESSONS:
        if item.id == lesson_id:
            return item
    raise KeyError(f"unknown lesson {lesson_id!r}; choose one of: {', '.join(LESSON_IDS)}")


def grade(picked: Optional[str], measured: Optional[str]) -> Optional[bool]:
    """True/False for an answer against the measured one; None when either is missing."""
    return None if picked is None or measured is None else picked == measured


# ---------------------------------------------------------------- 1: the 1x1 convs' cost

def cost_verdict(with_1x1: int, without: int) -> str:
    return SAME_COST if with_1x1 == without else CHEAPER if with_1x1 < without else DEARER


def one_by_one_answer(widths: Optional[dict] = None) -> dict:
    """Per question, the first Inception block at that width counted with and without its 1x1 convs
    (netlib.analysis.cost), its verdict and note; and the break-even input width."""
    from ..analysis import cost

    rows, verdicts = [], {}
    for key, width in (widths or LESSON_WIDTHS).items():
        name, in_ch, size = cost.network_blocks(width)[0]
        inc, naive = cost.block_cost(in_ch, True, size), cost.block_cost(in_ch, False, size)
        verdicts[key] = cost_verdict(inc.total_macs, naive.total_macs)
        rows.append({"width": width, "block": name, "in_ch": in_ch, "macs_with": inc.total_macs,
                     "macs_without": naive.total_macs, "verdict": verdicts[key],
                     "note": cost.one_by_one_note(in_ch)})
    return {"verdicts": verdicts, "rows": rows, "crossover": cost.crossover_width()}


# ---------------------------------------------------------------- 3: gradients with and without skips
def first_layer_grads(batches: Sequence[dict], epoch: int = 1) -> list[float]:
    """The first layer's gradient norm at each report of `epoch` that recorded one."""
    return [b["grad_norm"][0] for b in batches
            if b.get("epoch") == epoch and b.get("grad_norm") and b["grad_norm"][0]]


def grad_ratio(with_skips: Sequence[dict], without: Sequence[dict], epoch: int = 1,
               last: int = 10) -> Optional[float]:
    """How many times larger the first layer's gradient is with skips than without, at the end of
    `epoch`: the mean of its last `last` reports in each run; None without reports in both."""
    a, b = first_layer_grads(with_skips, epoch)[-last:], first_layer_grads(without, epoch)[-last:]
    if not a or not b:
        return None
    return (sum(a) / len(a)) / (sum(b) / len(b))


def grad_verdict(ratio: Optional[float]) -> Optional[str]:
    """The choice nearest to the ratio on a log scale (a ratio below 1 reads as 'about the same' too)."""
    if ratio is None or not ratio > 0 or not math.isfinite(ratio):
        return None
    return min(GRAD_LEVELS, key=lambda k: abs(math.log10(max(ratio, 1.0)) - math.log10(GRAD_LEVELS[k])))


def skip_answer(with_skips: Sequence[dict], without: Sequence[dict]) -> dict:
    ratio = grad_ratio(with_skips, without)
    return {"verdicts": {"ratio": grad_verdict(ratio)}, "ratio": ratio,
            "reports": len(first_layer_grads(with_skips))}


# ---------------------------------------------------------------- recordings: what they were recorded with
def blocks_of(grad_layers: Sequence[str]) -> Optional[int]:
    """Blocks per stage of a Residual or Plain recording, from the layers whose gradients it recorded
    ('rblock1.conv1' for one block, 'rblock1.0.conv1', 'rblock1.1.conv1', ... for more); None without any."""
    n = sum(1 for name in grad_layers if re.fullmatch(r"rblock1(\.\d+)?\.conv1", name))
    return n or None


def recording_setup(start: dict) -> str:
    """'Residual ×3, seed recipe, 60,000 training images' from a recording's start event; the depth only
    when its recorded layers show it (a recording without gradient norms names the model alone)."""
    blocks = blocks_of(start.get("grad_layers") or [])
    parts = [network_title(start.get("model", "?"), {"blocks": blocks} if blocks else {}),
             f"{start.get('recipe', '?')} recipe"]
    if isinstance(start.get("samples"), int):
        parts.append(f"{start['samples']:,} training images")
    return ", ".join(parts)


def story_starts() -> dict:
    """model -> the start event of the shipped gradient-flow recording ({} when it is missing)."""
    from .catalogue import recorded_story

    found = {run["model"]: run["start"] for run in recorded_story({})}
    return {model: found.get(model, {}) for model in ("residual", "plain")}


# ---------------------------------------------------------------- 4: the lesion test
LESION_DIGITS = 10_000  # MNIST's whole test set (7 passes of it per network)


def lesion_answer(nets: Sequence[tuple]) -> dict:
    """nets: (model, title, lesion_test rows [("none", acc), (block, acc), ...]) per network. A network
    survives when removing any one block costs it under netlib.analysis.lesion.SMALL_DROP points, the
    line describe() draws; the verdict names the model ("Residual", "Plain", "both", "neither")."""
    from ..analysis.lesion import SMALL_DROP, describe

    out = []
    for model, title, rows in nets:
        drop = 100 * (rows[0][1] - min(acc for _, acc in rows[1:]))
        out.append({"model": model, "network": title, "survives": drop < SMALL_DROP,
                    "words": describe(title, rows)})
    alive = [network_title(n["model"]) for n in out if n["survives"]]
    verdict = None
    if {"residual", "plain"} <= {n["model"] for n in out}:
        verdict = alive[0] if len(alive) == 1 else "both" if len(alive) == 2 else "neither"
    return {"verdicts": {"survivor": verdict}, "networks": out, "small_drop": SMALL_DROP}


# ---------------------------------------------------------------- the map: which network separates sooner
def separation_answer(figures: dict) -> dict:
    """figures: model -> the separation figures (netlib.embedding.separation) of its run's map. The verdict
    goes by the kNN accuracy in the full feature space (the map's own 2-D figure depends on the projection);
    gaps under SEPARATION_TIE are 'about the same'."""
    rows = [{"model": m, "network": network_title(m), **{k: float(v) for k, v in f.items()}}
            for m, f in figures.items()]
    verdict = None
    if {"inception", "residual"} <= set(figures):
        gap = figures["inception"]["knn_features"] - figures["residual"]["knn_features"]
        verdict = SAME_SEPARATION if abs(gap) < SEPARATION_TIE else INCEPTION if gap > 0 else RESIDUAL
    return {"verdicts": {"separates": verdict}, "rows": rows, "tie": SEPARATION_TIE}
