"""A queued run's command: the only train options it may carry, checked word by word, and the one
command line rebuilt from them that the queue runs (never the words a queued.json holds)."""

from __future__ import annotations

import re

from ..recipes import parse_degrade

MAX_ARGV = 64

# The only options a queued run may carry, with their types. No path options (--run-dir, --save,
# --extend, --data-dir): whoever can write a queued.json can only ask for training in that run's folder.
OPTIONS = {"--model": str, "--recipe": str, "--epochs": int, "--batch-size": int, "--lr": float,
           "--optimizer": str, "--schedule": str, "--limit": int, "--seed": int, "--device": str,
           "--threads": int, "--blocks": int, "--width": int, "--synthetic": int, "--degrade": parse_degrade}
_KINDS = {int: "int", float: "float", str: "str", parse_degrade: "a probability or kind=P,..."}
FLAGS = {"--augment": ("augment", True), "--no-augment": ("augment", False), "--no-grads": ("record_grads", False)}
# A value is a plain word or a number: never an option (a leading '--'), a path or a shell word.
_VALUE = re.compile(r"[A-Za-z0-9_.+][A-Za-z0-9_.+=,-]{0,79}|-[0-9][0-9.e+-]{0,30}")  # "=,": --degrade lowres=0.2


class QueueRefused(ValueError):
    """A command the queue will not run: one line (a queued.json that is not what submit writes)."""


def options_from_argv(argv) -> dict:
    """train's options from a queued command line, checked word by word; QueueRefused otherwise."""
    if not isinstance(argv, list) or len(argv) > MAX_ARGV or not all(isinstance(a, str) for a in argv):
        raise QueueRefused(f"its command is not a list of at most {MAX_ARGV} words")
    out, i = {}, 0
    while i < len(argv):
        word = argv[i]
        if word in FLAGS:
            key, value = FLAGS[word]
            out[key], i = value, i + 1
            continue
        if word not in OPTIONS:
            raise QueueRefused(f"option {word[:40]!r} is not allowed in a queued run")
        text = argv[i + 1] if i + 1 < len(argv) else ""
        if not _VALUE.fullmatch(text):
            raise QueueRefused(f"{word} {text[:40]!r}: not a plain value")
        try:
            out[word[2:].replace("-", "_")] = OPTIONS[word](text)
        except ValueError:
            raise QueueRefused(f"{word} {text!r}: expected {_KINDS.get(OPTIONS[word], 'a value')}") from None
        i += 2
    if not out.get("model"):
        raise QueueRefused("its command names no --model")
    return out


def argv_from_options(options: dict) -> list[str]:
    """The one command line a queued run is started with, rebuilt from checked options."""
    argv = []
    for flag, kind in OPTIONS.items():
        value = options.get(flag[2:].replace("-", "_"))
        if value is not None:
            argv += [flag, f"{value:.8g}" if isinstance(value, float) else str(value)]
    if options.get("augment") is not None:
        argv.append("--augment" if options["augment"] else "--no-augment")
    if options.get("record_grads") is False:
        argv.append("--no-grads")
    return argv
