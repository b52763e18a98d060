"""Runs differing only in seed form a group: per-epoch mean and spread; do two groups differ beyond seed noise?"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..recipes import recorded_values
from ..request import trained_on
from .files import UNREADABLE
from .labels import network_label, recipe_label, run_label, run_time
from .reader import RunInfo
from .summary import run_stats

# What makes two runs the same experiment. Left out: the seed (what a group varies), the run's name and
# argv, and threads and channels_last, which change only the order of floating-point sums (the same
# experiment, a few last bits apart). record_grads only records, it changes no number of the training.
KEY_FIELDS = ("model", "model_kwargs", "recipe_name", "recipe", "limit", "device")


def synthetic_digits(config: dict) -> Optional[int]:
    """N when the run trained on N synthetic digits (its request's, or an older run's argv), else None."""
    return trained_on(config)[1]


def group_key(config: dict) -> str:
    """The same string for two configs that differ in nothing but the seed (and threads, argv, name)."""
    key = {f: config.get(f) for f in KEY_FIELDS}
    key["recipe"] = recorded_values(key["recipe"])  # a run from before a recipe field: its default
    key["synthetic"] = synthetic_digits(config)
    return json.dumps(key, sort_keys=True, default=str)


@dataclass
class EpochStats:
    """Test accuracy after one epoch over the runs of a group that reached it (fractions, not %)."""

    epoch: int
    n: int
    mean: float
    std: Optional[float]  # sample standard deviation (n - 1); None for one run
    min: float
    max: float

    @property
    def lower(self) -> float:
        """The band's lower edge: min for 2 runs, mean - std for 3 or more, the value for one."""
        return self.min if self.n <= 2 else self.mean - self.std

    @property
    def upper(self) -> float:
        return self.max if self.n <= 2 else self.mean + self.std


def stats(epoch: int, accs: Sequence[float]) -> EpochStats:
    return EpochStats(epoch, len(accs), statistics.fmean(accs),
                      statistics.stdev(accs) if len(accs) > 1 else None, min(accs), max(accs))


def group_label(network: str, recipe: str, n: int) -> str:
    """A group of seeds' name, on Compare and the Runs page: 'Residual · fast · 3 seeds'."""
    return f"{network} · {recipe} · {n} seed{'s' if n != 1 else ''}"


@dataclass
class Group:
    """Runs of one experiment over several seeds (one run per seed; a repeated seed starts another group)."""

    key: str
    runs: list = field(default_factory=list)  # RunInfo, in the order of their seeds
    name: str = ""  # set by group_runs when two groups would read alike: the label, told apart


    @property
    def seeds(self) -> list[int]:
        return [r.config.get("seed", 0) for r in self.runs]

    @property
    def config(self) -> dict:
        return self.runs[0].config if self.runs else {}

    @property
    def label(self) -> str:
        """'Residual · fast · 3 seeds'; a single run's own label (labels.run_label)."""
        if self.name:
            return self.name
        if len(self.runs) == 1:
            return run_label(self.runs[0])
        return group_label(network_label(self.config), recipe_label(self.config), len(self.runs))

    @property
    def curve(self) -> list[EpochStats]:
        """Per epoch, the test accuracy over the runs that reached that epoch."""
        by_epoch: dict[int, list[float]] = {}
        for run in self.runs:
            for e in run.epochs:
                by_epoch.setdefault(e["epoch"], []).append(e["test_acc"])
        return [stats(k, v) for k, v in sorted(by_epoch.items())]

    @property
    def finished(self) -> list:
        """The runs that ended 'done': only their last accuracies count as results."""
        return [r for r in self.runs if r.status == "done" and r.epochs]

    @property
    def final(self) -> Optional[EpochStats]:
        """The final test accuracy over the finished runs (epoch: the fewest epochs among them), or None."""
        done = self.finished
        if not done:
            return None
        return stats(min(len(r.epochs) for r in done), [r.epochs[-1]["test_acc"] for r in done])

    @property
    def spread(self) -> Optional[float]:
        """Half the band's width at the end: (max - min) / 2 for 2 seeds, the std for 3 or more."""
        f = self.final
        if f is None or f.n < 2:
            return None
        return (f.max - f.min) / 2 if f.n == 2 else f.std

    def final_words(self) -> str:
        """'99.12% ± 0.05 (sd of 3 seeds)', '99.10% (99.05 to 99.15, 2 seeds)', '99.10%' or '—'."""
        return accuracy_words(self.final, len(self.runs))


