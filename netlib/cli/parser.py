"""The command line's grammar: every subcommand and option, and UsageError for bad arguments."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import request
from ..names import DEFAULT_WIDTH, TITLES
from ..recipes import DEFAULT_RECIPE, RECIPES
from ..sweeps.space import PRUNERS, SAMPLERS
from .handwriting import add_arguments as add_handwriting_arguments
from .map import add_arguments as add_map_arguments


DEVICE_HELP = "where the network runs: auto (cuda when a CUDA GPU is there, else cpu), cpu or cuda"


class UsageError(Exception):
    """Bad arguments: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m netlib", description="The MNIST network lab's engine.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(sub.add_parser("train", help="train a network on MNIST"))
    _add_queue(sub)

    s = sub.add_parser("summary", help="per-layer table: output shape, parameters, multiply-adds")
    s.add_argument("--model", required=True, choices=list(TITLES))
    request.add_arguments(s, ("blocks", "width"))
    s.add_argument("--json", action="store_true")

    pr = sub.add_parser("predict", help="read digits from image files with a checkpoint")
    pr.add_argument("--checkpoint", required=True, type=Path)
    pr.add_argument("images", nargs="+", type=Path)
    pr.add_argument("--device", default="auto", choices=request.DEVICES, help=DEVICE_HELP)
    pr.add_argument("--json", action="store_true")

    ev = sub.add_parser("evaluate", help="a checkpoint on MNIST's test set: accuracy, per digit, confusion matrix")
    ev.add_argument("--checkpoint", required=True, type=Path)
    ev.add_argument("--data-dir", type=Path)
    ev.add_argument("--threads", type=_positive_int)
    ev.add_argument("--device", default="auto", choices=request.DEVICES, help=DEVICE_HELP)
    ev.add_argument("--json", action="store_true", help="one JSON object")

    le = sub.add_parser("lesion", help="remove one residual block at a time (Residual, Plain): test accuracy without it")
    le.add_argument("--checkpoint", required=True, type=Path)
    le.add_argument("--data-dir", type=Path)
    le.add_argument("--threads", type=_positive_int)
    le.add_argument("--limit", type=_positive_int, help="the first N test digits (default all 10,000)")
    le.add_argument("--json", action="store_true", help="one JSON object per line: nothing removed, then each block")

    d = sub.add_parser("data", help="fetch and verify MNIST, print where it is")
    d.add_argument("--data-dir", type=Path)
    ex = sub.add_parser("export", help="a checkpoint as an ONNX model that any ONNX runtime reads (docs/export.md)")
    ex.add_argument("checkpoint", type=Path)
    ex.add_argument("--onnx", required=True, type=Path, metavar="OUT.onnx",
                    help="the file to write (replaced whole; its folder must exist)")
    ex.add_argument("--json", action="store_true", help="one JSON object: what was written")
    add_map_arguments(sub.add_parser("map", help="the test digits where a checkpoint's last features place them "
                                                  "(PCA, t-SNE), and how well they separate"))
    add_handwriting_arguments(sub.add_parser("handwriting", help="your own digits: list, import, export, delete "
                                                                  "handwriting sets (fine-tune on one with train --handwriting)"))
    _add_bench(sub.add_parser("bench", help="speed and accuracy benchmarks"))
    _add_runs(sub.add_parser("runs", help="the lab notebook: list, label, note, tag, archive, delete, prune runs"))
    _add_sweep(sub.add_parser("sweep", help="hyperparameter sweeps (Optuna): create, work, show, list"))
    _add_report(sub.add_parser("report", help="runs (and a sweep) as one HTML file that opens anywhere, offline"))
    return p


def _add_report(r: argparse.ArgumentParser) -> None:
    """`report RUN [RUN ...] -o FILE [--sweep NAME]`: netlib/report/."""
    r.add_argument("runs", nargs="*", metavar="RUN", help="a run's name in the runs folder, or a run folder's path")
    r.add_argument("-o", "--output", required=True, type=Path, metavar="FILE", help="the HTML file to write")
    r.add_argument("--sweep", metavar="NAME", help="a sweep: its settings, trials and Optuna's figures")
    r.add_argument("--storage", metavar="URL", help="the sweep's storage (default: $NETLIB_OPTUNA_STORAGE, else "
                   "a journal file in the runs folder)")
    r.add_argument("--no-evaluate", action="store_true",
                   help="leave out each finished run's confusion matrix and misread digits (no test-set pass)")
    r.add_argument("--data-dir", type=Path, help="MNIST for those (default: where each run trained)")
    r.add_argument("--runs-dir", type=Path, help="the runs folder (default: $NETLIB_RUNS_DIR, else ./runs)")


