"""Writing a file so that no reader ever sees half of it (torch-free: light commands use it too)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, write, mode: int = 0o644) -> None:
    """write(file) into a temporary file beside path, fsync, then rename over path.

    A reader never sees a half-written file, and a crash or a full disk leaves the old one in place.
    mode: the file's permissions (mkstemp makes 0600; a shared data folder needs others to read).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