def accuracy_words(f: Optional[EpochStats], seeds: int) -> str:
    """Final accuracies over a group's finished seeds in words: '99.12% ± 0.05 (sd of 3 seeds)',
    '99.10% (99.05 to 99.15, 2 seeds)', '99.10% (1 of 3 seeds finished)', '99.10%' or '—'."""
    if f is None:
        return "—"
    if f.n == 1:  # one seed's accuracy, and how many of the group's it is
        return f"{100 * f.mean:.2f}%" + (f" (1 of {seeds} seeds finished)" if seeds > 1 else "")
    if f.n == 2:
        return f"{100 * f.mean:.2f}% ({100 * f.min:.2f} to {100 * f.max:.2f}, 2 seeds)"
    return f"{100 * f.mean:.2f}% ± {100 * f.std:.2f} (sd of {f.n} seeds)"


def partition(items: Sequence, key_of, seed_of) -> list[list]:
    """items grouped by key_of, in the order their first items come; a seed already in a group starts
    another group (the same seed twice is a rerun, not seed spread)."""
    groups: list[list] = []
    by_key: dict[str, list[list]] = {}
    for item in items:
        key, seed = key_of(item), seed_of(item)
        group = next((g for g in by_key.get(key, []) if seed not in {seed_of(i) for i in g}), None)
        if group is None:
            group = []
            groups.append(group)
            by_key.setdefault(key, []).append(group)
        group.append(item)
    return groups


def group_stats(group: Group) -> dict:
    """summary.run_stats for a group: a single run's as they are; for several seeds the means of their
    speeds, the mean curve's best, the final mean (final_words: ± its spread) and time to 99% (the mean,
    when every finished seed reached it)."""
    rows = [run_stats(r) for r in group.runs]
    if len(rows) == 1:
        return {**rows[0], "final_words": None, "seeds": 1}
    final, curve = group.final, group.curve
    live = [r for r in group.runs if r.live]
    hits = [s["time_to_99"] for s, r in zip(rows, group.runs) if r in group.finished and s["time_to_99"]]

    def mean_of(key: str) -> Optional[float]:
        vals = [s[key] for s in rows if s[key] is not None]
        return statistics.fmean(vals) if vals else None

    return {**rows[0], "run": f"{len(rows)} seeds", "label": group.label, "seeds": len(rows),
            "status": live[0].status if live else "done" if group.finished else rows[0]["status"],
            "epochs": final.epoch if final else max(s["epochs"] for s in rows),
            "s_per_epoch": mean_of("s_per_epoch"), "samples_per_s": mean_of("samples_per_s"),
            "best_test_acc": max((c.mean for c in curve), default=None),
            "final_test_acc": final.mean if final else None, "final_words": group.final_words(),
            "time_to_99": statistics.fmean(hits) if hits and len(hits) == len(group.finished) else None}


def band_words(n: int) -> str:
    """What a group's band is, by the number of runs at a point."""
    return "min to max of 2 seeds" if n == 2 else f"mean ± sd of {n} seeds" if n > 2 else "one seed"


def band(group: Group, axis: str = "epoch") -> dict:
    """A group's band for a chart, in percent: x (the epoch, or for axis 'time' the mean seconds at which
    the runs ended it), mean, lower, upper, n per point and its words."""
    elapsed: dict[int, list[float]] = {}
    for run in group.runs:
        for e in run.epochs:
            elapsed.setdefault(e["epoch"], []).append(e.get("elapsed", 0.0))
    curve = group.curve
    return {"x": [c.epoch if axis == "epoch" else statistics.fmean(elapsed[c.epoch]) for c in curve],
            "mean": [100 * c.mean for c in curve], "lower": [100 * c.lower for c in curve],
            "upper": [100 * c.upper for c in curve], "n": [c.n for c in curve],
            "what": band_words(len(group.runs))}


