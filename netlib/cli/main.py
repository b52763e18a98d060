"""`python -m netlib`: parse, run the subcommand, turn known errors into one line and an exit status."""

from __future__ import annotations

import importlib
import sys

from ..runs.files import RunDirError, first_line
from . import commands
from .parser import UsageError, build_parser

# The subcommands that live in a module of their own: "module:function" under netlib.cli.
ELSEWHERE = {"sweep": "sweep:run", "lesion": "lesion:run", "bench": "bench:run", "runs": "runs:run",
             "submit": "queue:submit", "queue": "queue:show", "report": "report:run",
             "export": "export:run", "map": "map:run", "handwriting": "handwriting:run"}


def main(argv=None, own_process: bool = False) -> int:
    """Run one command; own_process=True only from `python -m netlib` (the process is the command's
    own: a training run may then end it when a stop goes unanswered)."""
    try:
        args = build_parser().parse_args(argv)
        args.own_process = own_process
        if args.command != "train":  # a training process pumps when it ends (training.pump_after)
            _pump(getattr(args, "runs_dir", None))
        return _command(args.command)(args)
    except UsageError as e:
        print(f"netlib: error: {e}", file=sys.stderr)
        return 2
    except (RunDirError, *_loaded_errors()) as e:
        print(f"netlib: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # a path that cannot be used (FileRefused: a FIFO, a device, a huge file)
        print(f"netlib: error: {first_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("netlib: interrupted", file=sys.stderr)
        return 130


def _command(name: str):
    """The function that runs a subcommand: commands.cmd_NAME, or one in a module of its own, imported
    only now (a light command never loads what another one needs)."""
    if name in ELSEWHERE:
        module, _, function = ELSEWHERE[name].partition(":")
        return getattr(importlib.import_module(f"{__package__}.{module}"), function)
    return getattr(commands, f"cmd_{name}")


def _loaded_errors() -> tuple:
    """The unusable-file errors of the modules this command loaded: a light command never imports torch
    (netlib.checkpoint) or numpy (netlib.mnist) just to name an error it cannot have raised."""
    where = {"netlib.checkpoint": "CheckpointError", "netlib.mnist": "DataError"}
    return tuple(getattr(sys.modules[m], name) for m, name in where.items() if m in sys.modules)


def _pump(runs_dir=None) -> None:
    """Start the queued runs that fit now in the runs folder the command works on (--runs-dir, else the
    default one): a queue left by a stopped server goes on. Never fails the command: a queue problem is
    shown by `queue`, not by every command."""
    try:
        from ..runs.files import default_runs_dir
        from ..runs.queue import pump

        root = runs_dir or default_runs_dir()
        if root.is_dir():
            pump(root)
    except Exception:  # noqa: BLE001
        pass
