"""Tests for augmentation (netlib.engine.augment.random_affine) and recipe validation and adjustment
(netlib.recipes); training itself is in test_train.py."""

from __future__ import annotations

import pytest
import torch

from netlib.data import MEAN, STD
from netlib.recipes import RECIPES, resolve_recipe
from netlib.engine.augment import random_affine

BLACK = (0 - MEAN) / STD  # a black pixel after MNIST normalisation


# ---------------------------------------------------------------- augmentation
def _clean_digits(n: int) -> torch.Tensor:
    """Normalised images with an exact black background and a block of ink in the middle."""
    x = torch.full((n, 1, 28, 28), BLACK)
    x[:, :, 10:18, 11:17] = (1 - MEAN) / STD
    return x


def test_random_affine_keeps_the_shape():
    x = _clean_digits(8)
    out = random_affine(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype


def test_random_affine_background_stays_black():
    x = _clean_digits(16)
    out = random_affine(x, torch.Generator().manual_seed(0))
    # Ink sits in rows 10-17, cols 11-16; 12 degrees, 2 px and 10% cannot move it into a 4-px border.
    border = torch.ones(28, 28, dtype=torch.bool)
    border[4:24, 4:24] = False
    torch.testing.assert_close(out[:, 0][:, border], torch.full_like(out[:, 0][:, border], BLACK),
                               atol=1e-5, rtol=0)
    assert out.min() >= BLACK - 1e-5  # nothing darker than black (a zero-padding bug shows as grey or dark)


def test_random_affine_moves_the_ink():
    x = _clean_digits(16)
    out = random_affine(x, torch.Generator().manual_seed(0))
    assert (out - x).abs().amax(dim=(1, 2, 3)).min() > 0.1  # every sample was transformed
    ink_in, ink_out = (x - BLACK).sum(), (out - BLACK).sum()
    assert abs(ink_out / ink_in - 1) < 0.3  # light: about the same amount of ink


def test_random_affine_is_reproducible_with_a_seeded_generator():
    x = _clean_digits(4)
    a = random_affine(x, torch.Generator().manual_seed(3))
    b = random_affine(x, torch.Generator().manual_seed(3))
    c = random_affine(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


# ---------------------------------------------------------------- recipes
@pytest.mark.parametrize("overrides", [
    {"lr": 0}, {"lr": -1}, {"lr": float("nan")}, {"epochs": 0}, {"batch_size": 0},
    {"optimizer": "rmsprop"}, {"schedule": "cosine"}, {"momentum": 1.0}])
def test_resolve_recipe_rejects_values_that_cannot_train(overrides):
    with pytest.raises(ValueError):
        resolve_recipe("fast", **overrides)


def test_resolve_recipe_rejects_an_unknown_recipe():
    with pytest.raises(KeyError, match="nope"):
        resolve_recipe("nope")


def test_resolve_recipe_keeps_values_for_none_overrides():
    r = resolve_recipe("seed", lr=None, epochs=2)
    assert (r.lr, r.epochs) == (RECIPES["seed"].lr, 2)


def test_seed_recipe_is_the_published_one():
    r = RECIPES["seed"]
    assert (r.optimizer, r.lr, r.momentum, r.batch_size, r.epochs, r.schedule, r.augment) == (
        "sgd", 0.01, 0.5, 64, 10, "constant", False)


def test_recipe_adjustments_apply_per_network_and_explicit_values_win():
    from netlib.recipes import MODEL_ADJUSTMENTS, recipe_for

    for recipe, per_model in MODEL_ADJUSTMENTS.items():
        for model, changes in per_model.items():
            adjusted = recipe_for(recipe, model)
            for field_name, value in changes.items():
                assert getattr(adjusted, field_name) == value
            assert resolve_recipe(recipe, model, lr=0.0123).lr == 0.0123
    assert recipe_for("seed", "inception") == RECIPES["seed"]


def test_run_label_does_not_call_a_networks_own_recipe_adjustment_a_change():
    from netlib.recipes import MODEL_ADJUSTMENTS, recipe_for
    from netlib.runs.labels import recipe_label

    for recipe, per_model in MODEL_ADJUSTMENTS.items():
        for model in per_model:
            config = {"recipe_name": recipe, "model": model, "recipe": recipe_for(recipe, model).to_dict()}
            assert recipe_label(config) == recipe
            changed = resolve_recipe(recipe, model, epochs=3).to_dict()
            assert recipe_label({**config, "recipe": changed}) == f"{recipe}, 3 epochs"
