"""Tests for netlib.lab.uploads: checkpoint uploads stored, listed in every picker, shared, removed, and
refused (garbage, truncated, code-running, oversized, through a symlink) with nothing written."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest
import torch

from netlib.lab import catalogue
from netlib.checkpoint import CheckpointError, FORMAT, VERSION
from netlib.lab.uploads import (UPLOADS_ENV, list_uploads, remove_upload, shared_files, store_upload,
                                upload_name, uploads_dir)
from netlib.safepath import is_contained
from support import SHIPPED_BY_MODEL as SHIPPED, WritesMarker


# ---------------------------------------------------------------- uploads
@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "uploads-here"
    monkeypatch.setenv(UPLOADS_ENV, str(d))
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path / "no-shipped"))
    return d


def written(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*")) if root.exists() else []


def test_uploads_dir_is_configurable_and_defaults_beside_the_runs(runs_dir, monkeypatch):
    monkeypatch.delenv(UPLOADS_ENV, raising=False)
    assert uploads_dir() == runs_dir.parent / "uploads"
    monkeypatch.setenv(UPLOADS_ENV, "/somewhere/else")
    assert uploads_dir() == Path("/somewhere/else")


def test_a_good_checkpoint_is_stored_and_listed_in_every_picker(uploads, tiny_checkpoint):
    stored = store_upload(tiny_checkpoint.read_bytes(), "my net (v2).pt")
    assert stored.path == uploads / "my-net-v2.pt"
    assert stored.path.read_bytes() == tiny_checkpoint.read_bytes() and stored.model == "residual"
    assert written(uploads) == [stored.path.name]  # no temporary files left behind
    assert [u.path for u in list_uploads()] == [stored.path]
    choices = catalogue.checkpoint_choices("residual", [])
    assert [c.label for c in choices] == [f"uploaded {stored.path.name}"] and choices[0].uploaded
    assert catalogue.checkpoint_choices("inception", []) == []  # listed only for its own network
    assert catalogue.choice_index(choices, str(stored.path)) == 0


@pytest.mark.parametrize("filename, stored", [
    ("../../etc/passwd.pt", "passwd.pt"),
    ("..\\..\\win.pt", "win.pt"),
    ("résumé net.pth", "r-sum-net.pt"),
    (".hidden.pt", "hidden.pt"),
    ("", "run.pt"),
])
def test_upload_names_are_sanitised_into_the_uploads_folder(filename, stored, uploads, tiny_checkpoint):
    assert upload_name(filename) == stored
    up = store_upload(tiny_checkpoint.read_bytes(), filename)
    assert up.path.parent == uploads and is_contained(uploads, up.path)


def test_same_name_other_contents_gets_a_new_name_same_contents_is_kept(uploads, tiny_checkpoint, tmp_path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["metrics"]["test_acc"] = 0.123
    torch.save(payload, tmp_path / "other.pt")
    a = store_upload(tiny_checkpoint.read_bytes(), "net.pt")
    b = store_upload((tmp_path / "other.pt").read_bytes(), "net.pt")
    c = store_upload(tiny_checkpoint.read_bytes(), "net.pt")
    assert (a.path.name, b.path.name, c.path) == ("net.pt", "net-2.pt", a.path)
    assert a.new and b.new and not c.new
    assert [u.path.name for u in list_uploads()] == ["net-2.pt", "net.pt"]


def _refused(uploads: Path, data: bytes, name: str = "bad.pt") -> str:
    with pytest.raises(CheckpointError) as info:
        store_upload(data, name)
    assert written(uploads) == []  # nothing stored, not even a temporary file
    msg = str(info.value)
    assert "\n" not in msg and "weights_only` set to `False" not in msg
    return msg


def test_truncated_garbage_and_empty_uploads_are_refused(uploads, tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    assert "readable" in _refused(uploads, data[: len(data) // 2])
    assert "readable" in _refused(uploads, random.Random(0).randbytes(4096))
    assert "readable" in _refused(uploads, b"")
    assert catalogue.checkpoint_choices("residual", []) == []


@pytest.mark.parametrize("via", ["exec", "shell"])
@pytest.mark.parametrize("container", ["torch", "pickle"])
def test_a_code_running_upload_is_refused_without_running_it(via, container, uploads, tmp_path):
    marker = tmp_path / "marker"
    evil = {"format": FORMAT, "version": VERSION, "model": "residual", "x": WritesMarker(marker, via)}
    if container == "torch":
        torch.save(evil, tmp_path / "evil.pt")
        data = (tmp_path / "evil.pt").read_bytes()
    else:
        data = pickle.dumps(WritesMarker(marker, via), protocol=2)
    msg = _refused(uploads, data, "evil.pt")
    assert msg.startswith("evil.pt")
    assert not marker.exists()


def test_weights_that_do_not_fit_and_foreign_files_are_refused(uploads, tiny_checkpoint, tmp_path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["state_dict"]["fc.weight"] = torch.zeros(10, 99)
    torch.save(payload, tmp_path / "shapes.pt")
    assert "do not fit" in _refused(uploads, (tmp_path / "shapes.pt").read_bytes())
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    assert "not a netlib checkpoint" in _refused(uploads, (tmp_path / "other.pt").read_bytes())


def test_an_oversized_upload_is_refused_before_reading(uploads, monkeypatch):
    import netlib.lab.uploads

    monkeypatch.setattr(netlib.lab.uploads, "MAX_UPLOAD_BYTES", 1000)
    assert "limit" in _refused(uploads, b"x" * 1001)


def test_a_file_dropped_into_the_folder_by_hand_is_not_listed_unless_valid(uploads, tiny_checkpoint):
    uploads.mkdir()
    (uploads / "junk.pt").write_bytes(b"junk")
    (uploads / "notes.txt").write_text("hi")
    (uploads / ".tmp-upload.pt").write_bytes(tiny_checkpoint.read_bytes())
    assert list_uploads() == []


def test_a_symlink_out_of_the_folder_is_neither_listed_nor_written_through(uploads, tiny_checkpoint, tmp_path):
    outside = tmp_path / "elsewhere.pt"
    outside.write_bytes(tiny_checkpoint.read_bytes())
    uploads.mkdir()
    (uploads / "link.pt").symlink_to(outside)
    assert list_uploads() == []
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["metrics"]["test_acc"] = 0.5
    torch.save(payload, tmp_path / "other.pt")  # valid, but not the bytes the link points to
    with pytest.raises(CheckpointError, match="not a usable file name"):
        store_upload((tmp_path / "other.pt").read_bytes(), "link.pt")
    assert outside.read_bytes() == tiny_checkpoint.read_bytes()


def test_remove_upload_deletes_only_inside_the_folder(uploads, tiny_checkpoint, tmp_path):
    up = store_upload(tiny_checkpoint.read_bytes(), "gone.pt")
    outside = tmp_path / "keep.pt"
    outside.write_bytes(b"keep")
    assert not remove_upload(outside)
    assert not remove_upload(uploads / ".." / "keep.pt")
    assert outside.exists()
    assert remove_upload(up.path) and not up.path.exists()


def test_shared_files_for_a_run_a_shipped_checkpoint_and_an_upload(tmp_path):
    run = tmp_path / "runs" / "20250101-000000-residual-fast-001"
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"w")
    (run / "metrics.jsonl").write_text("{}\n")
    files = shared_files(run / "checkpoint.pt")
    assert [(f.what, f.file_name) for f in files] == [("checkpoint", f"{run.name}.pt"),
                                                       ("metrics", f"{run.name}.metrics.jsonl")]
    assert files[1].path == run / "metrics.jsonl"
    if SHIPPED["residual"].is_file():
        files = shared_files(SHIPPED["residual"])
        assert [f.file_name for f in files] == ["residual.pt", "residual.metrics.jsonl"]
        assert all(f.path.is_file() for f in files)
    (tmp_path / "up.pt").write_bytes(b"w")
    assert [f.file_name for f in shared_files(tmp_path / "up.pt")] == ["up.pt"]
