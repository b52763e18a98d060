"""`report RUN [RUN ...] -o FILE [--sweep NAME]`: runs and a sweep as one self-contained HTML file."""

from __future__ import annotations

import sys
from pathlib import Path

from ..bounded import size_text
from ..report.build import ReportError, build_report, check_output, read_runs, resolve_run, write_report
from ..runs.files import LIVE_STATUSES, default_runs_dir
from .parser import UsageError


def _plain(text) -> str:
    """Text for a terminal: a run folder's name may hold escape sequences."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def run(args) -> int:
    """A run that is not there, an output path that is a folder, a FIFO or in a missing folder: one
    line, exit 2, nothing written (the output is checked before any work, and written in one step)."""
    root = Path(args.runs_dir or default_runs_dir())
    if not args.runs and not args.sweep:
        raise UsageError("name a run (or several), or a sweep with --sweep NAME")
    try:
        out = check_output(args.output)
        folders = [resolve_run(root, word) for word in args.runs]
        runs = read_runs(folders)  # every run checked before the slow parts (the sweep, the test set)
        sweep = _sweep(args, root) if args.sweep else None
        if args.sweep and sweep is None:
            return 1  # its storage cannot be used: said
        page = build_report(runs, sweep, root, args.data_dir, evaluate=not args.no_evaluate)
        size = write_report(out, page)
    except ReportError as e:
        raise UsageError(str(e)) from None
    live = [r.name for r in runs if r.status in LIVE_STATUSES]
    print(_plain(f"report written to {out} ({size_text(size)})"))
    for name in live:
        print(_plain(f"note: {name} is still training; the report says so and shows it as far as it got"),
              file=sys.stderr)
    return 0


def _sweep(args, root: Path):
    """(study, spec) of --sweep; None (after one line) when its storage cannot be used."""
    from ..sweeps import trials as T
    from ..sweeps.space import SpaceError, check_name
    from ..sweeps.storage import StorageError, describe, open_storage, storage_failure, storage_url

    url = storage_url(args.storage)
    try:
        check_name(args.sweep)
        return T.load(args.sweep, open_storage(url, root))
    except SpaceError as e:
        raise ReportError(str(e)) from None
    except StorageError as e:
        print(_plain(f"netlib: error: {e}"), file=sys.stderr)
        return None
    except Exception as e:  # noqa: BLE001  only the storage's own failures are answered here
        why = storage_failure(e)
        if why is None:
            raise
        print(_plain(f"netlib: error: the sweeps in {describe(url, root)} cannot be used: {why}"), file=sys.stderr)
        return None
