"""Handwriting sets: a person's own digits, kept in the lab as 28x28 PNGs plus a set.json of labels and split.

A set lives in <handwriting dir>/<name>/ (handwriting_dir(): $NETLIB_HANDWRITING_DIR, else `handwriting`
beside the runs folder). set.json lists the examples in the order they were added: file, label and
whether it is held out for testing (netlib/handwriting/split.py decides that once, when it is added).
Every image is stored already preprocessed the Draw page's way (white ink on black, 28x28 uint8), so
training and testing read exactly what the person saw. The shipped example set (EXAMPLE_SET) is not on
disk: it is drawn by netlib/handwriting/writers.py at first use and cannot be changed.
Every refusal is a SetError (a ValueError) with one line fit for a person; a refused change writes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..atomic import atomic_write
from ..bounded import FileRefused, check_folder, read_bounded
from ..runs.files import default_runs_dir
from ..safepath import UnsafePath, inside
from . import setfile
from .setfile import MAX_PNG_BYTES, decode_png, encode_png  # noqa: F401  re-exported
from .base import EXAMPLE_SET, SIDE, HandwritingSet, SetError  # noqa: F401  re-exported: the API
from .split import hold_new, refill

HANDWRITING_ENV = "NETLIB_HANDWRITING_DIR"
MAX_EXAMPLES = 1000  # per set: 20 per digit from the guided collection is 200; uploads add a few
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,59}")


@dataclass(frozen=True)
class SetInfo:
    """One row of list_sets: a set's name, examples per digit, how many are held out; problem: why it
    cannot be read (then the counts are zeros)."""

    name: str
    counts: tuple[int, ...]
    held_out: int
    synthetic: bool = False
    problem: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts)


def handwriting_dir(runs_dir: Optional[Path] = None) -> Path:
    """$NETLIB_HANDWRITING_DIR, else `handwriting` beside the runs folder (runs_dir, else the default one),
    made absolute: a queued run's process starts in another folder and finds the sets beside its own."""
    if os.environ.get(HANDWRITING_ENV):
        return Path(os.environ[HANDWRITING_ENV]).expanduser().absolute()
    return (Path(runs_dir if runs_dir is not None else default_runs_dir()).parent / "handwriting").absolute()


def _root(root: Optional[Path]) -> Path:
    return Path(root) if root is not None else handwriting_dir()


def safe_set_name(text: str) -> str:
    """A valid set name made from what a person typed ("my digits!" -> "my-digits"); "" if nothing is left."""
    name = re.sub(r"(?:[^A-Za-z0-9_.-]|\.{2,})+", "-", str(text)).strip(".-_")[:60]
    return name if NAME_RE.fullmatch(name or "-") else ""


