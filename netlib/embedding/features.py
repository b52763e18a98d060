"""The features a network's final linear layer reads (its penultimate layer) and its answers, for N digits."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..analysis.evaluation import BATCH  # digits per forward pass, measured best on the 2-core CPU
from ..data import normalize



@dataclass(frozen=True)
class Features:
    """N digits as the network sees them just before its last layer, with what it then answered."""

    vectors: np.ndarray  # N x D float32: the inputs of the final linear layer (D: 1,408 Inception, 512 Residual)
    predictions: np.ndarray  # N int64: the digit it read
    confidence: np.ndarray  # N float32: its probability for that digit


def final_layer(model: nn.Module) -> nn.Linear:
    """The network's last nn.Linear: the layer whose inputs the map places (every network here ends in one)."""
    last = None
    for module in model.modules():
        if isinstance(module, nn.Linear):
            last = module
    if last is None:
        raise ValueError(f"{type(model).__name__} has no linear layer to read features from")
    return last


@torch.no_grad()
def features(model: nn.Module, images, batch_size: int = BATCH) -> Features:
    """The final linear layer's inputs and the answers for uint8 N x 28 x 28 images (or normalised floats
    N x 1 x 28 x 28). A forward pre-hook on that layer catches its input, so one pass gives both and the
    network's own forward path is the one used. The model itself is left untouched (pages share it)."""
    net = copy.deepcopy(model).eval().to(memory_format=torch.channels_last)  # faster on CPU (evaluation.py)
    caught: list[torch.Tensor] = []
    handle = final_layer(net).register_forward_pre_hook(lambda _m, args: caught.append(args[0].detach().float()))
    images = torch.as_tensor(images)
    probs = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size]
            x = normalize(x) if x.dtype == torch.uint8 else x.to(torch.float32).reshape(-1, 1, 28, 28)
            probs.append(torch.softmax(net(x.contiguous(memory_format=torch.channels_last)).float(), dim=1))
    finally:
        handle.remove()
    if not probs:
        raise ValueError("no digits to place on the map")
    p = torch.cat(probs)
    conf, pred = p.max(dim=1)
    vectors = torch.cat([c.reshape(len(c), -1) for c in caught]).numpy()
    return Features(vectors, pred.numpy().astype(np.int64), conf.numpy().astype(np.float32))
