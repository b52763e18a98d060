"""Read a digit: an image (or canvas array) -> MNIST-style tensor -> the network's probabilities."""

from __future__ import annotations

import torch
from torch import nn

from .preprocess import prepare


@torch.no_grad()
def probabilities(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax over the 10 digits for a batch N x 1 x 28 x 28 (model in eval mode), on the CPU whatever
    device the model is on (the input is moved to it)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.softmax(model(x.to(device)).float(), dim=1).cpu()


UNSURE_BELOW = 0.6  # a top probability under this is reported as unsure (the Draw page's threshold)


def predict_image(model: nn.Module, image) -> dict:
    """{"digit", "probs", "blank", "not_a_digit", "unsure", "hint"}.

    digit is None when the image is blank or not one digit (a scribble, a dot): the network's
    probabilities are still given, but no answer is claimed; hint says why, for a person.
    """
    prepared = prepare(image)
    if prepared.blank:
        return {"digit": None, "probs": [0.0] * 10, "blank": True, "not_a_digit": False, "unsure": False,
                "hint": prepared.hint}
    probs = probabilities(model, prepared.tensor)[0]
    best = int(probs.argmax())
    return {"digit": None if prepared.scribble else best, "probs": [round(float(p), 6) for p in probs],
            "blank": False, "not_a_digit": prepared.scribble, "unsure": float(probs[best]) < UNSURE_BELOW,
            "hint": prepared.hint}
