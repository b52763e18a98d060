"""The run request: the one definition of what a run is asked to be (every option's type, range, default,
help and the networks it applies to). The command line, the queue, sweeps, links and the Train page derive
their options from it; config.json stores it. Torch-free, so light commands and readers stay light."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Optional

from .names import DESCRIPTIONS, DEPTH_MODELS, MAX_BLOCKS, MAX_WIDTH, TITLES, WIDTH_MODELS, shape_kwargs
from .recipes import DEFAULT_RECIPE, DEVICE_BATCH, OPTIMIZERS, RECIPES, SCHEDULES, parse_degrade

DEVICES = ("auto", "cpu", "cuda")
TUNES = ("last", "all")  # fine-tuning: the final linear layer only, or every weight
MAX_REPLAY = 0.9  # fine-tuning: at least a tenth of each batch is the person's own digits
MAX_SEED = 2**63 - 1  # torch's generators take any 64-bit seed; past it they raise
MAX_IMAGES = 10_000_000
MNIST_TRAIN = 60_000


class RequestError(ValueError):
    """A request that cannot be trained as asked: one line naming the option and what it takes."""


def parse_checkpoint_path(text) -> str:
    """--start-from: a checkpoint file's path, made absolute (a queued run's process may start elsewhere);
    whether it loads is checked when the run is set up."""
    if not isinstance(text, str) or not text.strip() or "\x00" in text or len(text) > 4096:
        raise ValueError(f"a checkpoint file's path (e.g. checkpoints/inception.pt), got {str(text)[:40]!r}")
    return os.path.abspath(os.path.expanduser(text))


def parse_set_name(text) -> str:
    """--handwriting: a handwriting set's name (netlib/handwriting/sets.py's rule: letters, digits, - _ .)."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}", text) or ".." in text:
        raise ValueError(f"a handwriting set's name (python -m netlib handwriting list), got {str(text)[:40]!r}")
    return text


def parse_replay(text) -> float:
    """--replay: the share of each fine-tuning batch drawn from MNIST, 0 to MAX_REPLAY."""
    try:
        value = float(text) if not isinstance(text, bool) else -1.0
    except (TypeError, ValueError):
        value = -1.0
    if not 0.0 <= value <= MAX_REPLAY:
        raise ValueError(f"a share from 0 to {MAX_REPLAY:g} (0.5: half of each batch from MNIST), got {str(text)[:40]!r}")
    return value


def _option(default=None, *, help: str, kind: Any = None, low=None, high=None, choices=(),
            models: tuple = (), flag: str = "", cli: bool = True, page: tuple = ()):
    """A field of RunRequest with what a person and a parser need to know of it (see Option)."""
    return field(default=default, metadata={"option": Option(help, kind, low, high, tuple(choices), models,
                                                             flag, cli, page or (low, high))})


@dataclass(frozen=True)
class Option:
    """One option's schema. kind: int, float, str, bool or a parse function; low/high: the inclusive range
    (float low: exclusive); models: the networks it applies to (() for all); flag: the command line's
    spelling when it is not --name; cli: False for options a command line never spells (none today);
    page: the (low, high) a page's input offers, where narrower than what a request takes."""

    help: str
    kind: Any
    low: Any
    high: Any
    choices: tuple
    models: tuple
    flag: str
    cli: bool
    page: tuple


