"""`python -m netlib`: parse, run the subcommand, turn known errors into one line and an exit status."""

from __future__ import annotations

import sys

from ..checkpoint import CheckpointError
from ..mnist import DataError
from ..runs.files import RunDirError
from . import commands
from .parser import UsageError, build_parser


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except UsageError as e:
        print(f"netlib: error: {e}", file=sys.stderr)
        return 2
    try:
        return getattr(commands, f"cmd_{args.command}")(args)
    except UsageError as e:
        print(f"netlib: error: {e}", file=sys.stderr)
        return 2
    except (CheckpointError, DataError, RunDirError) as e:
        print(f"netlib: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("netlib: interrupted", file=sys.stderr)
        return 130
