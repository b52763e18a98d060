"""The Sweep page's logic (no streamlit): the form's values as a checked SweepSpec, the total time from
measured speeds, the workers this server starts, and the trial table's rows."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from ..names import TITLES, network_title
from ..recipes import recipe_for
from ..runs.files import CHECKPOINT, METRICS, PRUNED
from ..runs.reader import last_line, read_events
from ..safepath import is_contained
from ..sweeps import workers
from ..sweeps.space import MNIST_TRAIN, SpaceError, SweepSpec, check
from .launch import synthetic_from_env  # noqa: F401  (the Sweep page asks it here)

MEASURED = ("done", PRUNED)  # runs whose clock covers whole epochs (a stopped run's may end mid-epoch)
COST_AXES = ("model", "width", "blocks", "recipe", "epochs")  # what sets a trial's training time here
HEAD_BYTES = 64 << 10  # the metrics log's first line, its start event, is far shorter
_STARTED: dict = {}  # (sweep, pid) -> Popen of the workers this server started: polled so none is a zombie


# ---------------------------------------------------------------- the form
def numbers(text: str, what: str, whole: bool) -> list:
    """'0.01, 0.03' -> [0.01, 0.03]: commas or spaces between; SpaceError naming the bad value."""
    out = []
    for token in str(text or "").replace(",", " ").split():
        try:
            out.append(int(token) if whole else float(token))
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise SpaceError(f"{what}: {token[:40]!r} is not {kind}") from None
    return out


def required(values: list, what: str, example: str) -> list:
    if not values:
        raise SpaceError(f"{what}: the list is empty; give at least one ({example})")
    return values


def threads_per_trial(asked: int, workers_here: int, cores: Optional[int] = None) -> int:
    """asked, or (0) this machine's cores shared by its workers: each trial's own thread count."""
    cores = cores or os.cpu_count() or 1
    return int(asked) if asked else max(1, cores // max(1, int(workers_here)))


def build_spec(v: dict) -> SweepSpec:
    """The form's values as a checked SweepSpec; SpaceError (one line) for the first thing wrong.
    v: name, model, recipe, optimizer, augment (lists); width, blocks, lr, batch_size, epochs, seed
    (texts); lr_mode ('recipe', 'list' or 'range'), lr_low, lr_high, limit (0: all), synthetic, threads,
    sampler, trials (0: the whole grid, or the default), prune."""
    spec = SweepSpec(name=str(v.get("name", "")).strip(), model=list(v.get("model") or []),
                     recipe=required(list(v.get("recipe") or []), "recipes", "such as fast"),
                     optimizer=list(v.get("optimizer") or []), augment=list(v.get("augment") or []),
                     width=numbers(v.get("width"), "widths", True), blocks=numbers(v.get("blocks"), "blocks", True),
                     batch_size=numbers(v.get("batch_size"), "batch sizes", True),
                     epochs=numbers(v.get("epochs"), "epochs", True),
                     seed=required(numbers(v.get("seed"), "seeds", True), "seeds", "such as 0"),
                     limit=int(v.get("limit") or 0) or None, synthetic=v.get("synthetic") or None,
                     threads=int(v.get("threads") or 0) or None, sampler=v.get("sampler", "grid"),
                     trials=int(v.get("trials") or 0) or None, prune=v.get("prune", "none"))
    mode = v.get("lr_mode", "list")
    if mode == "list":
        spec.lr = required(numbers(v.get("lr"), "learning rates", False), "learning rates",
                           "such as 0.001, 0.003, or choose each recipe's own")
    elif mode == "range":
        spec.lr_range = [float(v.get("lr_low") or 0), float(v.get("lr_high") or 0)]
    return check(spec)


# ---------------------------------------------------------------- the estimate
@dataclass
class Speed:
    """A network's measured training speed on this machine: seconds per training image, from runs."""

    title: str
    seconds: float = 0.0  # the runs' clocks added up (training and each epoch's test pass)
    images: int = 0  # the training images they went through (epochs x images per epoch)
    runs: int = 0

    @property
    def per_image(self) -> float:
        return self.seconds / self.images


