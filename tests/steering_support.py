"""Shared by the test_steering*.py modules: a small synthetic dataset, a one-thread TrainConfig, and fit's
events as a list."""

from __future__ import annotations

import pytest

from netlib.data import Dataset, normalize, synthetic_digits
from netlib.recipes import resolve_recipe
from netlib.engine.loop import TrainConfig, fit


@pytest.fixture(scope="module")
def data() -> Dataset:
    (tx, ty), (vx, vy) = synthetic_digits(640, seed=1), synthetic_digits(200, seed=2)
    return Dataset(normalize(tx), ty, normalize(vx), vy)


def config(model="residual", recipe="seed", **overrides) -> TrainConfig:
    kwargs = overrides.pop("model_kwargs", {})
    record = overrides.pop("record_grads", True)
    limit = overrides.pop("limit", None)
    return TrainConfig(model=model, recipe_name=recipe, recipe=resolve_recipe(recipe, model, **overrides),
                       model_kwargs=kwargs, threads=1, record_grads=record, limit=limit)


def events_of(cfg, data, **kw) -> list[dict]:
    events = []
    fit(cfg, data, on_event=events.append, **kw)
    return events
