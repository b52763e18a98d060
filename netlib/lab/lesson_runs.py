"""The Lessons page's training runs: launch a preset, follow it, pair like runs, and the speed lesson's answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..names import DEFAULT_WIDTH
from ..recipes import recorded_values
from ..runs.files import LIVE_STATUSES
from ..runs.reader import RunEntry, RunInfo, read_run
from .lessons import INCEPTION, NAIVE, PRESETS, SAME_SPEED

# launch and summary are imported inside the functions that need them: launch loads torch, and the
# answers from run events stay importable (and testable) without it.


def start_runs(lesson_id: str, runs_dir: Path) -> list[str]:
    """Launch a lesson's preset runs at once, as training runs like any other; their folders."""
    from ..runs import queue
    from . import launch

    p = PRESETS[lesson_id]
    requests = [launch.request_for(model, p.recipe, {"epochs": p.epochs}, p.limit, blocks=p.blocks,
                                   threads=p.threads) for model in p.models]
    # together: next to each other in line (no other run between the pair), and nothing enqueued if one
    # of them is refused
    return [str(d) for d in queue.enqueue(runs_dir, requests, "lesson")]


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
           if not r.live and not r.waiting and r.status != "done"]
    if failed_to_start or bad:
        return RunsState("failed", runs, "; ".join([*failed_to_start, *bad]))
    if not infos or any(r is None for r in infos):
        return RunsState("starting", runs, "starting the training processes (loading torch and MNIST)...")
    if any(r.waiting for r in runs):  # the run queue: they start as CPU slots free up
        return RunsState("starting", runs, "waiting in the run queue for free CPU slots, then starting...")
    if any(r.status in LIVE_STATUSES for r in runs):
        return RunsState("running", runs)
    return RunsState("done", runs)


def runs_state(dirs: Sequence, read: Callable[[Path], Optional[RunInfo]] = read_run) -> RunsState:
    """combine() for run folders, asking the launcher about the ones with no status yet. read: how a run
    is read (a page polling passes its followers', which read only what a log gained)."""
    from . import launch

    infos, failed = [], []
    for d in dirs:
        info = read(Path(d))
        if info is None:
            p = launch.pending(Path(d))
            if p.failed:
                failed.append(f"{Path(d).name}: {p.message}")
        infos.append(info)
    return combine(infos, failed)


# ---------------------------------------------------------------- runs that can be compared
def run_width(config: dict) -> int:
    return (config.get("model_kwargs") or {}).get("width", DEFAULT_WIDTH)


# What two runs must share for their speeds to be compared, read from each run's config.json.
LIKE_CONFIG = {"recipe": lambda c: recorded_values(c.get("recipe")), "training images": lambda c: c.get("limit"),
               "device": lambda c: c.get("device"), "width": run_width}


def config_unlike(a: dict, b: dict) -> list[str]:
    return [word for word, get in LIKE_CONFIG.items() if get(a) != get(b)]


def unlike(a: RunInfo, b: RunInfo) -> list[str]:
    """What differs between two runs that a speed comparison needs the same: recipe values, image limit,
    device, width (config.json) and the threads torch used (the start event); [] when they are alike.
    A run whose log does not say its threads is unlike any other."""
    threads_a, threads_b = a.start.get("threads"), b.start.get("threads")
    return config_unlike(a.config, b.config) + ([] if threads_a is not None and threads_a == threads_b
                                                 else ["threads"])


def newest_pair(entries: Sequence[RunEntry], models: Sequence[str] = ("inception", "naive"),
                read: Callable[[Path], Optional[RunInfo]] = read_run) -> Optional[list]:
    """The folders of a finished run of each of two models that can be compared (unlike() is empty): the
    newest run of the first model that has such a partner, with its newest partner (entries newest first,
    as run_index lists them). None when there is no such pair."""
    first, second = ([e for e in entries if e.model == m and e.status == "done"] for m in models)
    infos = {}

    def info(entry: RunEntry) -> Optional[RunInfo]:
        if entry.dir not in infos:
            infos[entry.dir] = read(entry.dir)  # a run's log is read once, and only for a possible pair
        return infos[entry.dir]

    for a in first:
        for b in second:
            if config_unlike(a.config, b.config):
                continue
            ia, ib = info(a), info(b)
            if ia is not None and ib is not None and not unlike(ia, ib):
                return [str(a.dir), str(b.dir)]
    return None


