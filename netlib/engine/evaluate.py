"""A model's mean loss and accuracy on a whole set of digits: each epoch's test, a fine-tuning run's held-out digits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EVAL_BATCH = 2000


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, channels_last: bool):
    """(mean loss per sample, accuracy) on the whole set; the model is left in the mode it came in."""
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, len(x), EVAL_BATCH):
        xb = x[i:i + EVAL_BATCH]
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out = model(xb)
        loss_sum += F.cross_entropy(out, y[i:i + EVAL_BATCH], reduction="sum")
        correct += (out.argmax(1) == y[i:i + EVAL_BATCH]).sum()
    model.train(was_training)
    return loss_sum.item() / len(x), correct.item() / len(x)
