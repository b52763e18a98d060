"""What the networks are called and how they can be sized: torch-free, so listing runs stays light."""

from __future__ import annotations

DEFAULT_WIDTH = 10  # conv1's channels in the published Inception network: the first block's input
MAX_WIDTH = 256
MAX_BLOCKS = 8  # blocks per stage; deeper stacks of 3x3 convs only slow the lesson down

# Networks whose depth (residual/plain blocks per stage) can be set.
DEPTH_MODELS = ("residual", "plain")
# Networks whose width (conv1's channels; conv2 gives twice as many) can be set.
WIDTH_MODELS = ("inception", "naive")

# The shipped lesion-test checkpoints (checkpoints/lesion/): these networks at this depth.
LESION_MODELS = ("residual", "plain")
LESION_BLOCKS = 3


def lesion_file(model: str) -> str:
    """'residual-3.pt': the file name of a shipped lesion checkpoint."""
    return f"{model}-{LESION_BLOCKS}.pt"


# What the pages and tables call each network (netlib.models.MODELS has the same keys).
TITLES = {"inception": "Inception", "naive": "Naive Inception", "residual": "Residual", "plain": "Plain"}


# One line per network for people (UI, CLI help).
# (Sizes are left out: they depend on width and blocks; the pages show them computed.)
DESCRIPTIONS = {
    "inception": "GoogLeNet-style: two Inception blocks of four parallel branches",
    "naive": "Inception without the 1x1 convs in front of its 5x5 and 3x3 branches: what those 1x1 convs "
             "cost or save",
    "residual": "ResNet-style: two residual blocks with skip connections",
    "plain": "The Residual network without its skip connections (the same convolutions and parameters): "
             "stack it deep to see gradients vanish",
}


def shape_kwargs(model: str, blocks=None, width=None) -> dict:
    """The keyword arguments that size `model` ({} as published; checkpoints record them), checked:
    blocks only for DEPTH_MODELS, width only for WIDTH_MODELS. ValueError with a one-line reason."""
    out = {}
    for option, value, models, low, high, default in (("blocks", blocks, DEPTH_MODELS, 1, MAX_BLOCKS, 1),
                                                      ("width", width, WIDTH_MODELS, 1, MAX_WIDTH, DEFAULT_WIDTH)):
        if value is None:
            continue
        if model not in models:
            raise ValueError(f"--{option} applies to {' and '.join(models)}, not {model}")
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"--{option} must be a whole number from {low} to {high}, got {value!r}")
        if value != default:
            out[option] = value
    return out


def title(name: str) -> str:
    """'Naive Inception' for 'naive'; an unknown name as it is."""
    return TITLES.get(name, name)


def network_title(name: str, model_kwargs: dict | None = None) -> str:
    """'Residual', 'Plain ×3' (blocks per stage), 'Naive Inception w64' (width): the network as built."""
    kw = model_kwargs or {}
    blocks, width = kw.get("blocks", 1), kw.get("width", DEFAULT_WIDTH)
    return title(name) + (f" ×{blocks}" if blocks != 1 else "") + (f" w{width}" if width != DEFAULT_WIDTH else "")


