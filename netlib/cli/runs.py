"""`python -m netlib runs ...`: the lab notebook on the command line (list, label, note, tag, archive, delete, prune)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..bounded import size_text
from ..runs import manage
from ..runs.files import default_runs_dir
from ..runs.meta import MetaError
from ..runs.notebook import Row, notebook_rows, status_text, total_bytes
from ..runs.summary import format_seconds, pct
from ..safepath import UnsafePath
from .parser import UsageError


def run(args) -> int:
    """One `runs` action; bad arguments (a name with '..', a 10,000-character label) exit 2, a refused
    operation (no such run, a live or queued one, unreadable metadata) exits 1 with one line."""
    root = Path(args.runs_dir or default_runs_dir())
    try:
        return ACTIONS[args.action](root, args)
    except (UnsafePath, MetaError, ValueError) as e:
        raise UsageError(str(e)) from None
    except manage.RunRefused as e:
        print(_plain(f"netlib: refused: {e}"), file=sys.stderr)
        return 1


def row_json(r: Row) -> dict:
    # label: what is shown (the folder's name when none was set); label_set: whether a person set one
    return {"name": r.name, "label": r.label, "label_set": bool(r.meta.label), "model": r.model, "network": r.network,
            "recipe": r.recipe, "status": r.status, "queue_position": r.queue_position, "test_acc": r.final_acc,
            "best_test_acc": r.best_acc, "epochs": r.epochs, "seconds": r.seconds,
            "started": r.started.isoformat(timespec="seconds") if r.started else None, "tags": list(r.meta.tags),
            "sweep": r.sweep or None, "notes": r.meta.notes, "archived": r.meta.archived, "meta_problem": r.meta.problem or None,
            "bytes": r.bytes}


def _plain(text) -> str:
    """Text for a terminal: a folder name or a hand-edited config.json may hold escape sequences."""
    return "".join(c if c.isprintable() else "?" for c in str(text))


def cmd_list(root: Path, args) -> int:
    every = notebook_rows(root, include_archived=True)
    rows = [r for r in every if args.all or not r.archived]
    if args.json:
        for r in rows:
            print(json.dumps(row_json(r)))
    else:
        for r in rows:
            extra = " · ".join(p for p in (r.meta.problem, " ".join(f"#{t}" for t in r.meta.tags), r.sweep,
                                           "archived" if r.archived else "") if p)
            label = f"  {r.meta.label!r}" if r.meta.label else ""
            print(_plain(f"{r.name}{label}") + "\n    " + _plain(
                f"{r.network} · {r.recipe} · {status_text(r)} · test acc {pct(r.final_acc)} "
                f"(best {pct(r.best_acc)}) · {r.epochs} epoch{'s' if r.epochs != 1 else ''} · "
                f"{format_seconds(r.seconds)}")
                + (f"\n    {_plain(extra)}" if extra else ""))
    hidden = len(every) - len(rows)
    footer = (f"{len(rows)} run{'s' if len(rows) != 1 else ''}"
              + (f" ({hidden} archived not shown: --all)" if hidden else "")
              + f"; the runs folder {root} takes {size_text(total_bytes(root, every))} on disk")
    print(_plain(footer), file=sys.stderr if args.json else sys.stdout)  # stdout stays one JSON object a line
    return 0


def cmd_label(root: Path, args) -> int:
    meta = manage.set_label(root, args.name, args.text)
    print(_plain(f"{args.name}: label {meta.label!r}" if meta.label else f"{args.name}: label cleared"))
    return 0


def cmd_note(root: Path, args) -> int:
    meta = manage.set_notes(root, args.name, args.text)
    said = f"notes set ({len(meta.notes):,} characters)" if meta.notes else "notes cleared"
    print(_plain(f"{args.name}: {said}"))
    return 0


def cmd_tag(root: Path, args) -> int:
    change = manage.add_tags if args.action == "tag" else manage.remove_tags
    meta = change(root, args.name, args.tags)
    print(_plain(f"{args.name}: tags {' '.join(meta.tags) or '(none)'}"))
    return 0


def cmd_archive(root: Path, args) -> int:
    on = args.action == "archive" and not getattr(args, "undo", False)
    manage.set_archived(root, args.name, on)
    print(_plain(f"{args.name}: {'archived (hidden from lists and prune; --all shows it)' if on else 'not archived'}"))
    return 0


def cmd_delete(root: Path, args) -> int:
    """Every name is checked before anything goes: one refused run and nothing is deleted. A name that
    is a link in the runs folder removes that link only (links first: a run's removal takes its links)."""
    paths = sorted((manage.run_dir(root, n, link_ok=True) for n in args.names), key=lambda p: not p.is_symlink())
    refused = [why for why in map(manage.why_kept, paths) if why]
    if refused:
        raise manage.RunRefused("; ".join(refused) + ". Nothing was deleted")
    if not args.yes:
        for p in paths:
            print(_plain(f"would remove the link {p} (to {manage.link_target(p)}, which stays)" if p.is_symlink()
                         else f"would delete {p}"))
        print("nothing deleted: add --yes to delete", file=sys.stderr)
        return 1
    links = sum(p.is_symlink() for p in paths)
    freed = sum(manage.delete(root, p.name) for p in paths)
    runs = len(paths) - links
    said = [f"deleted {runs} run{'s' if runs != 1 else ''}" if runs else "",
            f"removed {links} link{'s' if links != 1 else ''} (what {'they lead' if links != 1 else 'it leads'} to stays)"
            if links else ""]
    print(f"{' and '.join(w for w in said if w)}, {size_text(freed)} freed")
    return 0


def cmd_prune(root: Path, args) -> int:
    plan = manage.prune_plan(root, args.keep_best, args.older_than)
    if not args.yes:
        for d in plan:
            print(_plain(f"would delete {d.row.name}: {d.reason}"))
        print(f"{len(plan)} run{'s' if len(plan) != 1 else ''} would be deleted "
              f"({size_text(sum(d.row.bytes for d in plan))}); add --yes to delete them")
        return 0
    deleted, freed, refused = manage.prune(root, plan)
    for name in deleted:
        print(_plain(f"deleted {name}"))
    for why in refused:
        print(_plain(f"netlib: kept: {why}"), file=sys.stderr)
    print(f"deleted {len(deleted)} run{'s' if len(deleted) != 1 else ''}, {size_text(freed)} freed")
    return 1 if refused else 0


ACTIONS = {"list": cmd_list, "label": cmd_label, "note": cmd_note, "tag": cmd_tag, "untag": cmd_tag,
           "archive": cmd_archive, "unarchive": cmd_archive, "delete": cmd_delete, "prune": cmd_prune}
