"""ONNX export (python -m netlib export): each network agrees with torch under onnxruntime, the model
carries its input contract, docs/export.md's snippet reads a digit, and bad input is one line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from netlib.checkpoint import load_checkpoint
from netlib.cli import main as netlib_cli
from netlib.data import MEAN, STD, load_mnist, normalize, synthetic_digits
from netlib.lab import catalogue
from cli_support import _assert_one_line_usage_error, _main

# Every network, sized other than published: the width and depth must reach the exported graph.
NETWORKS = {"inception": {"width": 4}, "naive": {"width": 6}, "residual": {"blocks": 2}, "plain": {"blocks": 2}}
SHIPPED = [catalogue.shipped_checkpoint("inception"), catalogue.shipped_checkpoint("residual"),
           catalogue.lesion_checkpoint("residual"), catalogue.lesion_checkpoint("plain")]
REAL_DIGITS = 300  # the first test digits: enough to catch a disagreement, quick enough for every run
DOC = Path(__file__).resolve().parent.parent / "docs" / "export.md"


def export(checkpoint: Path, out: Path) -> tuple[int, str, str]:
    """`python -m netlib export CHECKPOINT --onnx OUT` in this process: (exit code, stdout, stderr)."""
    out_text, err_text = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_text), contextlib.redirect_stderr(err_text):
        code = netlib_cli.main(["export", str(checkpoint), "--onnx", str(out)])
    return code, out_text.getvalue(), err_text.getvalue()


def trained_and_exported(folder: Path, model: str, kwargs: dict, make_dataset, make_config) -> tuple:
    """(checkpoint, ONNX file, what the command printed) of model trained for two steps."""
    from netlib.checkpoint import save_checkpoint
    from netlib.engine.loop import fit

    config = make_config(model, model_kwargs=kwargs, batch_size=32, epochs=1)
    end = fit(config, make_dataset(64, 64))
    checkpoint = folder / f"{model}.pt"
    save_checkpoint(checkpoint, end["model"], model, kwargs, config.recipe.to_dict(),
                    {"test_acc": end["test_acc"], "epochs": end["epochs_completed"]},
                    extra={"recipe_name": config.recipe_name})
    code, printed, err = export(checkpoint, folder / f"{model}.onnx")
    assert code == 0, err
    return checkpoint, folder / f"{model}.onnx", printed


@pytest.fixture(scope="module")
def exported(tmp_path_factory, make_dataset, make_config) -> dict:
    """network -> (checkpoint, ONNX file, what the command printed), for each network in NETWORKS."""
    folder = tmp_path_factory.mktemp("onnx")
    with pytest.MonkeyPatch.context() as mp:  # made before the per-test runs folder: a runs folder of its own
        mp.setenv("NETLIB_RUNS_DIR", str(folder / "runs"))
        return {model: trained_and_exported(folder, model, kwargs, make_dataset, make_config)
                for model, kwargs in NETWORKS.items()}


def assert_agrees(checkpoint: Path, onnx_file: Path, images: torch.Tensor) -> None:
    """The same digit read for every image, and every logit within 1e-4 of torch's."""
    model, _ = load_checkpoint(checkpoint)
    with torch.no_grad():
        want = model(images).numpy()
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": images.numpy()})[0]
    assert got.shape == want.shape == (len(images), 10)
    assert (got.argmax(1) == want.argmax(1)).all()
    assert np.abs(got - want).max() <= 1e-4
    one = session.run(None, {"image": images[:1].numpy()})[0]  # the batch dimension is not fixed
    assert one.argmax() == want[0].argmax()


@pytest.mark.parametrize("model", list(NETWORKS))
def test_each_network_agrees_with_torch_on_synthetic_digits(exported, model):
    checkpoint, onnx_file, _ = exported[model]
    assert_agrees(checkpoint, onnx_file, normalize(synthetic_digits(200, seed=5)[0]))


@pytest.mark.slow
@pytest.mark.parametrize("model", list(NETWORKS))
def test_each_network_agrees_with_torch_on_real_digits(exported, model):
    checkpoint, onnx_file, _ = exported[model]
    assert_agrees(checkpoint, onnx_file, normalize(load_mnist(False)[0][:REAL_DIGITS]))


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint", SHIPPED, ids=lambda p: p.name)
def test_shipped_checkpoints_agree_with_torch_on_real_digits(checkpoint, tmp_path):
    if not checkpoint.is_file():
        pytest.skip(f"{checkpoint.name} is not shipped here")
    code, _, err = export(checkpoint, tmp_path / "shipped.onnx")
    assert code == 0, err
    assert_agrees(checkpoint, tmp_path / "shipped.onnx", normalize(load_mnist(False)[0][:REAL_DIGITS]))


