"""The Download ONNX buttons beside the checkpoint on Results and Draw, and the export they hand out:
made once per checkpoint version (path and modification time)."""

from __future__ import annotations

import os

import numpy as np
import onnxruntime as ort
import pytest

import netlib.onnx_export
from netlib.lab import catalogue
from netlib.models import SHOWCASE
from support import assert_clean, open_app, untrained_run


@pytest.fixture(autouse=True)
def lab(fresh_lab, tmp_path, monkeypatch):
    """No shipped checkpoints: the pickers offer only this test's runs."""
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path / "no-shipped"))
    return tmp_path / "runs"


def onnx_buttons(at) -> list[str]:
    return [d.proto.label for d in at.get("download_button") if "ONNX" in d.proto.label]


def test_results_offers_the_checkpoint_as_onnx(lab):
    run = untrained_run(lab, "20250101-000000-inception-fast-001", "inception")
    at = open_app("app_pages/results.py")
    at.radio(key="results_model").set_value("inception").run()
    assert_clean(at)
    assert onnx_buttons(at) == [f"ONNX: {run.name}.onnx"]


def test_draw_offers_each_network_as_onnx(lab):
    runs = [untrained_run(lab, f"20250101-00000{i}-{m}-fast-001", m) for i, m in enumerate(SHOWCASE)]
    at = open_app("app_pages/draw.py")
    assert_clean(at)
    assert onnx_buttons(at) == [f"ONNX: {run.name}.onnx" for run in runs]


def test_the_download_is_exported_once_per_checkpoint_version(lab, monkeypatch):
    from app_pages._export import onnx_file

    run = untrained_run(lab, "20250101-000000-residual-fast-001", "residual")
    calls = []
    real = netlib.onnx_export.onnx_bytes
    monkeypatch.setattr(netlib.onnx_export, "onnx_bytes", lambda path: calls.append(path) or real(path))
    checkpoint = run / "checkpoint.pt"
    first = onnx_file(checkpoint)
    assert onnx_file(checkpoint) == first and len(calls) == 1  # the second click: the cached file
    session = ort.InferenceSession(first, providers=["CPUExecutionProvider"])
    assert session.run(None, {"image": np.zeros((3, 1, 28, 28), np.float32)})[0].shape == (3, 10)
    stat = checkpoint.stat()
    os.utime(checkpoint, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the run was trained further
    onnx_file(checkpoint)
    assert len(calls) == 2
