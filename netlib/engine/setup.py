"""One TrainConfig from `train`'s options: shared by `train`, `submit` and the dashboard's launcher."""

from __future__ import annotations

from ..names import TITLES, shape_kwargs
from ..recipes import DEFAULT_RECIPE, RECIPES, resolve_recipe
from .loop import TrainConfig, resolve_device


def train_config(options: dict) -> TrainConfig:
    """The run a `train` command line asks for, with its device resolved (auto -> cpu or cuda).

    options: the parser's names (model, recipe, epochs, batch_size, lr, optimizer, schedule, augment,
    degrade, blocks, width, seed, device, threads, limit, record_grads); missing ones take the defaults.
    ValueError with a one-line reason for values that cannot train.
    """
    o = options
    model = o.get("model")
    if not model:
        raise ValueError("the following arguments are required: --model (or --extend RUN_DIR)")
    if model not in TITLES:
        raise ValueError(f"unknown network {model!r}; choose one of: {', '.join(TITLES)}")
    if (o.get("recipe") or DEFAULT_RECIPE) not in RECIPES:
        raise ValueError(f"unknown recipe {o.get('recipe')!r}; choose one of: {', '.join(RECIPES)}")
    device = resolve_device(o.get("device") or "auto")
    kwargs = shape_kwargs(model, o.get("blocks"), o.get("width"))
    recipe_name = o.get("recipe") or DEFAULT_RECIPE
    # On CUDA the default recipe takes its device batch (recipes.DEVICE_BATCH) unless a batch size or
    # rate is given; the config records the values used, so a run says what it trained with.
    images = [n for n in (o.get("limit"), o.get("synthetic")) if n]  # the device batch never exceeds them
    recipe = resolve_recipe(recipe_name, model, device=str(device), limit=min(images) if images else None,
                            epochs=o.get("epochs"), batch_size=o.get("batch_size"),
                            lr=o.get("lr"), optimizer=o.get("optimizer"), schedule=o.get("schedule"),
                            augment=o.get("augment"), degrade=o.get("degrade"))
    return TrainConfig(model=model, recipe_name=recipe_name, recipe=recipe, model_kwargs=kwargs,
                       seed=int(o.get("seed") or 0), device=str(device), threads=o.get("threads"),
                       limit=o.get("limit"), record_grads=o.get("record_grads", True))
