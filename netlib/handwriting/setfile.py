"""A handwriting set's files: its set.json (read bounded and checked, written atomically) and its 28x28 PNGs."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from ..atomic import atomic_write
from ..bounded import FileRefused, read_bounded
from .base import SIDE, SetError

SET_FILE = "set.json"
FORMAT = "netlib-handwriting-set"
VERSION = 1
MAX_SET_FILE_BYTES = 256 * 1024  # 1000 examples at about 50 bytes each
MAX_ROWS = 1000
MAX_PNG_BYTES = 64 * 1024  # a 28x28 8-bit PNG is under 1 KB
FILE_RE = re.compile(r"[0-9]{6}\.png")  # the only names a set stores: no path, no link trick, no other kind


def _bad(where: str, why: str) -> SetError:
    tail = "nothing was imported" if where.startswith("the zip") else "the set was left as it is"
    return SetError(f"{where} {why}; {tail}")


def _row(where: str, i: int, r) -> dict:
    if not isinstance(r, dict):
        raise _bad(where, f"example {i} is not an object")
    file, label, held = r.get("file"), r.get("label"), r.get("held_out", False)
    if not isinstance(file, str) or not FILE_RE.fullmatch(file):
        raise _bad(where, f"example {i} names the file {str(file)[:40]!r} (expected like 000001.png)")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise _bad(where, f"example {i} has the label {str(label)[:20]!r}, not a digit 0-9")
    if not isinstance(held, bool):
        raise _bad(where, f"example {i} has held_out {str(held)[:20]!r}, not true or false")
    return {"file": file, "label": label, "held_out": held}


def parse_rows(where: str, data: bytes, with_next: bool = False):
    """The examples a set.json holds (a list of {file, label, held_out}); SetError naming `where`
    ("set mine: set.json", "the zip's set.json") and what is wrong."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _bad(where, "is not valid JSON") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or not isinstance(obj.get("examples"), list):
        raise _bad(where, f"is not a handwriting set (format {FORMAT!r} with a list of examples)")
    raw = obj["examples"]
    if len(raw) > MAX_ROWS:
        raise _bad(where, f"lists {len(raw)} examples (at most {MAX_ROWS})")
    rows = [_row(where, i, r) for i, r in enumerate(raw)]
    if len({r["file"] for r in rows}) != len(rows):
        raise _bad(where, "names one file twice")
    if not with_next:
        return rows
    used = max((int(r["file"][:6]) for r in rows), default=0) + 1
    nxt = obj.get("next_id", used)
    return rows, max(used, nxt if isinstance(nxt, int) and not isinstance(nxt, bool) and nxt < 10**6 else used)


def read_rows(folder: Path, with_next: bool = False):
    """parse_rows of folder/set.json, read bounded (a FIFO, a device or a huge file in its place is refused)."""
    try:
        data = read_bounded(folder / SET_FILE, MAX_SET_FILE_BYTES)
    except FileNotFoundError:
        raise SetError(f"set {folder.name}: no {SET_FILE} (not a handwriting set, or no such set)") from None
    except (FileRefused, OSError) as e:
        raise SetError(f"set {folder.name}: {getattr(e, 'strerror', None) or e}") from None
    return parse_rows(f"set {folder.name}: {SET_FILE}", data, with_next)


def dump_rows(rows: list[dict], next_id: int) -> bytes:
    return (json.dumps({"format": FORMAT, "version": VERSION, "next_id": next_id, "examples": rows},
                       indent=1) + "\n").encode()


def write_rows(folder: Path, rows: list[dict], next_id: int) -> None:
    data = dump_rows(rows, next_id)
    try:
        atomic_write(folder / SET_FILE, lambda f: f.write(data))
    except OSError as e:
        raise SetError(f"cannot write to the set {folder.name}: {e.strerror or e}") from None


def decode_png(data: bytes, where: str) -> np.ndarray:
    """A stored example: a 28x28 grayscale PNG -> uint8 array; anything else SetError naming `where`."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "PNG" or img.size != (SIDE, SIDE):
                raise SetError(f"{where}: not a 28x28 PNG ({img.format}, {img.size[0]}x{img.size[1]})")
            return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    except SetError:
        raise
    except Exception as e:  # Pillow raises many kinds for a broken file: one line names it
        raise SetError(f"{where}: not a readable PNG ({type(e).__name__})") from None


def encode_png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format="PNG")
    return buf.getvalue()
