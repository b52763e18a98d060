"""The Lessons page's lessons: each a question, one preset experiment and its measured answer (no streamlit)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..names import network_title
from ..runs.files import LIVE_STATUSES
from ..runs.reader import RunEntry, RunInfo, read_run

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
RESIDUAL3, PLAIN3 = network_title("residual", {"blocks": 3}), network_title("plain", {"blocks": 3})
DIP_LARGER, DIP_WITHIN, NO_DIP = ("yes, larger than the spread", "no, within the spread",
                                  "there is no dip: accuracy does not fall")

LESSONS = (
    Lesson("one-by-one", "1x1 convs: cheaper or dearer?", (
        Question("w10", "At width 10 (as published), do the 1x1 convs make Inception's first block "
                        "cheaper or dearer?", (CHEAPER, DEARER, SAME_COST)),
        Question("w64", "And at width 64?", (CHEAPER, DEARER, SAME_COST))),
        "Count the multiply-adds", ("app_pages/inspect.py",)),
    Lesson("naive-speed", "Inception vs Naive: which is faster?", (
        Question("faster", "Which trains faster on this machine, Inception or Naive Inception (no 1x1 "
                           "convs in front of the 5x5 and 3x3 branches)?", (INCEPTION, NAIVE, SAME_SPEED)),),
        "Train both", ("app_pages/compare.py", "app_pages/train.py", "app_pages/inspect.py")),
    Lesson("skip-gradient", "Skips and the first layer's gradient", (
        Question("ratio", "After one epoch at 3 blocks per stage, how much larger is the gradient reaching "
                          "the first layer with skip connections (Residual) than without (Plain)?",
                 tuple(GRAD_LEVELS)),),
        "Open the recording", ("app_pages/compare.py", "app_pages/home.py")),
    Lesson("lesion", "Remove a block at test time", (
        Question("survivor", f"Remove one block at test time: which network survives, {RESIDUAL3} or "
                             f"{PLAIN3}?", (RESIDUAL3, PLAIN3, "both", "neither")),),
        "Run the lesion test", ("app_pages/inspect.py", "app_pages/compare.py")),
    Lesson("seed-dip", "The seed's 'overfitting' dip", (
        Question("dip", "The original seed script's Residual run printed test accuracy 99% at epoch 6 and "
                        "98% at epoch 7, and called it overfitting. Is that dip larger than the spread "
                        "between seeds?", (DIP_LARGER, DIP_WITHIN, NO_DIP)),),
        "Open the recording", ("app_pages/compare.py", "app_pages/train.py")),
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
LESSON_WIDTHS = {"w10": 10, "w64": 64}


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


# ---------------------------------------------------------------- lessons that train
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
           "skip-gradient": Preset(("residual", "plain"), "seed", 1, 5000, blocks=3)}


def start_runs(lesson_id: str, runs_dir: Path) -> list[str]:
    """Launch a lesson's preset runs at once, as training runs like any other; their folders."""
    from . import launch

    p = PRESETS[lesson_id]
    dirs = []
    for model in p.models:
        args = launch.train_args(model, p.recipe, {"epochs": p.epochs}, p.limit, blocks=p.blocks)
        dirs.append(str(launch.launch(runs_dir, model, p.recipe, args, threads=p.threads, tag="lesson")))
    return dirs


@dataclass
class RunsState:
    """Where a lesson's runs are: 'starting', 'running', 'failed' or 'done' (all of them done)."""

    state: str
    runs: list  # RunInfo of the runs that have started, in launch order
    message: str = ""


