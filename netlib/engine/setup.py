"""One TrainConfig from a run request: the one resolution of a request on the device that trains it."""

from __future__ import annotations

import dataclasses

from ..recipes import resolve_recipe
from ..request import RunRequest
from .loop import TrainConfig, resolve_device
from .finetune import plan


def train_config(request: RunRequest) -> TrainConfig:
    """The run a request asks for, with its device resolved (auto -> cpu or cuda); ValueError with a
    one-line reason for values that cannot train together (a recipe field out of range)."""
    r = request
    device = resolve_device(r.device)
    # On CUDA the default recipe takes its device batch (recipes.DEVICE_BATCH) unless a batch size or
    # rate is given; the config records the values used, so a run says what it trained with.
    images = [n for n in (r.limit, r.synthetic) if n]  # the device batch never exceeds them
    finetune, given = plan(r)  # (None, the request's values) unless it fine-tunes
    recipe = resolve_recipe(r.recipe, r.model, device=str(device), limit=min(images) if images else None,
                            optimizer=r.optimizer, augment=r.augment, degrade=r.degrade, **given)
    if finetune:
        recipe = dataclasses.replace(recipe, ema=0.0)  # an average would lag far behind a short run
    return TrainConfig(model=r.model, recipe_name=r.recipe, recipe=recipe, model_kwargs=r.shape(),
                       seed=r.seed, device=str(device), threads=r.threads, limit=r.limit,
                       record_grads=r.record_grads, finetune=finetune)
