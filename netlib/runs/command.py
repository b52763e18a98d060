"""A queued run on disk: what is submitted (a Submission), and its request read back from its queued.json,
checked as foreign input (one written before run requests, train's words "argv", read word by word
against the request's own schema)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..bounded import FileRefused
from ..request import OPTIONS, RunRequest, flag_name
from .files import QUEUED_FILE, new_run_name
from .reader import read_json

MAX_ARGV = 64
# A value is a plain word or a number: never an option (a leading '--'), a path or a shell word.
_VALUE = re.compile(r"[A-Za-z0-9_.+][A-Za-z0-9_.+=,-]{0,79}|-[0-9][0-9.e+-]{0,30}")  # "=,": --degrade lowres=0.2
# The words each option may be spelled with: no path options (--run-dir, --save, --extend, --data-dir)
# exist in a request, so whoever can write a queued.json can only ask for training in that run's folder.
VALUED = {f"--{flag_name(n)}": n for n, o in OPTIONS.items() if o.kind is not bool}
FLAGS = {word: (n, on) for n, o in OPTIONS.items() if o.kind is bool
         for word, on in (((o.flag, False),) if o.flag else ((f"--{flag_name(n)}", True), (f"--no-{flag_name(n)}", False)))}


@dataclass
class Submission:
    """One run to enqueue: a folder name (made unique), its request (device resolved) and the config.json
    listings show until the training process rewrites it at start."""

    name: str
    request: RunRequest
    config: dict

    @classmethod
    def of(cls, req: RunRequest, config=None, tag: str = "", **extra) -> "Submission":
        """req as its training process will resolve it (config: engine.setup.train_config's, resolved here
        when not given: ValueError for options that cannot train), ready to enqueue: its device fixed
        (auto -> cpu or cuda: the queue counts a GPU run's GPU slot), its folder named by network and tag
        (default: the recipe); extra: more for config.json (a sweep's trial)."""
        if config is None:
            from ..engine.setup import train_config  # torch: only where a run is asked for

            config = train_config(req)
        return cls(new_run_name(config.model, tag or req.recipe), req.replace(device=config.device),
                   {**config.to_dict(), **extra})


class QueueRefused(ValueError):
    """A run the queue will not start: one line (a queued.json that is not what submit writes)."""


def options_from_argv(argv) -> dict:
    """A request's options from an older queued command line, checked word by word; QueueRefused otherwise."""
    if not isinstance(argv, list) or len(argv) > MAX_ARGV or not all(isinstance(a, str) for a in argv):
        raise QueueRefused(f"its command is not a list of at most {MAX_ARGV} words")
    out, i = {}, 0
    while i < len(argv):
        word = argv[i]
        if word in FLAGS:
            name, value = FLAGS[word]
            out[name], i = value, i + 1
            continue
        if word not in VALUED:
            raise QueueRefused(f"option {word[:40]!r} is not allowed in a queued run")
        text = argv[i + 1] if i + 1 < len(argv) else ""
        if not _VALUE.fullmatch(text):
            raise QueueRefused(f"{word} {text[:40]!r}: not a plain value")
        kind = OPTIONS[VALUED[word]].kind
        try:
            out[VALUED[word]] = kind(text) if kind is not str else text
        except ValueError:
            raise QueueRefused(f"{word} {text!r}: expected {getattr(kind, '__name__', 'a value')}") from None
        i += 2
    if not out.get("model"):
        raise QueueRefused("its command names no --model")
    return out


def queued_request(run_dir: Path) -> RunRequest:
    """The request of a queued run (in the training process the queue started for it); QueueRefused."""
    return read_queued(Path(run_dir))[0]


def read_queued(run_dir: Path) -> tuple[RunRequest, Optional[list]]:
    """(the run's request, the worker that trains the run itself or None) of a queued run. queued.json
    is checked as foreign input: anyone who can write the runs folder can write one."""
    try:
        data = read_json(run_dir / QUEUED_FILE)
    except FileRefused as e:
        raise QueueRefused(str(e)) from None
    if data is None:
        raise QueueRefused(f"{QUEUED_FILE} is missing or not a JSON object")
    worker = data.get("worker")
    if worker is not None and not (isinstance(worker, list) and len(worker) == 2 and isinstance(worker[0], int)):
        raise QueueRefused(f"{QUEUED_FILE}: its worker is not [pid, start time]")
    try:
        if "request" in data:
            return RunRequest.from_dict(data["request"]), worker
        return RunRequest(**options_from_argv(data.get("argv"))), worker  # queued before run requests
    except ValueError as e:
        raise QueueRefused(str(e)) from None