def combine(infos: Sequence[Optional[RunInfo]], failed_to_start: Sequence[str] = ()) -> RunsState:
    """One state for several runs: any failure fails the lesson; done only when every run is done.
    infos: a RunInfo per run, None for one that has not written its status yet."""
    runs = [r for r in infos if r is not None]
    # stopped counts too: the lesson needs every run's whole epoch
    bad = [f"{r.name} {r.status}: {r.reason or 'no reason given'}" for r in runs
           if not r.live and r.status != "done"]
    if failed_to_start or bad:
        return RunsState("failed", runs, "; ".join([*failed_to_start, *bad]))
    if not infos or any(r is None for r in infos):
        return RunsState("starting", runs, "starting the training processes (loading torch and MNIST)...")
    if any(r.status in LIVE_STATUSES for r in runs):
        return RunsState("running", runs)
    return RunsState("done", runs)


def runs_state(dirs: Sequence) -> RunsState:
    """combine() for run folders, asking the launcher about the ones with no status yet."""
    from . import launch

    infos, failed = [], []
    for d in dirs:
        info = read_run(Path(d))
        if info is None:
            p = launch.pending(Path(d))
            if p.failed:
                failed.append(f"{Path(d).name}: {p.message}")
        infos.append(info)
    return combine(infos, failed)


def newest_pair(entries: Sequence[RunEntry], models: Sequence[str] = ("inception", "naive")) -> Optional[list]:
    """The folders of the newest finished run of each model (entries newest first, as run_index lists
    them), at published shape; None unless every model has one."""
    out = []
    for model in models:
        hit = next((e for e in entries if e.model == model and e.status == "done"
                    and not e.config.get("model_kwargs")), None)
        if hit is None:
            return None
        out.append(str(hit.dir))
    return out


# ---------------------------------------------------------------- 2: Inception vs Naive speed
SAME_SPEED_WITHIN = 0.05  # samples/s within 5% of each other read as "about the same"


def speed_verdict(inception: float, naive: float) -> str:
    if abs(inception - naive) <= SAME_SPEED_WITHIN * max(inception, naive):
        return SAME_SPEED
    return INCEPTION if inception > naive else NAIVE


def speed_answer(runs: Sequence[RunInfo], macs: dict) -> dict:
    """Measured training speed of an Inception run and a Naive run beside their multiply-adds per digit
    (macs: model -> count). None as the verdict unless both runs have finished an epoch."""
    from ..runs.summary import run_stats

    rows = []
    for info in runs:
        s = run_stats(info)
        rows.append({"network": s["network_label"], "model": s["network"], "run": info.name,
                     "samples_per_s": s["samples_per_s"], "s_per_epoch": s["s_per_epoch"],
                     "macs": macs.get(s["network"]), "threads": info.start.get("threads"),
                     "samples": info.start.get("samples")})
    speed = {r["model"]: r["samples_per_s"] for r in rows if r["samples_per_s"]}
    verdict = speed_verdict(speed["inception"], speed["naive"]) if {"inception", "naive"} <= set(speed) else None
    return {"verdicts": {"faster": verdict}, "rows": rows}


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


# ---------------------------------------------------------------- 4: the lesion test
LESION_DIGITS = 10_000  # MNIST's whole test set (7 passes of it per network)


def lesion_answer(rows: dict, small_drop: Optional[float] = None) -> dict:
    """rows: network title -> lesion_test rows [("none", acc), (block, acc), ...]. A network survives
    when removing any one block costs it under small_drop points (netlib.analysis.lesion.SMALL_DROP)."""
    if small_drop is None:
        from ..analysis.lesion import SMALL_DROP as small_drop
    nets = []
    for title, table in rows.items():
        full = table[0][1]
        worst_name, worst = min(table[1:], key=lambda r: r[1])
        mean = sum(acc for _, acc in table[1:]) / len(table[1:])
        nets.append({"network": title, "intact": full, "worst_block": worst_name, "worst": worst,
                     "mean": mean, "survives": 100 * (full - worst) < small_drop})
    alive = [n["network"] for n in nets if n["survives"]]
    verdict = None
    if {RESIDUAL3, PLAIN3} <= {n["network"] for n in nets}:
        verdict = alive[0] if len(alive) == 1 else "both" if len(alive) == 2 else "neither"
    return {"verdicts": {"survivor": verdict}, "networks": nets, "small_drop": small_drop}
