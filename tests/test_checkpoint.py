"""Tests for netlib.checkpoint: round trip, safe loading, clear refusals, atomic writes."""

from __future__ import annotations

import pickle
import random
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from netlib.checkpoint import (CheckpointError, FORMAT, VERSION, atomic_write, load_checkpoint,
                               read_checkpoint, save_checkpoint)
from netlib.models import MODELS, build_model
from support import WritesMarker

UNSAFE_ADVICE = "weights_only` set to `False"  # torch's hint to disable the safety check


def _save(path: Path, model, name: str) -> Path:
    save_checkpoint(path, model, name, {}, {"lr": 0.01}, {"test_acc": 0.5, "epoch": 1},
                    extra={"recipe_name": "seed"})
    return path


def _payload(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _refusal(path: Path, **kw) -> str:
    """The CheckpointError message for path; fails the test if it loads or raises anything else."""
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **kw)
    msg = str(info.value)
    assert msg.startswith(path.name), msg  # says which file
    assert "\n" not in msg and len(msg) < 400, msg  # one line for a person
    assert UNSAFE_ADVICE not in msg, msg  # never suggests turning the safe load off
    assert "\x1b" not in msg, msg  # no terminal escape codes in a message the UI shows
    return msg


VIAS = ["exec", "shell"]


# ---------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", list(MODELS))
def test_round_trip_gives_identical_logits(name, tmp_path):
    torch.manual_seed(0)
    model = build_model(name).eval()
    path = _save(tmp_path / "ck.pt", model, name)
    loaded, meta = load_checkpoint(path)
    x = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert not loaded.training
    assert meta["model"] == name


def test_round_trip_of_a_channels_last_model(tmp_path):
    torch.manual_seed(0)
    model = build_model("residual").to(memory_format=torch.channels_last).eval()
    path = _save(tmp_path / "ck.pt", model, "residual")
    assert all(t.is_contiguous() for t in _payload(path)["state_dict"].values())
    loaded, _ = load_checkpoint(path)
    x = torch.randn(4, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=1e-5, rtol=1e-5)


def test_round_trip_rebuilds_model_kwargs(tmp_path):
    torch.manual_seed(0)
    model = build_model("residual", skip=False).eval()
    save_checkpoint(tmp_path / "ck.pt", model, "residual", {"skip": False}, {}, {})
    loaded, meta = load_checkpoint(tmp_path / "ck.pt")
    assert meta["model_kwargs"] == {"skip": False}
    assert loaded.rblock1.skip is False
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_checkpoint_loads_with_torch_weights_only(tiny_checkpoint):
    payload = _payload(tiny_checkpoint)
    assert (payload["format"], payload["version"], payload["model"]) == (FORMAT, VERSION, "residual")
    assert set(payload["state_dict"]) == set(build_model("residual").state_dict())


def test_checkpoint_metadata_comes_back_without_weights(tiny_checkpoint):
    _, meta = load_checkpoint(tiny_checkpoint)
    assert "state_dict" not in meta
    assert meta["recipe"]["optimizer"] == "sgd"
    assert 0.0 <= meta["metrics"]["test_acc"] <= 1.0
    assert meta["recipe_name"] == "fast"


def test_expect_model_accepts_the_right_network(tiny_checkpoint):
    model, _ = load_checkpoint(tiny_checkpoint, expect_model="residual")
    assert type(model).__name__ == "ResidualNet"


# ---------------------------------------------------------------- refusals
def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="no such"):
        load_checkpoint(tmp_path / "nope.pt")


