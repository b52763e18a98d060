"""A sweep's definition: the train options it varies (lists, or a log range for the learning rate), the
sampler, pruning and trial count; checked as a whole before anything is created (torch-free)."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Optional

from ..names import TITLES
from ..recipes import DEFAULT_RECIPE, OPTIMIZERS, RECIPES
from ..request import DEVICES, MNIST_TRAIN, OPTIONS, RunRequest  # noqa: F401  (MNIST_TRAIN: the sweep pages')

SAMPLERS = ("grid", "random", "tpe")
PRUNERS = ("none", "median", "halving")
MAX_TRIALS = 10_000
DEFAULT_TRIALS = 10  # random and TPE without --trials; a grid runs each point once
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

# The options a sweep can vary, in the order its tables and charts show them.
AXES = ("model", "width", "blocks", "recipe", "lr", "batch_size", "epochs", "optimizer", "augment", "seed")


class SpaceError(ValueError):
    """A sweep that cannot be run as asked: one line saying what is wrong (CLI exit 2)."""


@dataclass
class SweepSpec:
    """What a sweep tries. Each list is the values of one option; a list of one is a constant."""

    name: str
    model: list = field(default_factory=list)
    width: list = field(default_factory=list)
    blocks: list = field(default_factory=list)
    recipe: list = field(default_factory=lambda: [DEFAULT_RECIPE])
    lr: list = field(default_factory=list)  # empty with lr_range empty: each recipe's own rate
    lr_range: list = field(default_factory=list)  # [low, high]: sampled on a log scale (random, tpe)
    batch_size: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    optimizer: list = field(default_factory=list)
    augment: list = field(default_factory=list)  # "on" / "off"
    seed: list = field(default_factory=lambda: [0])
    limit: Optional[int] = None
    synthetic: Optional[int] = None
    threads: Optional[int] = None
    device: str = "auto"  # each worker's own: a GPU machine among them trains on its GPU
    trials: Optional[int] = None
    sampler: str = "grid"
    prune: str = "none"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SweepSpec":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def axes(self) -> dict:
        """The options that vary: {name: list of values} (lr: its range as [low, high] when sampled)."""
        out = {a: list(getattr(self, a)) for a in AXES if len(getattr(self, a)) > 1}
        if self.lr_range:
            out["lr"] = list(self.lr_range)
        return out

    def constants(self) -> dict:
        """The options every trial shares: {name: value}."""
        return {a: getattr(self, a)[0] for a in AXES if len(getattr(self, a)) == 1 and not (a == "lr" and self.lr_range)}

    def grid(self) -> list[dict]:
        """Every combination of the varying options (a grid sweep's trials, in order)."""
        axes = self.axes()
        return [dict(zip(axes, values)) for values in itertools.product(*axes.values())]

    def total_trials(self) -> int:
        if self.sampler == "grid":
            return min(self.trials or len(self.grid()), len(self.grid()))
        return self.trials or DEFAULT_TRIALS

    def request(self, params: dict) -> RunRequest:
        """One trial's run request: the constants with the trial's parameters over them."""
        values = {**self.constants(), **params}
        given = {k: values[k] for k in ("width", "blocks", "lr", "batch_size", "epochs", "optimizer", "recipe")
                 if values.get(k) is not None}
        if values.get("augment") is not None:
            given["augment"] = values["augment"] == "on"
        given.update({k: getattr(self, k) for k in ("limit", "synthetic", "threads") if getattr(self, k)})
        return RunRequest(model=values["model"], seed=int(values.get("seed", 0)), device=self.device, **given)


def check_name(name: str) -> str:
    """A sweep name: letters, digits, '_', '.', '-' (1-64, no '..', no '/'); SpaceError otherwise."""
    if not isinstance(name, str) or not NAME.fullmatch(name) or ".." in name:
        raise SpaceError(f"sweep name {str(name)[:80]!r} refused: use 1-64 letters, digits, '_', '.' or '-' "
                         "(no '/', no '..')")
    return name


def check(spec: SweepSpec) -> SweepSpec:
    """The spec, every value checked; SpaceError (one line) for the first thing that cannot run."""
    check_name(spec.name)
    if spec.sampler not in SAMPLERS:
        raise SpaceError(f"unknown sampler {spec.sampler!r}; choose one of: {', '.join(SAMPLERS)}")
    if spec.prune not in PRUNERS:
        raise SpaceError(f"unknown pruning {spec.prune!r}; choose one of: {', '.join(PRUNERS)}")
    _check_lists(spec)
    _check_shapes(spec)
    _check_lr(spec)
    _check_sizes(spec)
    if spec.trials is not None and not 1 <= spec.trials <= MAX_TRIALS:
        raise SpaceError(f"--trials must be from 1 to {MAX_TRIALS:,}, got {spec.trials:,}")
    if spec.sampler == "grid":
        size = math.prod(len(v) for v in spec.axes().values())
        if size > MAX_TRIALS:
            raise SpaceError(f"the grid has {size:,} points, more than {MAX_TRIALS:,}: list fewer values")
        if spec.trials and spec.trials > size:
            raise SpaceError(f"--trials {spec.trials} is more than the grid's {size} points (a grid runs each once)")
    return spec


def _check_lists(spec: SweepSpec) -> None:
    for axis in AXES:
        values = getattr(spec, axis)
        if not isinstance(values, list):
            raise SpaceError(f"--{axis.replace('_', '-')}: expected a list of values")
        if len(set(map(str, values))) != len(values):
            raise SpaceError(f"--{axis.replace('_', '-')} lists a value twice: {values}")
    if not spec.model:
        raise SpaceError("--model is empty: name at least one network")
    for value, allowed, what in ((spec.model, TITLES, "network"), (spec.recipe, RECIPES, "recipe"),
                                 (spec.optimizer, OPTIMIZERS, "optimizer"), (spec.augment, ("on", "off"), "augment")):
        bad = [v for v in value if v not in allowed]
        if bad:
            raise SpaceError(f"unknown {what} {bad[0]!r}; choose from: {', '.join(allowed)}")
    if not spec.recipe or not spec.seed:
        raise SpaceError("--recipe and --seeds need at least one value")
    if spec.device not in DEVICES:
        raise SpaceError(f"device must be one of {', '.join(DEVICES)}, not {spec.device!r}")


def _check_shapes(spec: SweepSpec) -> None:
    for axis, models, high in ((a, OPTIONS[a].models, OPTIONS[a].high) for a in ("width", "blocks")):
        values = getattr(spec, axis)
        if values and any(m not in models for m in spec.model):
            raise SpaceError(f"--{axis} applies to {' and '.join(models)} only, and the sweep trains "
                             f"{', '.join(spec.model)}")
        _whole(axis, values, 1, high)


def _check_lr(spec: SweepSpec) -> None:
    if spec.lr and spec.lr_range:
        raise SpaceError("give --lr (a list) or --lr-range (low:high), not both")
    for v in spec.lr + spec.lr_range:
        lr = OPTIONS["lr"]
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lr.low < v <= lr.high or v != v:
            raise SpaceError(f"learning rate {v!r} refused: it must be a number greater than {lr.low:g} "
                             f"and at most {lr.high:g}")
    if spec.lr_range:
        if len(spec.lr_range) != 2 or not spec.lr_range[0] < spec.lr_range[1]:
            raise SpaceError(f"--lr-range {spec.lr_range[0]:g}:{spec.lr_range[-1]:g} is upside down or empty: "
                             "write low:high with low < high")
        if spec.sampler == "grid":
            raise SpaceError("a grid needs a list of learning rates (--lr 0.001,0.003), not a range: "
                             "use --sampler random or tpe for --lr-range")


def _check_sizes(spec: SweepSpec) -> None:
    """Each value in the run request's own range (a seed: in the range a page can show exactly)."""
    _whole("epochs", spec.epochs, OPTIONS["epochs"].low, OPTIONS["epochs"].high)
    _whole("seeds", spec.seed, *OPTIONS["seed"].page)
    _whole("batch-size", spec.batch_size, OPTIONS["batch_size"].low, OPTIONS["batch_size"].high)
    for key in ("limit", "synthetic", "threads"):
        value = getattr(spec, key)
        if value is not None:
            _whole(key, [value], OPTIONS[key].low, OPTIONS[key].high)
    images = min(n for n in (spec.limit, spec.synthetic, MNIST_TRAIN) if n)
    if spec.batch_size and max(spec.batch_size) > images:
        raise SpaceError(f"batch size {max(spec.batch_size)} is larger than the training set ({images:,} images)")


def _whole(axis: str, values: list, low: int, high: int) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise SpaceError(f"--{axis.replace('_', '-')} {v!r} refused: a whole number from {low} to {high:,}")
