"""The Handwriting page's access to the lab's handwriting sets (netlib.handwriting.sets), examples by file name."""

from __future__ import annotations

import numpy as np

from netlib.handwriting import archive, sets
from netlib.handwriting.sets import EXAMPLE_SET, SetError

__all__ = ["EXAMPLE_SET", "SetError", "add", "ensure_set", "images", "remove"]


def listed() -> list:
    """Every set (the shipped example first), as sets.list_sets gives them."""
    return sets.list_sets()


def ensure_set(typed: str, existing: list[str]) -> str:
    """The set to collect into: one of yours by that name, else a new set named from what was typed."""
    typed = (typed or "").strip()
    if typed in existing and typed != EXAMPLE_SET:
        return typed
    name = sets.safe_set_name(typed)
    if not name:
        raise SetError("give the set a name: letters, digits, '-', '_' or '.'")
    if name not in existing:
        sets.create_set(None, name)
    return name


def add(name: str, image28: np.ndarray, label: int) -> str:
    """Store one 28 x 28 example in set `name`; its file name (what remove takes: an index moves when an
    earlier example is removed, a file name does not)."""
    return sets.add_example_file(None, name, image28, label)


def remove(name: str, file: str) -> None:
    """Remove the example stored as `file` (nothing if it is gone already)."""
    sets.remove_example(None, name, file=file)


def load(name: str):
    return sets.load_set(None, name)


def images(name: str, files: list[str]) -> dict:
    """{file: (its 28 x 28 uint8 image, held out?)} for those of `files` still in the set."""
    hs = sets.load_set(None, name)
    wanted = set(files)
    return {f: (img, bool(held)) for f, img, held in zip(hs.files, hs.images, hs.held_out) if f in wanted}


def rename(old: str, new: str) -> str:
    sets.rename_set(None, old, new.strip())
    return new.strip()


def delete(name: str) -> bool:
    sets.delete_set(None, name)
    return True


def export_zip(name: str) -> bytes:
    return archive.export_zip(None, name)


def import_zip(data: bytes) -> str:
    """Add the set in a zip; its name."""
    made = archive.import_zip(None, data)
    return getattr(made, "name", made)
