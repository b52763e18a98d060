"""Runs and groups of seeds as chart series: a single run as a line, several seeds as a band under their
mean (what Compare draws, and a report of several runs)."""

from __future__ import annotations

from ..runs import groups
from . import style


def series(runs: list) -> list[dict]:
    """One series per run (the gradient-flow charts)."""
    return group_series([groups.Group(r.name, [r]) for r in runs])


def group_series(found: list, axis: str = "epoch") -> list[dict]:
    """One series per group: a single run as a line, several seeds as a band under their mean."""
    out, used = [], {}
    for i, g in enumerate(found):
        model = g.config.get("model", "?")
        # the first group of each network gets its network's colour, later ones the palette
        color = style.model_color(model) if model not in used else style.RUN_PALETTE[(i + 2) % 8]
        used[model] = True
        if len(g.runs) == 1:
            info = g.runs[0]
            out.append({"label": g.label, "color": color,  # the run's own label (groups.Group.label)
                        "batches": info.batches, "epochs": info.epochs})
        else:
            out.append({"label": g.label, "color": color, "band": groups.band(g, axis),
                        "runs": [{"batches": r.batches, "epochs": r.epochs} for r in g.runs]})
    return out
