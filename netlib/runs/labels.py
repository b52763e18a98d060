"""What runs are called: recipe and network labels, the time in a run's name, a recipe in words, and a
run's own name (its label saved on the Runs page, else its network, recipe, seed and start time)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from ..names import network_title
from ..recipes import RECIPES, Recipe, recipe_for
from .meta import read_meta


def recipe_label(config: dict, most: int = 2, reached: Optional[int] = None) -> str:
    """'seed', 'fast', 'fast, 3 epochs' (up to `most` fields changed) or 'custom' (more changed).
    reached: the epochs a run has trained; past its recipe's (+1 epoch) they are said as they are:
    'fast, 3 epochs (2 + 1 more)'."""
    name = config.get("recipe_name", "?")
    if name not in RECIPES:
        return name
    # Compare with the recipe as it applies to this network, so its own adjustments are no "change".
    used, base = config.get("recipe", {}), recipe_for(name, config.get("model")).to_dict()
    changed = {k: v for k, v in used.items() if k in base and base[k] != v} if isinstance(used, dict) else {}
    planned = changed.get("epochs", base["epochs"])
    more = reached - planned if _whole(reached) and _whole(planned) and reached > planned else 0
    if more:
        changed["epochs"] = reached
    if not changed:
        return name
    if len(changed) > most:
        return "custom" + (f", {reached} epochs ({planned} + {more} more)" if more else "")
    words = {"epochs": lambda v: f"{v} epoch{'s' if v != 1 else ''}" + (f" ({planned} + {more} more)" if more else ""),
             "batch_size": lambda v: f"batch {v}", "lr": lambda v: f"lr {v:g}",
             "augment": lambda v: "augmented" if v else "no augmentation"}
    return ", ".join([name] + [words.get(k, lambda v, k=k: f"{k} {v}")(v) for k, v in changed.items()])


def tuned_words(config: dict) -> str:
    """'fine-tuned on SET (VARIANT)' for a run that fine-tunes a checkpoint on a handwriting set, else ''."""
    from ..handwriting.variants import NAMES, variant_of  # torch-free: listings stay light

    request = config.get("request")
    variant = variant_of(request)
    return f"fine-tuned on {request['handwriting']} ({NAMES[variant]})" if variant else ""


def recipe_phrase(config: dict, reached: Optional[int] = None) -> str:
    """A run's recipe in a sentence: 'the fast recipe', 'the fast recipe, 2 epochs' (changed: it is
    not the named recipe), 'a custom recipe' (more changed), or what a fine-tuning run fine-tunes."""
    tuned = tuned_words(config)
    if tuned:
        return f"{tuned} from {Path(str(config['request']['start_from'])).name}"
    words = recipe_label(config, reached=reached)
    name = config.get("recipe_name", "?")
    if words.startswith("custom"):
        return "a custom recipe" + words[len("custom"):]
    return f"the {name} recipe{words[len(name):]}" if words.startswith(str(name)) else f"recipe {words}"


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def run_time(name: str) -> str:
    """'05:50:56' from a run named like 20261128-055056-model-recipe-NNN; else the name itself."""
    m = re.match(r"(\d{8})-(\d{2})(\d{2})(\d{2})-", name)
    return f"{m.group(2)}:{m.group(3)}:{m.group(4)}" if m else name


def network_label(config: dict) -> str:
    """'Residual', 'Plain ×3' (blocks per stage) or 'Naive Inception w64' (width): the network as built."""
    kwargs = config.get("model_kwargs")
    return network_title(str(config.get("model", "?")), kwargs if isinstance(kwargs, dict) else {})


def seed_words(config: dict) -> str:
    """'seed 3' (any seed given as a whole number), '' when there is none."""
    seed = config.get("seed", 0)
    return f"seed {seed}" if _whole(seed) else ""


def short_label(name: str, config: dict, label: str = "", seed: Optional[bool] = None) -> str:
    """What a legend, a picker or a table row calls a run: the label a person saved for it on the Runs
    page, else 'Inception · fast, 3 epochs · seed 1 · 05:50:56' (a fine-tuning run: 'Residual · fine-tuned
    on mine (whole network) · 05:50:56'). seed: whether to say the seed (None: when it is not 0, the
    default; runs.groups.run_labels says seed 0 too beside the other seeds)."""
    if label:
        return label
    said = seed_words(config) if (seed if seed is not None else config.get("seed", 0) != 0) else ""
    what = tuned_words(config) or recipe_label(config)
    return " · ".join(p for p in (network_label(config), what, said, run_time(name)) if p)


def person_label(run_dir: Path) -> str:
    """The label saved for a run on the Runs page (meta.json), '' when none (or it cannot be read)."""
    meta = read_meta(run_dir)
    return "" if meta.problem else meta.label


def run_label(run, seed: Optional[bool] = None) -> str:
    """short_label of a listed run (a RunEntry or RunInfo: its folder, name and config)."""
    return short_label(run.name, run.config, person_label(run.dir), seed)


def describe_recipe(r: Recipe) -> str:
    parts = [f"{r.optimizer.upper() if r.optimizer == 'sgd' else r.optimizer.capitalize()} "
             f"lr {r.lr:g}" + (f", momentum {r.momentum:g}" if r.optimizer == "sgd" else ""),
             f"batch {r.batch_size}", f"{r.epochs} epoch{'s' if r.epochs != 1 else ''}",
             f"{r.schedule} schedule", "augmentation" if r.augment else "no augmentation"]
    return " · ".join(parts)
