"""Read a digit: an image (or canvas array) -> MNIST-style tensor -> the network's probabilities."""

from __future__ import annotations

import torch
from torch import nn

from .preprocess import prepare


@torch.no_grad()
def probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax over the 10 digits for a batch N x 1 x 28 x 28 (model in eval mode)."""
    model.eval()
    return torch.softmax(model(x).float(), dim=1)


def predict_image(model: nn.Module, image) -> dict:
    """{"digit": int or None when blank, "probs": 10 floats, "blank": bool}."""
    prepared = prepare(image)
    if prepared.blank:
        return {"digit": None, "probs": [0.0] * 10, "blank": True}
    probs = probabilities(model, prepared.tensor)[0]
    return {"digit": int(probs.argmax()), "probs": [round(float(p), 6) for p in probs], "blank": False}
