"""One TrainConfig from a run request: the one resolution of a request on the device that trains it."""

from __future__ import annotations

from ..recipes import resolve_recipe
from ..request import RunRequest
from .loop import TrainConfig, resolve_device


def train_config(request: RunRequest) -> TrainConfig:
    """The run a request asks for, with its device resolved (auto -> cpu or cuda); ValueError with a
    one-line reason for values that cannot train together (a recipe field out of range)."""
    r = request
    device = resolve_device(r.device)
    # On CUDA the default recipe takes its device batch (recipes.DEVICE_BATCH) unless a batch size or
    # rate is given; the config records the values used, so a run says what it trained with.
    images = [n for n in (r.limit, r.synthetic) if n]  # the device batch never exceeds them
    recipe = resolve_recipe(r.recipe, r.model, device=str(device), limit=min(images) if images else None,
                            epochs=r.epochs, batch_size=r.batch_size, lr=r.lr, optimizer=r.optimizer,
                            schedule=r.schedule, augment=r.augment, degrade=r.degrade)
    return TrainConfig(model=r.model, recipe_name=r.recipe, recipe=recipe, model_kwargs=r.shape(),
                       seed=r.seed, device=str(device), threads=r.threads, limit=r.limit,
                       record_grads=r.record_grads)
