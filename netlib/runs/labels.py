"""What runs are called: recipe and network labels, the time in a run's name, a recipe in words."""

from __future__ import annotations

import re

from ..names import network_title
from ..recipes import RECIPES, Recipe, recipe_for


def recipe_label(config: dict, most: int = 2) -> str:
    """'seed', 'fast', 'fast, 3 epochs' (up to `most` fields changed) or 'custom' (more changed)."""
    name = config.get("recipe_name", "?")
    if name not in RECIPES:
        return name
    # Compare with the recipe as it applies to this network, so its own adjustments are no "change".
    used, base = config.get("recipe", {}), recipe_for(name, config.get("model")).to_dict()
    changed = {k: v for k, v in used.items() if k in base and base[k] != v} if isinstance(used, dict) else {}
    if not changed:
        return name
    if len(changed) > most:
        return "custom"
    words = {"epochs": lambda v: f"{v} epoch{'s' if v != 1 else ''}", "batch_size": lambda v: f"batch {v}",
             "lr": lambda v: f"lr {v:g}", "augment": lambda v: "augmented" if v else "no augmentation"}
    return ", ".join([name] + [words.get(k, lambda v, k=k: f"{k} {v}")(v) for k, v in changed.items()])


def run_time(name: str) -> str:
    """'05:50:56' from a run named like 20261128-055056-model-recipe-NNN; else the name itself."""
    m = re.match(r"(\d{8})-(\d{2})(\d{2})(\d{2})-", name)
    return f"{m.group(2)}:{m.group(3)}:{m.group(4)}" if m else name


def network_label(config: dict) -> str:
    """'Residual', 'Plain ×3' (blocks per stage) or 'Naive Inception w64' (width): the network as built."""
    kwargs = config.get("model_kwargs")
    return network_title(str(config.get("model", "?")), kwargs if isinstance(kwargs, dict) else {})


def short_label(name: str, config: dict) -> str:
    """'Inception · fast, 3 epochs · 05:50:56': what a legend or a table row calls a run."""
    return f"{network_label(config)} · {recipe_label(config)} · {run_time(name)}"


def describe_recipe(r: Recipe) -> str:
    parts = [f"{r.optimizer.upper() if r.optimizer == 'sgd' else r.optimizer.capitalize()} "
             f"lr {r.lr:g}" + (f", momentum {r.momentum:g}" if r.optimizer == "sgd" else ""),
             f"batch {r.batch_size}", f"{r.epochs} epoch{'s' if r.epochs != 1 else ''}",
             f"{r.schedule} schedule", "augmentation" if r.augment else "no augmentation"]
    return " · ".join(parts)