# ---------------------------------------------------------------- 2: Inception vs Naive speed
SAME_SPEED_WITHIN = 0.05  # samples/s within 5% of each other read as "about the same", in verdict and words


def speed_gap(a: float, b: float) -> float:
    """How far apart two speeds are, as a share of the faster one."""
    return abs(a - b) / max(a, b)


def speed_verdict(inception: float, naive: float) -> str:
    if speed_gap(inception, naive) <= SAME_SPEED_WITHIN:
        return SAME_SPEED
    return INCEPTION if inception > naive else NAIVE


def speed_answer(runs: Sequence[RunInfo], macs: dict) -> dict:
    """Measured training speed of an Inception run and a Naive run beside their multiply-adds per digit
    (macs: model -> count, at the runs' width). The verdict is None unless both runs have finished an
    epoch under like settings ('unlike' names what differs)."""
    from ..runs.summary import run_stats

    rows = []
    for info in runs:
        s = run_stats(info)
        rows.append({"network": s["network_label"], "model": s["network"], "run": info.name,
                     "samples_per_s": s["samples_per_s"], "s_per_epoch": s["s_per_epoch"],
                     "macs": macs.get(s["network"]), "threads": info.start.get("threads"),
                     "samples": info.start.get("samples")})
    differ = unlike(runs[0], runs[1]) if len(runs) == 2 else []
    speed = {r["model"]: r["samples_per_s"] for r in rows if r["samples_per_s"]}
    verdict = None
    if {"inception", "naive"} <= set(speed) and not differ:
        verdict = speed_verdict(speed["inception"], speed["naive"])
    return {"verdicts": {"faster": verdict}, "rows": rows, "unlike": differ}


def speed_words(rows: Sequence[dict], verdict: Optional[str]) -> Optional[str]:
    """What was measured, in words, agreeing with the verdict; None without one."""
    if verdict is None:
        return None
    setting = "; ".join(each(rows, key, unit) for key, unit in (("threads", "CPU thread(s)"),
                                                                  ("samples", "training images")))
    speeds = " and ".join(f"{r['network']} at **{r['samples_per_s']:,.0f} samples/s**" for r in rows)
    return (f"Measured here: {speeds} ({setting}). " + cost_words(rows, verdict)
            + "Multiply-adds count arithmetic only; convolutions this thin do little arithmetic per byte "
            "they move, so memory traffic and per-layer overhead weigh as much, and runs sharing the cores "
            "slow each other: run it again to see how much the numbers move.")


def cost_words(rows: Sequence[dict], verdict: str) -> str:
    """Whether fewer multiply-adds meant faster training here, in the verdict's terms; '' when the two
    networks' counts are missing or equal."""
    by = {r["model"]: r for r in rows}
    cheap, dear = sorted((by["inception"], by["naive"]), key=lambda r: r["macs"] or 0)
    if not cheap["macs"] or cheap["macs"] == dear["macs"]:
        return ""
    fewer = f"{cheap['network']} does {100 * (1 - cheap['macs'] / dear['macs']):.0f}% fewer multiply-adds per digit"
    gap = 100 * speed_gap(cheap["samples_per_s"], dear["samples_per_s"])
    if verdict == SAME_SPEED:
        return (f"{fewer}, yet the two trained at about the same speed ({gap:.1f}% apart; this lesson "
                f"counts up to {100 * SAME_SPEED_WITHIN:.0f}% as the same): here fewer multiply-adds did "
                "not mean faster training. ")
    faster = verdict == (INCEPTION if cheap["model"] == "inception" else NAIVE)
    ratio = cheap["samples_per_s"] / dear["samples_per_s"]
    return (f"{fewer} and trained {abs(100 * (ratio - 1)):.0f}% {'faster' if faster else 'slower'}: here "
            f"fewer multiply-adds {'did' if faster else 'did not'} mean faster training. ")


def each(rows: Sequence[dict], key: str, unit: str) -> str:
    """'1 CPU thread(s) each', or per network when the runs differ."""
    values = [f"{r[key]:,}" if isinstance(r[key], int) else "?" for r in rows]  # "?": an old run's log
    if len(set(values)) == 1:
        return f"{values[0]} {unit} each"
    return ", ".join(f"{r['network']} {v}" for r, v in zip(rows, values)) + f" {unit}"
