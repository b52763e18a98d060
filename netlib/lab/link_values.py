"""The kinds of value a link carries (numbers, choices, runs, checkpoints, lessons) and what they are checked
against (Context): plain Python, no streamlit, no torch; used by netlib.lab.links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Callable, Iterable, Mapping, Optional

from ..names import TITLES

MAX_RUNS = 12  # runs overlaid from one link
NAME = re.compile(r"[A-Za-z0-9_.-]{1,120}")  # run, upload and lesson names: one plain path component
CHECKPOINT_KINDS = ("shipped", "run", "upload")


class Invalid(ValueError):
    """A URL value that cannot be used; the message says what was expected."""


class Context:
    """What URL values are checked against, each listing read on first use only (a page pays only for
    the parameters its link has).

    runs(): {run name: run folder as listed}; checkpoints(model): the checkpoint ids of `model` that the
    pickers offer (see checkpoint_id); test_size(): digits in the test set; lessons(): lesson ids;
    options: {session key: the choices its widget offers} (a page's tabs, Compare's pairs).
    """

    def __init__(self, runs: Callable[[], Mapping[str, str]] = dict,
                 checkpoints: Callable[[str], list[str]] = lambda model: [],
                 test_size: Callable[[], int] = lambda: 0, lessons: Callable[[], Iterable[str]] = tuple,
                 options: Optional[Mapping[str, Iterable[str]]] = None) -> None:
        self._loaders = {"runs": runs, "test_size": test_size, "lessons": lessons}
        self._checkpoints = checkpoints
        self._memo: dict = {}
        self.options = {k: list(v) for k, v in (options or {}).items()}

    def _get(self, what: str, *args):
        if (what, args) not in self._memo:
            self._memo[(what, args)] = (self._checkpoints if what == "checkpoints" else self._loaders[what])(*args)
        return self._memo[(what, args)]

    def runs(self) -> Mapping[str, str]:
        return self._get("runs")

    def checkpoints(self, model: str) -> list[str]:
        return list(self._get("checkpoints", model))

    def test_size(self) -> int:
        return int(self._get("test_size"))

    def lessons(self) -> tuple:
        return tuple(self._get("lessons"))


def checkpoint_id(choice) -> str:
    """A checkpoint's identity in a link, from a catalogue choice: its path relative to its root, tagged
    with the root. 'shipped:residual.pt', 'run:<run name>', 'upload:<file name>'."""
    path = PurePath(choice.path)
    if getattr(choice, "shipped", False):
        return f"shipped:{path.name}"
    if getattr(choice, "uploaded", False):
        return f"upload:{path.name}"
    return f"run:{path.parent.name}"


def shown(text: Any, limit: int = 40) -> str:
    """A value as a message may quote it, in a code span: printable, no backticks, at most `limit` chars."""
    text = "".join(c if c.isprintable() and c != "`" else "?" for c in str(text))
    return text if len(text) <= limit else text[:limit] + "…"


def plain_name(text: str) -> str:
    """text if it is one plain folder or file name; Invalid otherwise (no '/', '..', NUL, control chars)."""
    if not NAME.fullmatch(text) or ".." in text:
        raise Invalid("not a plain name (letters, digits, '-', '_' and '.' only)")
    return text


# ---------------------------------------------------------------- kinds of value
@dataclass(frozen=True)
class Whole:
    """A whole number from low to high (high from the context when `size` names a listing)."""
    low: int
    high: int = 0
    size: str = ""  # "test_size": the upper end is the test set's size - 1

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        high = ctx.test_size() - 1 if self.size else self.high
        if not re.fullmatch(r"[0-9]{1,6}", text) or not self.low <= int(text) <= high:
            raise Invalid(f"a whole number from {self.low} to {high} expected" if high >= self.low else
                          "there is nothing to pick from here")
        return int(text)

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        return None if isinstance(value, bool) or not isinstance(value, int) else str(value)


@dataclass(frozen=True)
class Choice:
    """One of a fixed list (`options`), or of the list the page offers for this key (Context.options)."""
    options: tuple = ()
    optional: bool = False  # "any" stands for None (Results' digit filters)

    def choices(self, ctx: Context, key: str) -> list:
        return list(self.options) or ctx.options.get(key, [])

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        if self.optional and text == "any":
            return None
        for option in self.choices(ctx, key):
            if str(option) == text:
                return option
        raise Invalid("one of " + ", ".join(str(o) for o in self.choices(ctx, key)) + " expected")

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        return str(value) if value in self.choices(ctx, key) else None


@dataclass(frozen=True)
class Lesson:
    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        if plain_name(text) not in ctx.lessons():
            raise Invalid("no such lesson")
        return text

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        return value if isinstance(value, str) and value in ctx.lessons() else None


@dataclass(frozen=True)
class Run:
    """A run by name in the URL; in session state its folder as run_index lists it."""

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        folder = ctx.runs().get(plain_name(text))
        if folder is None:
            raise Invalid("not a run on this server")
        return str(folder)

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        if not isinstance(value, (str, PurePath)) or not value:
            return None
        name = PurePath(value).name
        return name if str(ctx.runs().get(name)) == str(value) else None


@dataclass(frozen=True)
class RunList:
    """Runs by name, one parameter each (?run=a&run=b); in session state the list of names."""
    multiple = True

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        if plain_name(text) not in ctx.runs():
            raise Invalid("not a run on this server")
        return text

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        if not isinstance(value, (list, tuple)):
            return None
        return [n for n in value if isinstance(n, str) and n in ctx.runs()][:MAX_RUNS] or None


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint id (checkpoint_id), in the URL and in session state alike: an id names the same
    checkpoint when a run saves its first one or one is deleted, where a place in the list would not."""
    model: str = ""  # fixed (Draw's pickers); else the page's network

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        kind, _, name = text.partition(":")
        if kind not in CHECKPOINT_KINDS:
            raise Invalid("shipped:FILE, run:NAME or upload:FILE expected")
        plain_name(name)
        if text not in ctx.checkpoints(self.model or model):
            raise Invalid(f"not one of the {TITLES.get(self.model or model, model)} checkpoints on this server")
        return text

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        return value if isinstance(value, str) and value in ctx.checkpoints(self.model or model) else None


@dataclass(frozen=True)
class Flag:
    """On or off: 'on'/'off' in the URL, True/False in session state (a toggle)."""

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        if text not in ("on", "off"):
            raise Invalid("on or off expected")
        return text == "on"

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        return ("on" if value else "off") if isinstance(value, bool) else None


@dataclass(frozen=True)
class Text:
    """Free text a person typed or picked (a search, a filter's value): printable, at most `most` characters;
    only ever compared with what the page lists, never a path."""
    most: int = 80

    def parse(self, text: str, ctx: Context, model: str, key: str = ""):
        if len(text) > self.most or not text.isprintable():
            raise Invalid(f"printable text of at most {self.most} characters expected")
        return text

    def encode(self, value, ctx: Context, model: str, key: str = ""):
        return value if isinstance(value, str) and 0 < len(value) <= self.most and value.isprintable() else None
