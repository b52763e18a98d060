"""netlib, the MNIST network lab's engine: networks, training, checkpoints and digit reading as a library.

    from netlib import build_model, fit, TrainConfig, load_checkpoint, prepare, predict

The names load on first use, so `import netlib` stays light (the command line starts fast).
Where each layer lives: docs/design.md, "The layers of the code".
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
_PUBLIC = {
    "build_model": "netlib.models",
    "MODELS": "netlib.models",
    "fit": "netlib.engine.loop",
    "TrainConfig": "netlib.engine.loop",
    "Recipe": "netlib.recipes",
    "resolve_recipe": "netlib.recipes",
    "load_dataset": "netlib.data",
    "load_checkpoint": "netlib.checkpoint",
    "save_checkpoint": "netlib.checkpoint",
    "prepare": "netlib.analysis.preprocess",
    "predict": "netlib.analysis.predict:predict_image",  # image -> {"digit", "probs", ...}
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'netlib' has no attribute {name!r}")
    module, _, attr = _PUBLIC[name].partition(":")
    return getattr(importlib.import_module(module), attr or name)


def __dir__() -> list[str]:
    return __all__
