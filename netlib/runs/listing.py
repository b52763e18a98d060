"""What a list of runs calls each of them (no two alike) and which of them a page picks first."""

from __future__ import annotations

from typing import Sequence

from .groups import Group, distinct, group_key, group_runs, partition
from .labels import run_label


def run_labels(runs: Sequence) -> dict[str, str]:
    """{run name: its label} for listed runs (RunEntry or RunInfo), no two alike: the runs of an experiment
    listed with more than one seed all say their seed, seed 0 too; two that still read alike are told
    apart (distinct)."""
    seeds: dict[str, set] = {}
    keys = []
    for r in runs:
        try:
            keys.append(group_key(r.config))
        except (TypeError, ValueError, AttributeError):  # a hand-edited config.json: labelled alone
            keys.append(r.name)
        seeds.setdefault(keys[-1], set()).add(str(r.config.get("seed", 0)) if isinstance(r.config, dict) else "")
    said = [run_label(r, seed=len(seeds[k]) > 1 or None) for r, k in zip(runs, keys)]
    return dict(zip([r.name for r in runs], distinct(said, [r.name for r in runs])))


def named_groups(runs: Sequence) -> list[Group]:
    """groups.group_runs(runs), a single run's group named as run_labels names it among these runs (the
    seed said beside its other seeds), no two groups alike."""
    found, said = group_runs(runs), run_labels(runs)
    names = [said[g.runs[0].name] if len(g.runs) == 1 else g.label for g in found]
    for g, name in zip(found, distinct(names, [g.runs[0].name for g in found])):
        g.name = name
    return found


def one_by_one(runs: Sequence) -> list[Group]:
    """A group of its own for each run, named as run_labels names it (the gradient charts: one per run)."""
    said = run_labels(runs)
    return [Group(r.name, [r], name=said[r.name]) for r in runs]


def latest_seeds(runs: Sequence, model: str, leave_out: Sequence[str] = ()) -> list:
    """The newest run of `model` (runs newest first; statuses in leave_out skipped) with the newest run
    of each other seed of its experiment: a batch repeated over seeds, as it was started."""
    mine = [r for r in runs if r.model == model and r.status not in leave_out
            and not (getattr(r, "status_json", None) or {}).get("extended")]
    if not mine:
        return []
    try:
        found = partition(mine, lambda r: group_key(r.config), lambda r: r.config.get("seed", 0))
    except (TypeError, ValueError, AttributeError):
        return mine[:1]
    return next(g for g in found if mine[0] in g)
