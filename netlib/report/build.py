"""A report of runs (and a sweep) as one HTML file: which runs a name or a folder means, the page in
order (a comparison when there are several, the sweep, each run), and the file written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from ..atomic import atomic_write
from ..bounded import not_a_file, not_a_folder
from ..runs import manage
from ..runs.files import CHECKPOINT, CONFIG, METRICS, STATUS, safe_run_name
from ..runs.reader import RunInfo, read_run
from ..safepath import UnsafePath
from . import compare, evaluation, runs as run_parts
from .document import Document, text


class ReportError(ValueError):
    """A run that is not there, or an output path that cannot take the report: one line, nothing written."""


def resolve_run(runs_dir: Path, word: str) -> Path:
    """The folder RUN names: a run's name in the runs folder (as `runs` takes it), or a path to a run
    folder (as `train --extend` takes it)."""
    if os.sep in word or (os.altsep and os.altsep in word):
        folder = Path(word)
        if not folder.is_dir():
            raise ReportError(f"{word}: no such run folder")
        return folder
    try:
        return manage.run_dir(runs_dir, word)
    except (manage.RunRefused, UnsafePath) as e:
        if Path(word).is_dir() and not Path(word).is_symlink():  # a folder here, named without a slash
            return Path(word)
        raise ReportError(f"{e} (python -m netlib runs list shows the runs)") from None


def read_runs(folders: Sequence) -> list[RunInfo]:
    """Each folder's run, whole (a run already read stays as it is); ReportError for a folder that holds no run."""
    out = []
    for folder in folders:
        run = folder if isinstance(folder, RunInfo) else read_run(Path(folder))
        if run is None:
            raise ReportError(f"{folder}: no run there (no config.json and status.json)")
        out.append(run)
    return out


def check_output(path: Path) -> Path:
    """path if a report can be written there: its folder exists, and it is nothing but a regular file
    (or nothing yet). A folder, a FIFO or a device in its place is refused, never replaced."""
    path = Path(path)
    kind = not_a_file(path)
    if kind:
        raise ReportError(f"{path}: refused as the report's file, it is {kind}, not a regular file")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        raise ReportError(f"{path}: its folder {parent} does not exist")
    kind = not_a_folder(parent)
    if kind:
        raise ReportError(f"{path}: {parent} is {kind}, not a folder")
    return path


def write_report(path: Path, page: str) -> int:
    """The page written to path in one step (a reader never sees half a report, a failure leaves what
    was there); its size in bytes."""
    data = page.encode("utf-8")
    atomic_write(check_output(path), lambda f: f.write(data))
    return len(data)


def run_of_checkpoint(path: Path) -> Optional[Path]:
    """The run folder a checkpoint is the result of (a run's own checkpoint.pt), else None (shipped, uploaded)."""
    path = Path(path)
    return path.parent if path.name == CHECKPOINT and (path.parent / CONFIG).is_file() else None


def stamp(folders: Sequence[Path], sweep=None) -> tuple:
    """What a built report was made of: the runs' logs and statuses as they were (a run that trains on
    makes a new one), the sweep's trials' states. Cheap: a few stat calls, no log read."""
    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return 0

    runs = tuple((str(f), mtime(Path(f) / METRICS), mtime(Path(f) / STATUS)) for f in folders)
    if sweep is None:
        return runs
    trials = sweep[0].get_trials(deepcopy=False)
    return runs, sweep[1].name, tuple((t.number, t.state.name) for t in trials)


def file_name(folders: Sequence[Path], sweep_name: Optional[str] = None) -> str:
    """report-RUN.html, report-N-runs.html or report-sweep-NAME.html: one plain file name."""
    if sweep_name and not folders:
        what = f"sweep-{sweep_name}"
    else:
        what = Path(folders[0]).name if len(folders) == 1 else f"{len(folders)}-runs"
    return f"report-{safe_run_name(what)}.html"


def title_for(runs: list[RunInfo], sweep_name: Optional[str]) -> str:
    if sweep_name and not runs:
        return f"Sweep {sweep_name}"
    if len(runs) == 1:
        return f"Run: {run_parts.title_of(runs[0])}"
    networks = sorted({r.config.get("model", "?") for r in runs})
    return f"{len(runs)} runs: " + ", ".join(networks) + (f" · sweep {sweep_name}" if sweep_name else "")


def contents(runs: list[RunInfo], several: bool, sweep: bool) -> str:
    links = ([("comparison", "Comparison")] if several else []) + ([("sweep", "Sweep")] if sweep else [])
    links += [(f"run-{i}", run_parts.title_of(r)) for i, r in enumerate(runs, 1)]
    if len(links) < 2:
        return ""
    return "<ul>" + "".join(f'<li><a href="#{a}">{text(t)}</a></li>' for a, t in links) + "</ul>"


def build_report(folders: Sequence[Path] = (), sweep=None, runs_dir: Optional[Path] = None,
                 data_dir: Optional[Path] = None, evaluate: bool = True) -> str:
    """The report as HTML text. folders: run folders (or runs read by read_runs); sweep: (study, spec) of a sweep, or None; runs_dir:
    where the sweep's trials' runs are; evaluate: read each finished run's checkpoint on the test set."""
    runs = read_runs(folders)
    if not runs and sweep is None:
        raise ReportError("a report needs a run or a sweep")
    doc = Document(title_for(runs, sweep[1].name if sweep else None))
    doc.add(contents(runs, len(runs) > 1, sweep is not None))
    if len(runs) > 1:
        compare.section(doc, runs)
    if sweep is not None:
        from . import sweep as sweep_part

        sweep_part.section(doc, *sweep, Path(runs_dir or "."))
    for i, run in enumerate(runs, 1):
        run_parts.section(doc, run, f"run-{i}")
        if evaluate:
            evaluation.section(doc, run, data_dir)
    return doc.render()
