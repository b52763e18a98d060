"""`python -m netlib handwriting list|import|export|delete`: the lab's handwriting sets (netlib/handwriting/sets.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    acts = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    ls = acts.add_parser("list", help="every set: digits per digit 0-9, how many are held out for testing")
    ls.add_argument("--json", action="store_true", help="one JSON object per set")
    im = acts.add_parser("import", help="a set's zip (from export or the Handwriting page) as a new set")
    im.add_argument("zip", type=Path, metavar="ZIP")
    im.add_argument("--name", help="the new set's name (default: the folder name inside the zip)")
    ex = acts.add_parser("export", help="a set as a zip: its PNGs and set.json (labels, held-out split)")
    ex.add_argument("name")
    ex.add_argument("-o", "--output", required=True, type=Path, metavar="OUT.zip",
                    help="the file to write (replaced whole)")
    de = acts.add_parser("delete", help="delete a set and its digits")
    de.add_argument("name")
    for a in (ls, im, ex, de):
        a.add_argument("--dir", type=Path, help="the handwriting sets' folder (default: $NETLIB_HANDWRITING_DIR, "
                       "else handwriting/ beside the runs folder)")


def run(args) -> int:
    from ..handwriting.sets import SetError

    try:
        return {"list": _list, "import": _import, "export": _export, "delete": _delete}[args.action](args)
    except SetError as e:  # a refused set, zip or name: one line, nothing written
        print(f"netlib: error: {e}", file=sys.stderr)
        return 1


def _list(args) -> int:
    from ..handwriting.sets import list_sets

    sets = list_sets(args.dir)
    if args.json:
        for s in sets:
            print(json.dumps({"name": s.name, "examples": s.total, "per_digit": list(s.counts), "held_out": s.held_out,
                              "synthetic": s.synthetic, **({"problem": s.problem} if s.problem else {})}))
        return 0
    print(f"{'set':<24} {'digits':>6} {'held out':>8}  per digit 0-9")
    for s in sets:
        note = " (synthetic, shipped)" if s.synthetic else f"  unreadable: {s.problem}" if s.problem else ""
        print(f"{s.name:<24} {s.total:>6} {s.held_out:>8}  {' '.join(str(c) for c in s.counts)}{note}")
    return 0


def _import(args) -> int:
    from ..bounded import FileRefused, read_bounded
    from ..handwriting.archive import MAX_ZIP_BYTES, import_zip
    from ..handwriting.sets import SetError, list_sets

    try:
        data = read_bounded(args.zip, MAX_ZIP_BYTES)
    except FileRefused as e:
        raise SetError(f"{e}; nothing was imported") from None
    name = import_zip(args.dir, data, args.name)
    info = next(s for s in list_sets(args.dir, example=False) if s.name == name)
    print(f"imported set {name}: {info.total} digits, {info.held_out} held out for testing")
    return 0


def _export(args) -> int:
    from ..atomic import atomic_write
    from ..bounded import FileRefused, not_a_file
    from ..handwriting.archive import export_zip

    kind = not_a_file(args.output)
    if kind:
        raise FileRefused(f"{args.output}: refused as the zip to write, it is {kind}, not a regular file")
    data = export_zip(args.dir, args.name)
    atomic_write(args.output, lambda f: f.write(data))
    print(f"wrote {args.output} ({len(data):,} bytes)")
    return 0


def _delete(args) -> int:
    from ..handwriting.sets import delete_set

    delete_set(args.dir, args.name)
    print(f"deleted set {args.name}")
    return 0