def _add_train(t: argparse.ArgumentParser) -> None:
    """train's options: the run request's (netlib/request.py), then where the run goes and what it prints."""
    request.add_arguments(t)
    t.add_argument("--extend", type=Path, metavar="RUN_DIR",
                   help="train a finished run further from its last epoch (--epochs more, default 1; "
                        "--lr sets the constant rate, default the run's last, or a tenth of a onecycle peak "
                        "where the schedule decayed below it)")
    t.add_argument("--data-dir", type=Path)
    t.add_argument("--run-dir", type=Path, help="the run's folder (default: a new folder in the runs folder, "
                   "$NETLIB_RUNS_DIR, else ./runs)")
    t.add_argument("--no-record", action="store_true",
                   help="keep no run folder (scripts): the model is kept only with --save")
    t.add_argument("--save", type=Path, help="also copy the final checkpoint to this path")
    t.add_argument("--json", action="store_true", help="one JSON object per line per event")
    t.add_argument("--quiet", action="store_true", help="print nothing (the run dir has it all)")


def _add_queue(sub) -> None:
    """`submit TRAIN OPTIONS` and `queue [cancel|front NAME]`: the run queue (netlib/runs/queue.py)."""
    s = sub.add_parser("submit", help="enqueue a training run: it starts when its CPU threads are free")
    _add_train(s)
    s.add_argument("--runs-dir", type=Path, help="default: NETLIB_RUNS_DIR, else ./runs")
    q = sub.add_parser("queue", help="what waits in line (queued runs, +1 epochs) in order; cancel one, or move one to the front")
    q.add_argument("action", nargs="?", default="list", choices=["list", "cancel", "front"])
    q.add_argument("name", nargs="?", help="a run's folder name (cancel, front)")
    q.add_argument("--runs-dir", type=Path, help="default: NETLIB_RUNS_DIR, else ./runs")
    q.add_argument("--json", action="store_true", help="one JSON object per run waiting in line")


def _add_bench(b: argparse.ArgumentParser) -> None:
    b.add_argument("what", nargs="?", default="speed",
                   choices=["speed", "drawn", "accuracy", "grads", "widths", "uploads"])
    b.add_argument("--models", nargs="+", default=list(TITLES), choices=list(TITLES))
    b.add_argument("--batches", type=_positive_int, default=300,
                   help="timed batches per measurement (speed)")
    b.add_argument("--threads", type=_positive_int)
    b.add_argument("--device", default="cpu", choices=request.DEVICES)
    b.add_argument("--recipe", default=DEFAULT_RECIPE, choices=list(RECIPES), help="(accuracy)")
    b.add_argument("--seeds", type=_positive_int, default=3, help="(accuracy, widths: repeats)")
    b.add_argument("--epochs", type=_positive_int, help="(accuracy) override the recipe's epochs")
    b.add_argument("--widths", type=_positive_int, nargs="+", default=[DEFAULT_WIDTH, 64],
                   help="(widths) Inception and Naive at these widths: seconds per epoch")
    b.add_argument("--per-digit", type=_positive_int, default=100, help="drawn digits per class")
    b.add_argument("--checkpoint-dir", type=Path, help="(drawn, uploads) default: checkpoints/ in the project")
    b.add_argument("--category", type=_listed(str),
                   help="(uploads) comma-separated: tight, photo, lowres, strokes (default all)")
    b.add_argument("--limit", type=_positive_int, help="(uploads) tight: the first N test digits (default all 10,000)")
    b.add_argument("--per-category", type=_positive_int, default=1000,
                   help="(uploads) photo, lowres, strokes: uploads of each (default 1,000)")
    b.add_argument("--seed", type=int, default=1234, help="(uploads) the renderers' seed")
    b.add_argument("--data-dir", type=Path)
    b.add_argument("--json", action="store_true")