def test_truncated_file_is_refused(tiny_checkpoint, tmp_path):
    path = tmp_path / "truncated.pt"
    data = tiny_checkpoint.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "readable" in _refusal(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    assert "readable" in _refusal(path)


@pytest.mark.parametrize("seed", range(3))
def test_random_bytes_are_refused_as_unreadable(seed, tmp_path):
    path = tmp_path / "random.pt"
    path.write_bytes(random.Random(seed).randbytes(4096))
    msg = _refusal(path)
    assert "run code" not in msg  # noise is not a code-carrying pickle: the message must not claim so


def test_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello world\n")
    _refusal(path)


def test_a_zip_that_is_not_a_torch_file_is_refused(tmp_path):
    path = tmp_path / "archive.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "not weights")
    _refusal(path)


def test_checkpoint_of_the_other_network_is_refused(tiny_checkpoint):
    msg = _refusal(tiny_checkpoint, expect_model="inception")
    assert "residual" in msg and "inception" in msg


def test_state_dict_with_wrong_shapes_is_refused(tiny_checkpoint, tmp_path):
    payload = _payload(tiny_checkpoint)
    payload["state_dict"]["fc.weight"] = torch.zeros(10, 99)
    torch.save(payload, tmp_path / "shapes.pt")
    assert "do not fit" in _refusal(tmp_path / "shapes.pt")


def test_state_dict_with_missing_weights_is_refused(tiny_checkpoint, tmp_path):
    payload = _payload(tiny_checkpoint)
    del payload["state_dict"]["conv1.weight"]
    torch.save(payload, tmp_path / "missing.pt")
    assert "do not fit" in _refusal(tmp_path / "missing.pt")


def test_newer_format_version_is_refused(tiny_checkpoint, tmp_path):
    payload = _payload(tiny_checkpoint)
    payload["version"] = VERSION + 1
    torch.save(payload, tmp_path / "newer.pt")
    assert "newer" in _refusal(tmp_path / "newer.pt")


def test_unknown_network_name_is_refused(tiny_checkpoint, tmp_path):
    payload = _payload(tiny_checkpoint)
    payload["model"] = "vgg"
    torch.save(payload, tmp_path / "vgg.pt")
    assert "vgg" in _refusal(tmp_path / "vgg.pt")


@pytest.mark.parametrize("obj", [{"weights": torch.zeros(3)}, torch.zeros(3), [1, 2, 3]],
                         ids=["dict", "tensor", "list"])
def test_a_torch_file_that_is_not_netlib_is_refused(obj, tmp_path):
    torch.save(obj, tmp_path / "other.pt")
    assert "not a netlib checkpoint" in _refusal(tmp_path / "other.pt")


@pytest.mark.parametrize("via", VIAS)
def test_the_code_running_payload_is_live(via, tmp_path):
    # Control for the tests below: unpickled unsafely, the payload really does run code.
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(WritesMarker(marker, via)))
    assert marker.read_text() == "code ran\n"


@pytest.mark.parametrize("via", VIAS)
def test_torch_file_that_would_run_code_is_refused_without_running_it(via, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "version": VERSION, "model": "residual", "x": WritesMarker(marker, via)}, path)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("via", VIAS)
def test_plain_pickle_that_would_run_code_is_refused_without_running_it(via, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(WritesMarker(marker, via), protocol=2))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("via", VIAS)
def test_code_running_file_gets_a_clear_refusal(via, tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"x": WritesMarker(tmp_path / "marker", via)}, path)
    msg = _refusal(path)
    assert "refused" in msg


def test_read_checkpoint_never_unpickles_arbitrary_objects(tiny_checkpoint, tmp_path):
    # A valid checkpoint with one extra non-tensor object in it is refused as a whole.
    marker = tmp_path / "marker"
    payload = _payload(tiny_checkpoint)
    payload["metrics"] = {"obj": WritesMarker(marker)}
    torch.save(payload, tmp_path / "sneaky.pt")
    with pytest.raises(CheckpointError):
        read_checkpoint(tmp_path / "sneaky.pt")
    assert not marker.exists()


# ---------------------------------------------------------------- atomic writes
def test_atomic_write_writes_the_file_and_leaves_no_temp(tmp_path):
    atomic_write(tmp_path / "out.bin", lambda f: f.write(b"complete"))
    assert (tmp_path / "out.bin").read_bytes() == b"complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"old and good")

    def writer(f):
        f.write(b"half of the new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, writer)
    assert path.read_bytes() == b"old and good"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_atomic_write_survives_keyboard_interrupt_midway(tmp_path):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"old")

    def writer(f):
        f.write(b"new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, writer)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_save_checkpoint_failure_keeps_the_previous_checkpoint(tiny_checkpoint, tmp_path):
    path = tmp_path / "ck.pt"
    shutil.copyfile(tiny_checkpoint, path)
    before = path.read_bytes()
    with pytest.raises(Exception):
        # A value torch.save cannot pickle fails midway through writing.
        save_checkpoint(path, build_model("residual"), "residual", {}, {}, {"bad": lambda: 0})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
    load_checkpoint(path)