def extended(run: RunInfo) -> bool:
    """A run trained further by +1 epoch at a rate a person chose: no longer its recipe's experiment."""
    return any(e.get("event") == "start" and e.get("first_epoch", 1) > 1 for e in run.events)


def group_runs(infos: Sequence[RunInfo]) -> list[Group]:
    """The runs grouped by group_key, in the order their first runs come in `infos`. A run extended by
    +1 epoch, or an unreadable one, is a group of its own; a seed already in a group starts another."""
    def key_of(run: RunInfo) -> str:
        return f"{run.name} alone" if run.status == UNREADABLE or extended(run) else group_key(run.config)

    groups = [Group(key_of(runs[0]), runs) for runs in
              partition(infos, key_of, lambda r: r.config.get("seed", 0))]
    for g in groups:
        g.runs.sort(key=lambda r: r.config.get("seed", 0))
    for g, name in zip(groups, distinct([g.label for g in groups], [g.runs[0].name for g in groups])):
        g.name = name  # two batches of one experiment: told apart by their first runs' start times
    return groups


def distinct(labels: list[str], names: list[str]) -> list[str]:
    """labels, each told apart from the others: one that two share gets its run's start time (from the run
    folder's name), then the folder's name itself."""
    out = list(labels)
    for tell in (run_time, str):
        counts = Counter(out)
        out = [f"{lab} · {tell(n)}" if counts[lab] > 1 and not lab.endswith(tell(n)) else lab
               for lab, n in zip(out, names)]
    return out


@dataclass
class Verdict:
    """Two groups' final accuracies compared: kind is 'noise', 'ahead', 'few' (too few seeds) or
    'waiting' (a side has no finished run)."""

    kind: str
    sentence: str
    difference: Optional[float] = None  # a's mean minus b's, in accuracy (fraction)
    noise: Optional[float] = None  # the two spreads added: where the bands would stop overlapping


def compare_groups(a: Group, b: Group) -> Verdict:
    """Rule: the difference of the final means against the sum of the two groups' spreads (half-widths
    of their bands: half the min-max range for 2 seeds, the sample std for 3 or more). A difference no
    larger than that, the bands overlap: 'within seed noise'; larger: the better one 'is ahead'."""
    fa, fb = a.final, b.final
    if fa is None or fb is None:
        waiting = a if fa is None else b
        return Verdict("waiting", f"{waiting.label}: no run has finished yet, so there is nothing to compare.")
    if fa.n < 2 or fb.n < 2:
        if fa.n < 2 and fb.n < 2:
            words = ("One seed each cannot tell a difference from seed noise: repeat both with several "
                     "seeds (Repeat with N seeds) to see how far runs that differ only in seed land apart.")
        else:
            single = a if fa.n < 2 else b
            words = (f"{single.label} has one finished seed: one run cannot tell a difference from seed "
                     "noise; repeat it with several seeds.")
        return Verdict("few", words, fa.mean - fb.mean)
    diff, noise = fa.mean - fb.mean, a.spread + b.spread
    gap = f"{100 * abs(diff):.2f} points"
    counts = f"{fa.n} seeds each" if fa.n == fb.n else f"{fa.n} and {fb.n} seeds"
    # the chart draws a band only where a group has more than one epoch: one epoch is one dot each
    bands = len(a.curve) > 1 and len(b.curve) > 1
    spreads = f"the two groups' spreads ({counts}) add up to {100 * noise:.2f} points"
    if abs(diff) <= noise:
        return Verdict("noise", f"{a.label} and {b.label}: final test accuracies {gap} apart, within seed "
                                f"noise: {spreads}" + (", and their bands overlap" if bands else "")
                                + ". These runs cannot say which is better.", diff, noise)
    ahead, behind = (a, b) if diff > 0 else (b, a)
    return Verdict("ahead", f"{ahead.label} is ahead of {behind.label} by {gap}, more than {spreads}"
                            + (": their bands do not overlap." if bands else "."), diff, noise)