@dataclass
class Estimate:
    seconds: Optional[float]  # None while a network of the sweep has no measured speed
    trials: int
    speeds: list = field(default_factory=list)  # the Speeds it is based on
    missing: list = field(default_factory=list)  # networks (titles) without a measured speed
    sampled: bool = False  # random / TPE: the space's mean trial times the trials
    pruning: bool = False  # pruned trials end early: the figure is the most it takes
    images: int = MNIST_TRAIN  # training images per epoch, of the sweep and of the runs it is based on


def _network_key(model: str, kwargs: Optional[dict]) -> tuple:
    return model, tuple(sorted((kwargs or {}).items()))


def _images_per_epoch(run_dir: Path) -> Optional[int]:
    """The training images per epoch, from the run's start event (a synthetic run records its count
    only there); None when the log cannot be read."""
    try:  # the log's first line, within HEAD_BYTES: the log can be megabytes
        events = read_events(run_dir / METRICS, HEAD_BYTES, max_events=1)
    except OSError:
        return None
    event = events[0] if events else {}  # none: no JSON object (RecursionError included)
    samples = event.get("samples") if event.get("event") == "start" else None
    return samples if isinstance(samples, int) and not isinstance(samples, bool) and samples > 0 else None


def measured_speeds(entries: list, device: str, images_per_epoch: Optional[int] = None) -> dict:
    """{network key: Speed} from the finished runs in the runs folder that trained on `device` (on
    images_per_epoch training images, when given: each epoch's test pass costs the same at any --limit)."""
    out: dict = {}
    for e in entries:
        status, config = e.status_json or {}, e.config or {}
        elapsed, epochs = status.get("elapsed"), status.get("epoch")
        if e.status not in MEASURED or config.get("device") != device or config.get("model") not in TITLES:
            continue
        if not isinstance(elapsed, (int, float)) or not isinstance(epochs, int) or elapsed <= 0 or epochs < 1:
            continue
        images = _images_per_epoch(e.dir)
        if images is None or images_per_epoch not in (None, images):
            continue
        kwargs = config.get("model_kwargs") or {}
        speed = out.setdefault(_network_key(config["model"], kwargs), Speed(network_title(config["model"], kwargs)))
        speed.seconds += float(elapsed)
        speed.images += epochs * images
        speed.runs += 1
    return out


def estimate(spec: SweepSpec, entries: list, device: str) -> Estimate:
    """The sweep's training time, the trials' measured times added up: epochs x images x seconds per
    image of each trial's network, from runs on as many images per epoch (a grid: its points; random and
    TPE: the mean over the networks and epoch counts of the space, whatever else varies)."""
    images = min(n for n in (spec.limit, spec.synthetic, MNIST_TRAIN) if n)
    speeds = measured_speeds(entries, device, images)
    if spec.sampler == "grid":
        points = spec.grid()[:spec.total_trials()]
    else:  # only what sets a trial's cost: the whole space can be far larger than its trials
        axes = {a: v for a, v in spec.axes().items() if a in COST_AXES}
        points = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    costs, used, missing = [], {}, {}
    for point in points:
        r = spec.request(point)
        key = _network_key(r.model, r.shape())
        if key not in speeds:
            missing[key] = network_title(r.model, r.shape())
            continue
        used[key] = speeds[key]
        costs.append((r.epochs or recipe_for(r.recipe, r.model).epochs) * images * speeds[key].per_image)
    sampled = spec.sampler != "grid"
    seconds = None
    if not missing and costs:
        seconds = sum(costs) / len(costs) * spec.total_trials() if sampled else sum(costs)
    return Estimate(seconds, spec.total_trials(), list(used.values()), list(missing.values()), sampled,
                    spec.prune != "none", images)