def _add_runs(r: argparse.ArgumentParser) -> None:
    """`runs ACTION ...`: each action takes --runs-dir (default: NETLIB_RUNS_DIR, else ./runs)."""
    acts = r.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ls = acts.add_parser("list", help="every run: label, network, status, accuracy, tags; disk space")
    ls.add_argument("--json", action="store_true", help="one JSON object per run")
    ls.add_argument("--all", action="store_true", help="archived runs too")
    for action, what in (("label", "TEXT (empty: the folder's name)"), ("note", "TEXT (markdown; empty: none)")):
        a = acts.add_parser(action, help=f"set a run's {action}: {what}")
        a.add_argument("name")
        a.add_argument("text")
    for action, verb in (("tag", "add"), ("untag", "remove")):
        t = acts.add_parser(action, help=f"{verb} tags (1-32 letters, digits, '_', '.', '-')")
        t.add_argument("name")
        t.add_argument("tags", nargs="+", metavar="TAG")
    for action, verb in (("archive", "hide a run from lists (and from prune)"), ("unarchive", "list it again")):
        acts.add_parser(action, help=verb).add_argument("name")
    acts.choices["archive"].add_argument("--undo", action="store_true", help="the same as unarchive")
    d = acts.add_parser("delete", help="delete ended runs' folders (never a live or queued one, nor one with a +1 epoch in line)")
    d.add_argument("names", nargs="+", metavar="NAME")
    d.add_argument("--yes", action="store_true", help="really delete (without it: say what would go)")
    pr = acts.add_parser("prune", help="delete ended, unarchived runs a rule selects (all rules given must)")
    pr.add_argument("--keep-best", type=_positive_int, metavar="N",
                    help="keep the N best of each network (final test accuracy)")
    pr.add_argument("--older-than", type=_positive_float, metavar="DAYS", help="runs that ended over DAYS ago")
    pr.add_argument("--yes", action="store_true", help="really delete (without it: list what would go)")
    for a in acts.choices.values():
        a.add_argument("--runs-dir", type=Path, help="the runs folder (default: $NETLIB_RUNS_DIR, else ./runs)")


def _listed(kind):
    """A comma-separated list of `kind` values (--lr 0.001,0.003); an empty list is refused."""
    def parse(text: str) -> list:
        words = [w.strip() for w in text.split(",")]
        if not text.strip() or any(not w for w in words):
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of values, got {text!r}")
        try:
            return [kind(w) for w in words]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__} values, got {text!r}") from None
    parse.__name__ = f"list of {kind.__name__}"
    return parse


def _lr_range(text: str) -> list:
    low, sep, high = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return [float(low), float(high)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW:HIGH (e.g. 1e-4:1e-1), got {text!r}") from None


def _add_sweep(s: argparse.ArgumentParser) -> None:
    """`sweep ACTION`: each action takes --storage (default $NETLIB_OPTUNA_STORAGE, else a file in the
    runs folder) and --runs-dir."""
    acts = s.add_subparsers(dest="action", required=True, parser_class=_Parser)
    c = acts.add_parser("create", help="define a sweep: the values each train option takes")
    c.add_argument("name")
    c.add_argument("--model", required=True, type=_listed(str), help="network(s): " + ", ".join(TITLES))
    for name in ("width", "blocks", "recipe", "lr", "batch_size", "epochs", "optimizer"):  # the request's
        opt = request.OPTIONS[name]
        c.add_argument(f"--{request.flag_name(name)}", type=_listed(opt.kind),
                       help=f"{opt.help.split(' (')[0]}: values, comma-separated")
    c.add_argument("--augment", type=_listed(str), help="on and/or off, comma-separated")
    c.add_argument("--lr-range", type=_lr_range, metavar="LOW:HIGH", help="learning rate on a log scale (random, tpe)")
    c.add_argument("--seeds", dest="seed", type=_listed(int), help="seeds, comma-separated (default 0)")
    request.add_arguments(c, ("limit", "synthetic", "threads"))  # every trial's, as a run request takes them
    c.add_argument("--device", choices=request.DEVICES, help="default auto: each worker's own")
    c.add_argument("--trials", type=int, help="how many trials (grid: at most its points; default all of them)")
    c.add_argument("--sampler", default=SAMPLERS[0], choices=SAMPLERS)
    c.add_argument("--prune", default=PRUNERS[0], choices=PRUNERS,
                   help="stop trials whose per-epoch test accuracy falls behind")
    c.add_argument("--json", action="store_true")
    w = acts.add_parser("work", help="take the sweep's trials until none is left (start one per machine, or more)")
    w.add_argument("name")
    w.add_argument("--trials", type=_positive_int, help="stop after N trials")
    sh = acts.add_parser("show", help="every trial: parameters, state, accuracy, run folder; the best")
    sh.add_argument("name")
    sh.add_argument("--json", action="store_true", help="one JSON object per trial, then {\"best\": ...}")
    ls = acts.add_parser("list", help="the sweeps in the storage")
    ls.add_argument("--json", action="store_true")
    for a in acts.choices.values():
        a.add_argument("--storage", metavar="URL", help="postgresql://user:password@host/db for many machines "
                       "(default: $NETLIB_OPTUNA_STORAGE, else a journal file in the runs folder)")
        a.add_argument("--runs-dir", type=Path, help="the runs folder (default: $NETLIB_RUNS_DIR, else ./runs)")