def check_name(name: str) -> str:
    """name if it is a valid set name (letters, digits, '-', '_', '.'; at most 60); else SetError."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise SetError(f"{str(name)[:80]!r} is not a set name: use letters, digits, '-', '_' and '.' "
                       "(at most 60, starting with a letter or digit)")
    return name


def set_dir(root: Optional[Path], name: str) -> Path:
    """The folder of set `name` under root: inside root even after following links, else SetError."""
    root = _root(root)
    try:
        check_folder(root, "the handwriting folder")
        return inside(root, check_name(name))
    except (UnsafePath, FileRefused) as e:
        raise SetError(str(e)) from None


@contextlib.contextmanager
def _locked(folder: Path):
    """One writer at a time per set (two browser tabs adding at once must not lose an example)."""
    try:
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise SetError(f"cannot write to the set {folder.name}: {e.strerror or e}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def list_sets(root: Optional[Path] = None, example: bool = True) -> list[SetInfo]:
    """The shipped example set (if example) then every set in root, by name; a set that cannot be read
    is listed with its problem, never dropped silently and never a traceback."""
    root = _root(root)
    out = []
    if example:
        from .writers import example_counts  # counted, not drawn: a listing stays light

        counts, held = example_counts()
        out.append(SetInfo(EXAMPLE_SET, tuple(counts), held, synthetic=True))
    if not root.is_dir():
        return out
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not NAME_RE.fullmatch(entry.name) or entry.name == EXAMPLE_SET:
            continue
        try:
            rows = setfile.read_rows(set_dir(root, entry.name))
        except SetError as e:
            out.append(SetInfo(entry.name, (0,) * 10, 0, problem=str(e)))
            continue
        counts = np.bincount([r["label"] for r in rows], minlength=10)[:10]
        out.append(SetInfo(entry.name, tuple(int(c) for c in counts), sum(r["held_out"] for r in rows)))
    return out


def _decode(folder: Path, file: str) -> np.ndarray:
    try:
        data = read_bounded(inside(folder, file), MAX_PNG_BYTES)
    except (UnsafePath, FileRefused, OSError) as e:
        raise SetError(f"set {folder.name}: {file}: {getattr(e, 'strerror', None) or e}") from None
    return decode_png(data, f"set {folder.name}: {file}")


def load_set(root: Optional[Path], name: str) -> HandwritingSet:
    """The set `name` (EXAMPLE_SET: the shipped synthetic one), images decoded; SetError if missing or
    if any of its files is hostile (a link outside, a FIFO, a huge or broken PNG)."""
    if name == EXAMPLE_SET:
        from .writers import example_set
        return example_set()
    folder = set_dir(root, name)
    if not folder.exists() and not folder.is_symlink():
        raise SetError(f"no set named {name} (python -m netlib handwriting list shows the sets)")
    rows = setfile.read_rows(folder)
    images = np.stack([_decode(folder, r["file"]) for r in rows]) if rows else np.zeros((0, SIDE, SIDE), np.uint8)
    return HandwritingSet(name, images, np.array([r["label"] for r in rows], dtype=np.int64),
                          np.array([r["held_out"] for r in rows], dtype=bool), files=[r["file"] for r in rows])


def create_set(root: Optional[Path], name: str) -> Path:
    """A new empty set; SetError if the name is taken or invalid, or the folder cannot be written."""
    if name == EXAMPLE_SET:
        raise SetError(f"{name} is the shipped example set's name: choose another")
    folder = set_dir(root, name)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
    except FileExistsError:
        raise SetError(f"a set named {name} already exists") from None
    except OSError as e:
        raise SetError(f"cannot create the set {name}: {e.strerror or e}") from None
    setfile.write_rows(folder, [], 1)
    return folder


def _writable(root: Optional[Path], name: str) -> Path:
    if name == EXAMPLE_SET:
        raise SetError(f"{name} is the shipped example set: it cannot be changed (create your own set)")
    folder = set_dir(root, name)
    if not folder.is_dir():
        raise SetError(f"no set named {name}")
    return folder


def check_label(label) -> int:
    """label as an int 0-9, else SetError."""
    if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
        raise SetError(f"a label is a digit 0-9, not {str(label)[:20]!r}")
    return int(label)


def check_image(image) -> np.ndarray:
    """image as a 28x28 uint8 array (white ink on black, as the Draw page's preprocessing makes it)."""
    a = np.asarray(image)
    if a.shape != (SIDE, SIDE) or a.dtype != np.uint8:
        raise SetError(f"an example is a 28x28 uint8 image (the Draw page's preview), not {a.dtype} {a.shape}")
    if not a.any():
        raise SetError("an example with no ink cannot be kept: draw a digit")
    return a


def add_example(root: Optional[Path], name: str, image28, label) -> int:
    """Add one preprocessed 28x28 example; returns its index. Whether it is held out is decided now and kept."""
    return _add(root, name, image28, label)[0]


def add_example_file(root: Optional[Path], name: str, image28, label) -> str:
    """add_example, returning the file the example is stored as: unlike its index, that never moves."""
    return _add(root, name, image28, label)[1]


def _add(root: Optional[Path], name: str, image28, label) -> tuple[int, str]:
    label, image = check_label(label), check_image(image28)
    folder = _writable(root, name)
    with _locked(folder):
        rows, next_id = setfile.read_rows(folder, with_next=True)
        if len(rows) >= MAX_EXAMPLES:
            raise SetError(f"set {name} is full ({MAX_EXAMPLES} examples): start another set")
        file = f"{next_id:06d}.png"
        held = hold_new([r["label"] for r in rows], [r["held_out"] for r in rows], label)
        data = encode_png(image)
        try:
            atomic_write(folder / file, lambda f: f.write(data))
        except OSError as e:
            raise SetError(f"cannot write to the set {name}: {e.strerror or e}") from None
        setfile.write_rows(folder, rows + [{"file": file, "label": label, "held_out": held}], next_id + 1)
        return len(rows), file


def add_upload(root: Optional[Path], name: str, image, label) -> int:
    """Add a raw image (PIL or array: a photo, a scan, a drawing) read through the Draw page's
    preprocessing; SetError with the preprocessing's hint if it holds no digit or a scribble."""
    from ..analysis.preprocess import prepare  # torch: only when a raw image is given
    check_label(label)
    p = prepare(image)
    if p.blank or p.scribble:
        raise SetError(p.hint or "no digit found in this image")
    return add_example(root, name, p.preview, label)


def remove_example(root: Optional[Path], name: str, index: Optional[int] = None, file: Optional[str] = None) -> bool:
    """Remove the example at index (load_set's order) or stored as `file`, found under the lock (another tab's
    removal moves an index, never a file); False if that file is gone. The others keep their split."""
    folder = _writable(root, name)
    with _locked(folder):
        rows, next_id = setfile.read_rows(folder, with_next=True)
        if file is not None:
            index = next((i for i, r in enumerate(rows) if r["file"] == file), None)
            if index is None:
                return False
        elif isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(rows):
            raise SetError(f"set {name} has no example {index} (it holds {len(rows)})")
        gone = rows.pop(int(index))
        held = refill([r["label"] for r in rows], [r["held_out"] for r in rows], gone["label"])
        rows = [dict(r, held_out=h) for r, h in zip(rows, held)]
        setfile.write_rows(folder, rows, next_id)
        with contextlib.suppress(OSError):
            (folder / gone["file"]).unlink()
    return True


def rename_set(root: Optional[Path], old: str, new: str) -> Path:
    """Rename a set; SetError if new is taken or invalid."""
    folder = _writable(root, old)
    if new == EXAMPLE_SET:
        raise SetError(f"{new} is the shipped example set's name: choose another")
    target = set_dir(root, new)
    if target.exists():
        raise SetError(f"a set named {new} already exists")
    try:
        os.rename(folder, target)
    except OSError as e:
        raise SetError(f"cannot rename the set {old}: {e.strerror or e}") from None
    return target


def delete_set(root: Optional[Path], name: str) -> None:
    """Delete a set and its files (a link in its place is removed, never followed)."""
    folder = _writable(root, name)
    try:
        if folder.is_symlink():
            folder.unlink()
        else:
            shutil.rmtree(folder)
    except OSError as e:
        raise SetError(f"cannot delete the set {name}: {e.strerror or e}") from None


def write_set(root: Optional[Path], name: str, images: np.ndarray, labels: Sequence[int],
              held_out: Sequence[bool]) -> Path:
    """A new set holding these examples as given (import, copying the example set); nothing is left
    behind if it fails."""
    folder = create_set(root, name)
    try:
        rows = []
        for i, (image, label, held) in enumerate(zip(images, labels, held_out)):
            file = f"{i + 1:06d}.png"
            data = encode_png(check_image(image))
            atomic_write(folder / file, lambda f, d=data: f.write(d))
            rows.append({"file": file, "label": check_label(label), "held_out": bool(held)})
        setfile.write_rows(folder, rows, len(rows) + 1)
    except BaseException as e:
        shutil.rmtree(folder, ignore_errors=True)
        if isinstance(e, OSError):
            raise SetError(f"cannot write the set {name}: {e.strerror or e}") from None
        raise
    return folder
