"""A handwriting set as a zip: exported for download, imported from foreign bytes (bounded, checked, all or nothing)."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Optional

import numpy as np

from .base import EXAMPLE_SET, SetError
from .setfile import (FILE_RE, MAX_PNG_BYTES, MAX_ROWS, MAX_SET_FILE_BYTES, SET_FILE, decode_png, dump_rows, encode_png,
                      parse_rows)
from .sets import check_name, load_set, safe_set_name, write_set

MAX_ZIP_BYTES = 4 * 1024 * 1024  # 1000 examples of under 1 KB each, with room to spare
MAX_ENTRIES = MAX_ROWS + 2  # the PNGs, set.json and the folder itself
STAMP = (2020, 1, 1, 0, 0, 0)  # every entry's date: the same set gives the same bytes


def export_zip(root: Optional[Path], name: str) -> bytes:
    """The set as a zip: <name>/set.json and <name>/NNNNNN.png, the same bytes for the same set."""
    s = load_set(root, name)
    files = s.files or [f"{i + 1:06d}.png" for i in range(len(s))]
    rows = [{"file": f, "label": int(y), "held_out": bool(h)} for f, y, h in zip(files, s.labels, s.held_out)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo(f"{name}/{SET_FILE}", STAMP), dump_rows(rows, len(rows) + 1))
        for f, image in zip(files, s.images):
            z.writestr(zipfile.ZipInfo(f"{name}/{f}", STAMP), encode_png(image))
    return buf.getvalue()


def _entry(info: zipfile.ZipInfo, top: set) -> Optional[str]:
    """The file name an entry stands for (set.json or NNNNNN.png), None for the folder; SetError for anything else."""
    name = info.filename
    parts = PurePosixPath(name).parts
    if "\\" in name or name.startswith("/") or ".." in parts or ":" in name or not parts:
        raise SetError(f"the zip holds {name[:80]!r}: a path outside its folder; nothing was imported")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SetError(f"the zip holds a link, {name[:80]!r}; nothing was imported")
    if info.flag_bits & 0x1:
        raise SetError(f"the zip holds an encrypted file, {name[:80]!r}; nothing was imported")
    if len(parts) > 2:
        raise SetError(f"the zip holds {name[:80]!r}: a set's zip has one folder, no subfolders; nothing was imported")
    if len(parts) == 2 or info.is_dir():
        top.add(parts[0])
    if info.is_dir():
        return None if len(parts) == 1 else _refuse_unexpected(name)
    base = parts[-1]
    if base != SET_FILE and not FILE_RE.fullmatch(base):
        _refuse_unexpected(name)
    limit = MAX_SET_FILE_BYTES if base == SET_FILE else MAX_PNG_BYTES
    if info.file_size > limit:
        raise SetError(f"the zip's {name[:80]!r} is {info.file_size:,} bytes (at most {limit:,}); nothing was imported")
    return base


def _refuse_unexpected(name: str):
    raise SetError(f"the zip holds {name[:80]!r}, which is not part of a handwriting set "
                   f"(only {SET_FILE} and NNNNNN.png); nothing was imported")


def _read(z: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with z.open(info) as f:
        data = f.read(limit + 1)  # never trust the header's size: a zip bomb stops here
    if len(data) > limit:
        raise SetError(f"the zip's {info.filename[:80]!r} is larger than {limit:,} bytes; nothing was imported")
    return data


def _image(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    data = _read(z, info, MAX_PNG_BYTES)
    try:
        return decode_png(data, f"the zip's {info.filename[:80]!r}")
    except SetError as e:
        raise SetError(f"{e}; nothing was imported") from None


def read_zip(data: bytes):
    """(folder name in the zip or "", rows, images) of a set's zip; SetError (one line) for anything else."""
    if not isinstance(data, (bytes, bytearray)) or len(data) > MAX_ZIP_BYTES:
        raise SetError(f"a set's zip is at most {MAX_ZIP_BYTES // 2**20} MiB; nothing was imported")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise SetError("this is not a zip file (export a set to get one); nothing was imported") from None
    if len(infos) > MAX_ENTRIES:
        raise SetError(f"the zip holds {len(infos):,} entries (a set has at most {MAX_ROWS}); nothing was imported")
    top: set = set()
    named = {}
    for info in infos:
        base = _entry(info, top)
        if base is not None:
            if base in named:
                raise SetError(f"the zip holds {base} twice; nothing was imported")
            named[base] = info
    if len(top) > 1 or (top and any(len(PurePosixPath(i.filename).parts) == 1 and not i.is_dir() for i in infos)):
        raise SetError("the zip holds more than one folder: import one set at a time; nothing was imported")
    if SET_FILE not in named:
        raise SetError(f"the zip has no {SET_FILE}: it is not a handwriting set's zip; nothing was imported")
    try:
        rows = parse_rows(f"the zip's {SET_FILE}", _read(z, named[SET_FILE], MAX_SET_FILE_BYTES))
        missing = [r["file"] for r in rows if r["file"] not in named]
        if missing:
            raise SetError(f"the zip's {SET_FILE} lists {missing[0]}, which the zip lacks; nothing was imported")
        images = [_image(z, named[r["file"]]) for r in rows]
    except SetError:
        raise
    except Exception as e:  # each decompressor has its own errors (zlib.error, LZMAError, ...): all mean damaged
        raise SetError(f"the zip is damaged ({type(e).__name__}); nothing was imported") from None
    return (next(iter(top)) if top else ""), rows, images


def import_zip(root: Optional[Path], data: bytes, name: Optional[str] = None) -> str:
    """Import a set's zip as a new set named `name` (default: the zip's folder name); returns the name.
    Bounded (size, entries, each file), hostile entries refused, and nothing is written unless all is well."""
    folder, rows, images = read_zip(data)
    name = name if name is not None else (safe_set_name(folder) or "imported")
    check_name(name)
    if name == EXAMPLE_SET:
        raise SetError(f"{name} is the shipped example set's name: import under another name")
    stack = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    write_set(root, name, stack, [r["label"] for r in rows], [r["held_out"] for r in rows])
    return name