@dataclass(frozen=True)
class RunRequest:
    """A run as asked for: a None option takes the recipe's value (resolved on the device that trains it)."""

    model: str = _option("", kind=str, choices=TITLES, help="; ".join(f"{k}: {v}" for k, v in DESCRIPTIONS.items()))
    recipe: str = _option(DEFAULT_RECIPE, kind=str, choices=RECIPES, help=(
        f"the hyperparameter recipe (default {DEFAULT_RECIPE}; "
        + "; ".join(f"{name} on {dev.upper()}: batch {b}, its rate scaled by sqrt({b}/its batch)"
                    for name, per in DEVICE_BATCH.items() for dev, b in per.items())
        + ", unless --batch-size or --lr is given)"))
    epochs: Optional[int] = _option(kind=int, low=1, high=1000, page=(1, 50), help="epochs (default: the recipe's)")
    batch_size: Optional[int] = _option(kind=int, low=1, high=MNIST_TRAIN, help="default: the recipe's on the device")
    lr: Optional[float] = _option(kind=float, low=0.0, high=10.0, page=(1e-5, 1.0),
                                  help="learning rate (peak rate with onecycle); default: the recipe's on the device")
    optimizer: Optional[str] = _option(kind=str, choices=OPTIMIZERS, help="default: the recipe's")
    schedule: Optional[str] = _option(kind=str, choices=SCHEDULES, help="default: the recipe's")
    augment: Optional[bool] = _option(kind=bool, help="light random affine augmentation (default: the recipe's)")
    degrade: Optional[Any] = _option(kind=parse_degrade, help=(
        "degrade each training digit like an upload with probability P per kind: thick or thin pen, blur, low "
        "resolution, elastic distortion; or per kind, e.g. lowres=0.25,blur=0.1 (kinds: thickness, blur, lowres, "
        "elastic; default: the recipe's, 0)"))
    blocks: Optional[int] = _option(kind=int, low=1, high=MAX_BLOCKS, models=DEPTH_MODELS,
                                    help="blocks per stage (default 1, as published)")
    width: Optional[int] = _option(kind=int, low=1, high=MAX_WIDTH, models=WIDTH_MODELS,
                                   help="conv1's channels, the first Inception block's input; conv2 gives twice as "
                                        "many (default 10, as published)")
    seed: int = _option(0, kind=int, low=0, high=MAX_SEED, page=(0, 2**31 - 1),  # a browser's numbers stay exact
                        help="the random seed (weights, batches, augmentation)")
    device: str = _option("auto", kind=str, choices=DEVICES,
                          help="auto: cuda when a CUDA GPU is available, else cpu")
    threads: Optional[int] = _option(kind=int, low=1, high=1024, help="CPU threads (default: torch's)")
    limit: Optional[int] = _option(kind=int, low=1, high=MAX_IMAGES, page=(1, MNIST_TRAIN),
                                   help="train on the first N training images")
    synthetic: Optional[int] = _option(kind=int, low=1, high=MAX_IMAGES,
                                       help="train on N synthetic digits instead of MNIST (tests and demos)")
    record_grads: bool = _option(True, kind=bool, flag="--no-grads",
                                 help="do not record per-layer gradient norms")
    start_from: Optional[str] = _option(kind=parse_checkpoint_path, help=(
        "fine-tune: start from this checkpoint's weights (it must be of --model) and train on --handwriting"))
    handwriting: Optional[str] = _option(kind=parse_set_name, help=(
        "fine-tune on this handwriting set's training digits (python -m netlib handwriting list); "
        "its held-out digits are tested every epoch"))
    tune: Optional[str] = _option(kind=str, choices=TUNES, help=(
        "fine-tuning: last trains the final layer only, all the whole network (default last)"))
    replay: Optional[float] = _option(kind=parse_replay, help=(
        "fine-tuning: the share of each batch drawn from the MNIST training digits, 0 to 0.9, so the network "
        "keeps what it knew (default 0)"))
    keep_epochs: bool = _option(False, kind=bool, help=(
        "keep every epoch's weights in the run folder (epochs/epoch-NNN.pt, 0.17-0.4 MB each at the published "
        "sizes) so the Map page can show how the network's map forms, epoch by epoch"))

    def __post_init__(self):
        if not self.model:
            raise RequestError("a run needs a network: --model (one of " + ", ".join(TITLES) + ")")
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                object.__setattr__(self, f.name, _checked(f.name, value, f.metadata["option"]))
        for f in fields(self):
            models = f.metadata["option"].models
            if models and getattr(self, f.name) is not None and self.model not in models:
                raise RequestError(f"--{flag_name(f.name)} applies to {' and '.join(models)}, not {self.model}")

    def to_dict(self) -> dict:
        """The options given (None left out): what config.json and queued.json store."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data) -> "RunRequest":
        """A stored request read back; RequestError (one line) for anything that is not one."""
        if not isinstance(data, dict):
            raise RequestError("the run request is not a JSON object")
        unknown = sorted(set(data) - set(OPTIONS))
        if unknown:
            raise RequestError(f"the run request has an unknown option {str(unknown[0])[:40]!r}")
        return cls(**data)

    def replace(self, **changes) -> "RunRequest":
        return dataclasses.replace(self, **changes)

    def shape(self) -> dict:
        """The network's size options as given ({} as published)."""
        return shape_kwargs(self.model, self.blocks, self.width)

    def command(self) -> list[str]:
        """The `python -m netlib train` words that ask for this request (for people and scripts)."""
        words = ["train"]
        for name, opt in OPTIONS.items():
            value = getattr(self, name)
            if value is None or value == _default(name):
                continue
            if opt.kind is bool:
                words.append(opt.flag if opt.flag else f"--{'' if value else 'no-'}{flag_name(name)}")
            else:
                words += [f"--{flag_name(name)}", f"{value:.8g}" if isinstance(value, float) else str(value)]
        return words


OPTIONS: dict[str, Option] = {f.name: f.metadata["option"] for f in fields(RunRequest)}


