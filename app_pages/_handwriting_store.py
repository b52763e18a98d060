"""The Handwriting page's access to the lab's handwriting sets (netlib.handwriting.sets), examples by file name."""

from __future__ import annotations

from netlib.handwriting import sets
from netlib.handwriting.sets import EXAMPLE_SET, SetError

__all__ = ["SetError", "delete", "ensure_set", "images"]


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


def images(name: str, files: list[str]) -> dict:
    """{file: (its 28 x 28 uint8 image, held out?)} for those of `files` still in the set."""
    hs = sets.load_set(None, name)
    wanted = set(files)
    return {f: (img, bool(held)) for f, img, held in zip(hs.files, hs.images, hs.held_out) if f in wanted}


def delete(name: str) -> bool:
    sets.delete_set(None, name)
    return True