def test_the_model_carries_its_input_contract_and_training(exported):
    checkpoint, onnx_file, printed = exported["residual"]
    proto = onnx.load(str(onnx_file))
    onnx.checker.check_model(proto)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert float(meta["netlib.normalisation.mean"]) == MEAN and float(meta["netlib.normalisation.std"]) == STD
    assert "1 x 28 x 28" in meta["netlib.input"] and "float32" in meta["netlib.input"]
    assert "digits 0-9" in meta["netlib.output"]
    assert meta["netlib.labels"] == ",".join(str(d) for d in range(10))
    assert meta["netlib.network"] == "residual" and json.loads(meta["netlib.model_kwargs"]) == {"blocks": 2}
    training = json.loads(meta["netlib.training"])
    assert training["metrics"]["epochs"] == 1 and training["recipe_name"] == "fast"
    assert "Residual ×2" in meta["netlib.summary"]
    (x,), (y,) = proto.graph.input, proto.graph.output
    assert (x.name, y.name) == ("image", "logits")
    dims = [d.dim_param or d.dim_value for d in x.type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [1, 28, 28]
    assert [d.dim_value for d in y.type.tensor_type.shape.dim][1:] == [10]
    assert str(onnx_file) in printed and "Residual ×2" in printed
    widths = {m: json.loads({p.key: p.value for p in onnx.load(str(exported[m][1])).metadata_props}
                            ["netlib.model_kwargs"]) for m in ("inception", "naive")}
    assert widths == {"inception": {"width": 4}, "naive": {"width": 6}}


@pytest.mark.process
def test_the_docs_snippet_reads_a_digit_with_onnxruntime_alone(exported, tmp_path):
    checkpoint, onnx_file, _ = exported["inception"]
    snippet = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    assert len(snippet.strip().splitlines()) == 5
    images, labels = synthetic_digits(20, seed=9)
    model, _ = load_checkpoint(checkpoint)
    with torch.no_grad():
        want = model(normalize(images)).argmax(1)
    i = int((want == labels).nonzero()[0]) if (want == labels).any() else 0
    Image.fromarray(images[i].numpy()).save(tmp_path / "digit.png")
    (tmp_path / "model.onnx").write_bytes(onnx_file.read_bytes())
    # -I: no netlib on the path, no PYTHONPATH; only what a person's own environment has
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", "-c", snippet], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["digit:", str(int(want[i]))]


# ---------------------------------------------------------------- bad input: one line, nothing left behind
def damaged(folder: Path, good: Path) -> Path:
    path = folder / "damaged.pt"
    path.write_bytes(good.read_bytes()[:2000])
    return path


def foreign(folder: Path, good: Path) -> Path:
    path = folder / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, path)
    return path


def text(folder: Path, good: Path) -> Path:
    path = folder / "notes.pt"
    path.write_text("not a checkpoint\n")
    return path


@pytest.mark.parametrize("make, word", [(damaged, "damaged.pt"), (foreign, "not a netlib checkpoint"),
                                        (text, "notes.pt"), (lambda folder, good: folder / "gone.pt", "gone.pt")],
                         ids=["damaged", "foreign", "text", "missing"])
def test_a_bad_checkpoint_is_one_line_and_leaves_the_old_file(tiny_checkpoint, tmp_path, capsys, make, word):
    out = tmp_path / "out" / "model.onnx"
    out.parent.mkdir()
    out.write_bytes(b"the previous export")
    code, printed, err = _main(["export", make(tmp_path, tiny_checkpoint), "--onnx", out], capsys)
    _assert_one_line_usage_error(code, printed, err, word)
    assert out.read_bytes() == b"the previous export" and os.listdir(out.parent) == ["model.onnx"]


def fifo(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.onnx")
    return folder / "pipe.onnx"


@pytest.mark.parametrize("make, word", [(lambda folder: folder, "a folder"), (fifo, "FIFO"),
                                        (lambda folder: folder / "missing" / "m.onnx", "no such folder")],
                         ids=["folder", "fifo", "missing-folder"])
def test_a_bad_output_path_is_one_line_and_writes_nothing(tiny_checkpoint, tmp_path, capsys, make, word):
    folder = tmp_path / "out"
    folder.mkdir()
    target = make(folder)
    before = sorted(os.listdir(folder))
    code, printed, err = _main(["export", tiny_checkpoint, "--onnx", target], capsys)
    _assert_one_line_usage_error(code, printed, err, word)
    assert sorted(os.listdir(folder)) == before and not (folder / "missing").exists()


def test_the_checkpoint_itself_is_refused_as_the_output(tiny_checkpoint, tmp_path, capsys):
    checkpoint = tmp_path / "model.pt"
    checkpoint.write_bytes(tiny_checkpoint.read_bytes())
    code, printed, err = _main(["export", checkpoint, "--onnx", tmp_path / "." / "model.pt"], capsys)
    _assert_one_line_usage_error(code, printed, err, "the checkpoint being exported")
    assert checkpoint.read_bytes() == tiny_checkpoint.read_bytes()
