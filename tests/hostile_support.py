"""Shared by the test_hostile_paths*.py modules: hostile things at a path (a FIFO, a device, a sparse 5 GB
file, a folder, a growing file) and a copy of the fixture run to put them in."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURE_RUN = REPO / "tests" / "fixtures" / "run-2026-12-02-residual"
SHIPPED = REPO / "checkpoints" / "residual.pt"
GIB = 1 << 30


class Hostile:
    """Makes one hostile kind of thing at a path; a growing file keeps growing until stop()."""

    def __init__(self, kind: str, path: Path):
        self.kind, self.path, self._done = kind, Path(path), threading.Event()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_symlink() or self.path.is_file():
            self.path.unlink()
        elif self.path.is_dir():
            shutil.rmtree(self.path)
        if kind == "fifo":
            os.mkfifo(self.path)
        elif kind in ("dev_zero", "symlink_zero"):
            self.path.symlink_to("/dev/zero")
        elif kind == "dev_urandom":
            self.path.symlink_to("/dev/urandom")
        elif kind == "sparse_5gb":
            with open(self.path, "wb") as f:
                f.truncate(5 * GIB)
        elif kind == "folder":
            self.path.mkdir()
        elif kind == "growing":
            self.path.write_bytes(b"")
            threading.Thread(target=self._grow, daemon=True).start()

    def _grow(self) -> None:
        with open(self.path, "ab") as f:
            while not self._done.is_set() and f.tell() < 2 * GIB:
                f.write(b"\0" * (1 << 20))
                f.flush()

    def stop(self) -> None:
        self._done.set()


def _old_run(tmp: Path) -> Path:
    return Path(shutil.copytree(FIXTURE_RUN, tmp / "runs" / FIXTURE_RUN.name))