def duration(seconds: float) -> str:
    """'45 s', '12 min', '3.4 h': as precise as an estimate deserves."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def estimate_text(est: Estimate, device: str) -> str:
    """The estimate in one markdown paragraph, with what it is based on, or why there is none yet."""
    if est.missing:
        names = " or ".join(est.missing)
        return (f"No measured speed for {names} on this machine ({device}) at {est.images:,} training images "
                "per epoch yet: the estimate appears once a run of it has finished here (its first trial, or "
                "a run from the Train page).")
    basis = ", ".join(f"{s.runs} run{'s' if s.runs != 1 else ''} of {s.title}" for s in est.speeds)
    how = "at most " if est.pruning else ""
    mean = " (the space's mean trial, times the trials)" if est.sampled else ""
    return (f"Estimated training time, one trial after another: **{how}{duration(est.seconds)}** for "
            f"{est.trials} trial{'s' if est.trials != 1 else ''}{mean}, from {basis} at {est.images:,} images "
            f"per epoch on this machine ({device}). Workers side by side divide it only as far as the cores "
            "allow" + ("; pruned trials end early." if est.pruning else "."))


# ---------------------------------------------------------------- workers on this machine
def start_workers(runs_dir: Path, sweep: str, url: Optional[str], n: int) -> int:
    """n workers of `sweep` as processes of their own (`python -m netlib sweep work`); how many started."""
    for _ in range(int(n)):
        proc = workers.start(runs_dir, sweep, url)
        _STARTED[(sweep, proc.pid)] = proc
    return int(n)


def workers_here(runs_dir: Path, sweep: str) -> int:
    """The workers of `sweep` on this machine: those registered, or (just started, not registered yet)
    those this server started that still run. Ended ones are reaped here, so none stays a zombie."""
    mine = 0
    for key, proc in list(_STARTED.items()):
        if proc.poll() is not None:
            _STARTED.pop(key)
        elif key[0] == sweep:
            mine += 1
    return max(len(workers.alive(runs_dir, sweep)), mine)


def worker_log_line(runs_dir: Path, sweep: str) -> str:
    """The last line the workers this machine started for `sweep` wrote ('' when none)."""
    return last_line(Path(runs_dir) / workers.FOLDER / f"{sweep}.log")


# ---------------------------------------------------------------- the trials
def run_folder(row, runs_dir: Path) -> Optional[Path]:
    """The trial's run folder if it is in this runs folder on this machine (the pages can open it)."""
    if not (row.here and row.runs_dir):
        return None
    folder = Path(row.runs_dir) / row.run
    return folder if is_contained(runs_dir, folder) and folder.is_dir() else None


def best_checkpoint(row, runs_dir: Path) -> Optional[Path]:
    folder = run_folder(row, runs_dir) if row is not None else None
    return folder / CHECKPOINT if folder is not None and (folder / CHECKPOINT).is_file() else None


def where(row, folder: Optional[Path]) -> str:
    if folder is not None:
        return "here"
    if not row.host:
        return ""  # not taken yet
    return f"on {row.host}" if not row.here else f"here, in another runs folder ({row.runs_dir})"


def trial_table(rows: list, axes: list, runs_dir: Path, link_base: str) -> list[dict]:
    """The table's rows, in trial order: parameters, state, accuracy (the final one, or the last epoch's
    while it trains), the best final accuracy so far, and the run (a link to Train when it is here)."""
    out, best = [], None
    for r in rows:
        if r.state == "COMPLETE" and r.value is not None:
            best = r.value if best is None else max(best, r.value)
        last = max(r.epochs) if r.epochs else None
        folder = run_folder(r, runs_dir)
        note = r.reason + (f" (retry of trial {r.retry_of})" if r.retry_of is not None else "")
        out.append({"Trial": r.number, **{a: r.params.get(a) for a in axes}, "State": r.state.lower(),
                    "Accuracy": r.value if r.value is not None else (r.epochs[last] if last else None),
                    "Epoch": last, "Best so far": best, "Time": r.seconds,
                    "Run": f"{link_base}/train?run={quote(r.run)}" if folder is not None else None,
                    "Where": where(r, folder), "Note": note.strip()})
    return out


def finished(counts: dict) -> tuple[int, int]:
    """(trials finished, trials in all) from trials.progress's counts."""
    done = sum(n for state, n in counts.items() if state not in ("WAITING", "RUNNING"))
    return done, sum(counts.values())
