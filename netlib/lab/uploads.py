"""Sharing checkpoints: the files to download for one, and uploaded checkpoints (validated, stored atomically).

An upload is accepted only if netlib.checkpoint loads it (weights_only=True: a file that would run code
is refused, never executed) and its weights fit the network it names. It is validated in a private
temporary folder, then written atomically into the uploads folder under a sanitised name, so a refused
upload leaves nothing behind and a reader never sees half a file. Every checkpoint picker lists the
uploads through netlib.lab.catalogue.checkpoint_choices.
"""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..bounded import read_bounded
from ..atomic import atomic_write
from ..checkpoint import MAX_CHECKPOINT_BYTES, CheckpointError, load_checkpoint, read_checkpoint
from ..runs.files import CHECKPOINT, METRICS, default_runs_dir, safe_run_name
from ..safepath import UnsafePath, is_contained
from ..safepath import inside as safe_join

UPLOADS_ENV = "NETLIB_UPLOADS_DIR"  # where uploaded checkpoints go (default: "uploads" beside the runs dir)
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # as .streamlit/config.toml's maxUploadSize; a checkpoint is < 1 MB
SUFFIX = ".pt"


def uploads_dir() -> Path:
    """$NETLIB_UPLOADS_DIR, else `uploads` beside the runs folder (./uploads for the default ./runs)."""
    if os.environ.get(UPLOADS_ENV):
        return Path(os.environ[UPLOADS_ENV]).expanduser()
    return default_runs_dir().parent / "uploads"


def upload_name(filename: str) -> str:
    """The stored name for an uploaded file: one safe path component ending in .pt."""
    stem = Path(str(filename).replace("\\", "/")).name
    for suffix in (".pt", ".pth", ".ckpt"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return safe_run_name(stem) + SUFFIX


@dataclass(frozen=True)
class Upload:
    path: Path
    model: str  # the network the checkpoint holds
    new: bool = True  # False when the same bytes were already stored under this name

    @property
    def label(self) -> str:
        return f"uploaded {self.path.name}"


def store_upload(data: bytes, filename: str, root: Optional[Path] = None) -> Upload:
    """Validate an uploaded checkpoint and store it under root (default uploads_dir()).

    Raises CheckpointError, with a message for a person, when the file is refused; then nothing is
    written under root. The same name with other contents is stored as NAME-2.pt, NAME-3.pt, ...
    """
    root = Path(root) if root is not None else uploads_dir()
    name = upload_name(filename)
    data = bytes(data)
    if len(data) > MAX_UPLOAD_BYTES:
        raise CheckpointError(f"{name}: {len(data) / 2**20:.1f} MB is over the "
                              f"{MAX_UPLOAD_BYTES // 2**20} MB limit for a checkpoint")
    with tempfile.TemporaryDirectory(prefix="netlib-upload-") as tmp:
        candidate = Path(tmp) / name
        candidate.write_bytes(data)
        _, meta = load_checkpoint(candidate)  # weights_only load + rebuild: raises CheckpointError
    model = meta["model"]
    stem = name[: -len(SUFFIX)]
    for n in range(1, 1000):
        try:
            target = safe_join(root, name if n == 1 else f"{stem}-{n}{SUFFIX}")
        except UnsafePath:  # e.g. a symlink planted under that name pointing out of the folder
            raise CheckpointError(f"{name}: not a usable file name here") from None
        if target.is_file():
            if _same_bytes(target, data):
                return Upload(target, model, new=False)
            continue
        atomic_write(target, lambda f: f.write(data))
        return Upload(target, model)
    raise CheckpointError(f"{name}: too many uploads of this name; rename the file")


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        return read_bounded(path, len(data)) == data
    except OSError:  # FileRefused: a FIFO, a device or a larger file is not the same upload
        return False


@functools.lru_cache(maxsize=256)
def _model_of(path: str, stamp: float, size: int) -> Optional[str]:
    try:
        return read_checkpoint(Path(path))["model"]
    except CheckpointError:
        return None


def list_uploads(root: Optional[Path] = None) -> list[Upload]:
    """The stored uploads, by name; files that are not (or no longer) valid checkpoints are left out."""
    root = Path(root) if root is not None else uploads_dir()
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if p.suffix != SUFFIX or p.name.startswith(".") or not p.is_file() or not is_contained(root, p):
            continue
        try:
            st = p.stat()
        except OSError:
            continue
        model = _model_of(str(p), st.st_mtime, st.st_size)
        if model is not None:
            out.append(Upload(p, model, new=False))
    return out


def remove_upload(path: Path, root: Optional[Path] = None) -> bool:
    """Delete one stored upload; refuses (False) anything outside the uploads folder."""
    root = Path(root) if root is not None else uploads_dir()
    path = Path(path)
    if path.suffix != SUFFIX or path.parent.resolve() != root.resolve() or not is_contained(root, path):
        return False
    path.unlink(missing_ok=True)
    return True


# ---------------------------------------------------------------- downloads
@dataclass(frozen=True)
class SharedFile:
    """One file to offer for download: what it is, where it is, the name the browser saves it as."""

    what: str  # "checkpoint" or "metrics"
    path: Path
    file_name: str
    mime: str

    def read(self) -> bytes:
        """The bytes to send, read bounded when the download is asked for (a file swapped meanwhile for
        a FIFO, a device or a huge file is refused, not streamed)."""
        return read_bounded(self.path, MAX_CHECKPOINT_BYTES)


def shared_files(checkpoint: Path) -> list[SharedFile]:
    """A checkpoint and, where it has one, its per-epoch metrics log.

    A run's runs/NAME/checkpoint.pt is offered as NAME.pt with NAME.metrics.jsonl (its metrics.jsonl);
    a shipped checkpoints/M.pt with checkpoints/M.metrics.jsonl; an upload alone (its metrics are inside).
    """
    checkpoint = Path(checkpoint)
    if checkpoint.name == CHECKPOINT:  # a run directory
        base, metrics = safe_run_name(checkpoint.parent.name), checkpoint.parent / METRICS
    else:
        base = checkpoint.name[: -len(checkpoint.suffix)] if checkpoint.suffix else checkpoint.name
        metrics = checkpoint.with_name(f"{base}.metrics.jsonl")
    out = [SharedFile("checkpoint", checkpoint, f"{base}.pt", "application/octet-stream")]
    if metrics.is_file():
        out.append(SharedFile("metrics", metrics, f"{base}.metrics.jsonl", "application/x-ndjson"))
    return out
