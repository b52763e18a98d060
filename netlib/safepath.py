"""Paths the UI builds from names stay inside their folder: no '..', no absolute names, no symlink escapes.

Two questions, two functions:
- inside(root, name): a name a person (or a widget) chose, e.g. a run name or an uploaded file's name.
  It must be a relative path without '..'; the result root/name must also resolve (symlinks followed)
  to a place inside root.
- contained(root, path): a path the code built earlier (root / name, from a listing or session
  state). It must resolve, symlinks followed, to a place inside root.
Both raise UnsafePath (a ValueError) with a message fit for a person; is_contained() is the boolean
form for filtering listings. Both return the path as given (not resolved), so keys built from it stay
stable.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Union

PathLike = Union[str, os.PathLike]


class UnsafePath(ValueError):
    """A name or path that would reach outside the folder it must stay in."""


def _resolved(path: Path) -> Path:
    # strict=False: a path that does not exist yet (a run about to be created) still resolves; every
    # symlink along the existing part is followed.
    return Path(os.path.realpath(path))


def _within(real: Path, real_root: Path) -> bool:
    return real == real_root or real_root in real.parents


def inside(root: PathLike, name: PathLike) -> Path:
    """root / name, for a name chosen in the UI; UnsafePath if it could reach outside root."""
    text = os.fspath(name)
    if not isinstance(text, str):  # bytes paths
        raise UnsafePath("a name must be text")
    if not text.strip():
        raise UnsafePath("an empty name is not allowed")
    if "\x00" in text:
        raise UnsafePath(f"{text!r}: a name cannot contain a NUL character")
    # Refuse both flavours of absolute path and '..' whatever the separator: "C:\\x", "\\\\host\\x",
    # "/etc", "a/../../b", "a\\..\\b".
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or text.startswith(("/", "\\", "~")):
        raise UnsafePath(f"{text!r}: an absolute path is not allowed here, only a name inside {root}")
    if ".." in posix.parts or ".." in windows.parts:
        raise UnsafePath(f"{text!r}: '..' is not allowed in a name")
    return contained(root, Path(root) / text)


def contained(root: PathLike, path: PathLike) -> Path:
    """path itself, if it resolves (symlinks followed) to a place inside root; else UnsafePath."""
    path = Path(path)
    if "\x00" in str(path):
        raise UnsafePath(f"{str(path)!r}: a path cannot contain a NUL character")
    real_root, real = _resolved(Path(root)), _resolved(path)  # relative ones: from the cwd
    if not _within(real, real_root):
        raise UnsafePath(f"{path}: outside {root} (after following links it is {real}); refused")
    return path


def is_contained(root: PathLike, path: PathLike) -> bool:
    try:
        contained(root, path)
    except (UnsafePath, OSError, RuntimeError):  # RuntimeError: a symlink loop on older Pythons
        return False
    return True