TITLES_OF = {"lr": "learning rate", "record_grads": "gradient recording"}  # where the flag is no words


def page_range(name: str) -> tuple:
    """The (low, high) a page's input for this option offers."""
    return OPTIONS[name].page


def flag_name(name: str) -> str:
    return name.replace("_", "-")


def _default(name: str):
    return RunRequest.__dataclass_fields__[name].default


def _checked(name: str, value, opt: Option):
    """value as the option's type, in its range and choices; RequestError naming the option otherwise."""
    where = f"--{flag_name(name)}: {TITLES_OF.get(name, flag_name(name).replace('-', ' '))}"
    if opt.kind is bool:
        if not isinstance(value, bool):
            raise RequestError(f"{where} is on or off, got {value!r}")
        return value
    if opt.kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or not opt.low <= value <= opt.high:
            raise RequestError(f"{where} must be a whole number from {opt.low} to {opt.high:,}, got {str(value)[:40]}")
        return value
    if opt.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not opt.low < value <= opt.high:
            raise RequestError(f"{where} must be a number greater than {opt.low:g} and at most {opt.high:g}, "
                               f"got {str(value)[:40]}")
        return float(value)
    if opt.kind is str:
        if value not in opt.choices:
            raise RequestError(f"unknown {name} {str(value)[:40]!r}; choose one of: {', '.join(opt.choices)}")
        return value
    try:
        return opt.kind(value)
    except ValueError as e:
        raise RequestError(f"--{flag_name(name)}: {e}") from None


def add_arguments(parser: argparse.ArgumentParser, names: tuple = ()) -> None:
    """The request's options (or those named) as command-line flags, each default None: "not given", so
    the request's own default applies and a given value can be told from an absent one."""
    for name, opt in OPTIONS.items():
        if (names and name not in names) or not opt.cli:
            continue
        what = opt.help + (f" ({' and '.join(opt.models)} only)" if opt.models else "")
        if opt.kind is bool and opt.flag:
            parser.add_argument(opt.flag, dest=name, action="store_false", default=None, help=what)
        elif opt.kind is bool:
            parser.add_argument(f"--{flag_name(name)}", action=argparse.BooleanOptionalAction, default=None, help=what)
        else:
            parser.add_argument(f"--{flag_name(name)}", type=_parser_type(name, opt), default=None,
                                metavar=name.upper() if not opt.choices else None,
                                choices=list(opt.choices) or None, help=what)


def _parser_type(name: str, opt: Option):
    """A type function for argparse: the text as the option's kind, checked against its range."""
    def parse(text: str):
        try:
            value = opt.kind(text) if opt.kind in (int, float) else text
        except ValueError:
            kind = "a whole number" if opt.kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return value if opt.choices else _checked(name, value, opt)
        except RequestError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"--{flag_name(name)}: ")) from None
    parse.__name__ = opt.kind.__name__ if isinstance(opt.kind, type) else "value"
    return parse


def from_arguments(args) -> RunRequest:
    """The request an argparse namespace made by add_arguments holds (options not given take defaults)."""
    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name, None) is not None}
    return RunRequest(**given)


def keeps_epochs(config: dict) -> bool:
    """Whether a run's config.json asks it to keep every epoch's weights (its request's keep_epochs)."""
    request = config.get("request")
    return isinstance(request, dict) and request.get("keep_epochs") is True


def trained_on(config: dict) -> tuple[Optional[str], Optional[int]]:
    """(data folder, N synthetic digits) a run's config.json says it trained on: its request's, or an older
    run's train words (read leniently: a word today's parser refuses, a negative seed say, costs nothing).
    None for MNIST in the default folder, and for anything that is not what a run writes."""
    request = config.get("request")
    if isinstance(request, dict):
        synthetic, data_dir = request.get("synthetic"), config.get("data_dir")
    else:
        argv = config.get("argv") if isinstance(config.get("argv"), list) else []
        synthetic, data_dir = _word_after(argv, "--synthetic"), _word_after(argv, "--data-dir")
        try:
            synthetic = int(synthetic) if synthetic is not None else None
        except ValueError:
            synthetic = None
    return (data_dir if isinstance(data_dir, str) else None,
            synthetic if isinstance(synthetic, int) and not isinstance(synthetic, bool) else None)


def _word_after(argv: list, flag: str) -> Optional[str]:
    """The value of `flag X` or `flag=X` among argv's words, None when it is not there."""
    for i, word in enumerate(argv):
        if word == flag and i + 1 < len(argv) and isinstance(argv[i + 1], str):
            return argv[i + 1]
        if isinstance(word, str) and word.startswith(flag + "="):
            return word.partition("=")[2]
    return None
