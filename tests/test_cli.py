"""Tests for `python -m netlib ...`: real subprocesses from the repo root, plus netlib.cli.main in-process
where a test needs this module's trained checkpoint.

Each subprocess pays 2-4 s for importing torch on the shared machine. So the independent subprocess
commands of this module run concurrently once (module fixture `cli`) and each test checks one result;
every test that needs them stays in this module, so they run once. The matrix of argument errors runs
in-process in test_cli_inprocess.py, with a few of its cases also run end to end here.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netlib.checkpoint import CheckpointError, load_checkpoint
from netlib.data import load_mnist
from netlib.mnist import default_data_dir, raw_dir
from cli_support import BAD_ARGS, END_TO_END, _assert_one_line_usage_error, _json_lines, _main

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 180
pytestmark = pytest.mark.process  # every test reads a command run as a subprocess


def _env(runs_dir: Path) -> dict:
    return dict(os.environ, NETLIB_RUNS_DIR=str(runs_dir), OMP_NUM_THREADS="1")


def _run(args: list, env: dict, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netlib", *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _run_all(commands: dict, env: dict, workers: int = 3) -> dict:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(_run, args, env) for name, args in commands.items()}
        return {name: f.result() for name, f in futures.items()}


def _usable_checkpoint(path: Path) -> bool:
    try:
        load_checkpoint(path, expect_model="residual")
        return True
    except CheckpointError:
        return False


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def cli(workdir) -> dict:
    """name -> CompletedProcess for every independent command of this module, run concurrently."""
    garbage_text = workdir / "notes.pt"
    garbage_text.write_text("hello world\n")
    commands = {f"bad:{name}": BAD_ARGS[name][0] for name in END_TO_END}
    commands.update({
        "train-synthetic": ["train", "--model", "residual", "--synthetic", "600", "--epochs", "1",
                            "--json", "--threads", "1", "--save", workdir / "trained.pt"],
        "summary-inception": ["summary", "--model", "inception", "--json"],
        "data": ["data"],
        "predict-garbage-text": ["predict", "--checkpoint", garbage_text, workdir / "x.png"],
    })
    return _run_all(commands, _env(workdir / "runs"), workers=2)


@pytest.fixture(scope="module")
def trained_checkpoint(cli, workdir) -> Path:
    """The shipped checkpoints/residual.pt if it loads, else the one `train --synthetic --save` wrote."""
    shipped = REPO / "checkpoints" / "residual.pt"
    if shipped.is_file() and _usable_checkpoint(shipped):
        return shipped
    assert cli["train-synthetic"].returncode == 0, cli["train-synthetic"].stderr
    return workdir / "trained.pt"


@pytest.fixture(scope="module")
def digit_images(workdir) -> dict:
    """name -> PNG path: three MNIST test digits, a blank black image, a blank white one."""
    images, labels = load_mnist(False)
    paths = {}
    for i in range(3):
        paths[f"mnist-{i}-label-{int(labels[i])}"] = workdir / f"digit{i}.png"
        Image.fromarray(images[i].numpy(), "L").save(paths[f"mnist-{i}-label-{int(labels[i])}"])
    paths["blank-black"] = workdir / "blank_black.png"
    Image.fromarray(np.zeros((28, 28), np.uint8), "L").save(paths["blank-black"])
    paths["blank-white"] = workdir / "blank_white.png"
    Image.fromarray(np.full((200, 300), 255, np.uint8), "L").save(paths["blank-white"])
    return paths


@pytest.fixture(scope="module")
def predicted(trained_checkpoint, digit_images, workdir) -> subprocess.CompletedProcess:
    return _run(["predict", "--checkpoint", trained_checkpoint, "--json", *digit_images.values()],
                _env(workdir / "runs"))


# ---------------------------------------------------------------- argument errors
@pytest.mark.parametrize("case", sorted(END_TO_END))
def test_bad_arguments_exit_2_with_one_line_end_to_end(case, cli):
    result = cli[f"bad:{case}"]
    _assert_one_line_usage_error(result.returncode, result.stdout, result.stderr, BAD_ARGS[case][1])


# ---------------------------------------------------------------- train
def test_train_json_on_synthetic_prints_one_event_per_line(cli):
    result = cli["train-synthetic"]
    assert result.returncode == 0, result.stderr
    events = _json_lines(result.stdout)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 1
    assert events[-1]["status"] == "done"
    assert "Traceback" not in result.stderr


def test_train_save_writes_a_loadable_checkpoint(cli, workdir):
    assert cli["train-synthetic"].returncode == 0, cli["train-synthetic"].stderr
    model, meta = load_checkpoint(workdir / "trained.pt", expect_model="residual")
    assert meta["recipe_name"] == "fast"


@pytest.mark.slow
def test_train_json_on_real_mnist_reports_epoch_metrics(workdir):
    result = _run(["train", "--model", "residual", "--limit", "512", "--epochs", "1", "--json"],
                  _env(workdir / "runs-real"))
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr
    events = _json_lines(result.stdout)
    assert events[0]["event"] == "start" and events[0]["samples"] == 512
    assert events[0]["test_samples"] == 10_000
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(epochs) == 1
    e = epochs[0]
    assert e["epoch"] == 1
    for key in ("train_loss", "test_loss", "seconds", "samples_per_s"):
        assert isinstance(e[key], float) and math.isfinite(e[key]) and e[key] > 0, key
    assert 0.0 <= e["test_acc"] <= 1.0
    assert (events[-1]["event"], events[-1]["status"]) == ("end", "done")


# ---------------------------------------------------------------- summary
def _summary(cli, model: str) -> dict:
    result = cli[f"summary-{model}"]
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in _json_lines(result.stdout) if row["kind"] == "layer"}


def test_summary_json_inception_shapes(cli):
    rows = _summary(cli, "inception")
    assert rows["incep1"]["output_shape"] == [1, 88, 12, 12]
    assert rows["incep2"]["output_shape"] == [1, 88, 4, 4]
    assert rows["flatten"]["output_shape"] == [1, 1408]
    assert rows["fc"]["output_shape"] == [1, 10]


def test_summary_json_rows_carry_params_and_macs(cli):
    top = [r for r in _summary(cli, "inception").values() if r["depth"] == 0]
    assert sum(r["params"] for r in top) == 97_298
    assert all(isinstance(r["macs"], int) and r["macs"] >= 0 for r in top)


# ---------------------------------------------------------------- data
def test_data_prints_the_mnist_path(cli):
    result = cli["data"]
    assert result.returncode == 0, result.stderr
    assert str(raw_dir(default_data_dir())) in result.stdout


# ---------------------------------------------------------------- predict
def test_predict_with_a_garbage_checkpoint_fails_in_one_line(cli):
    result = cli["predict-garbage-text"]
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("netlib: error:")
    assert result.stdout == ""


def test_predict_json_prints_one_object_per_image(predicted, digit_images):
    assert predicted.returncode == 0, predicted.stderr
    rows = _json_lines(predicted.stdout)
    assert [r["image"] for r in rows] == [str(p) for p in digit_images.values()]


def test_predict_json_gives_a_digit_and_probabilities(predicted, digit_images):
    rows = {r["image"]: r for r in _json_lines(predicted.stdout)}
    for name, path in digit_images.items():
        if name.startswith("blank"):
            continue
        row = rows[str(path)]
        assert isinstance(row["digit"], int) and 0 <= row["digit"] <= 9
        assert len(row["probs"]) == 10 and all(isinstance(p, float) and 0 <= p <= 1 for p in row["probs"])
        assert sum(row["probs"]) == pytest.approx(1.0, abs=1e-4)
        assert row["digit"] == max(range(10), key=lambda d: row["probs"][d])


@pytest.mark.parametrize("blank", ["blank-black", "blank-white"])
def test_predict_json_blank_image_gives_no_digit(blank, predicted, digit_images):
    rows = {r["image"]: r for r in _json_lines(predicted.stdout)}
    assert rows[str(digit_images[blank])]["digit"] is None


def test_predict_text_output_has_one_line_per_image(trained_checkpoint, digit_images, capsys):
    code, out, err = _main(["predict", "--checkpoint", trained_checkpoint, *digit_images.values()], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == len(digit_images)
    assert "blank" in lines[list(digit_images).index("blank-black")]


def test_predict_reports_an_unreadable_image_and_goes_on(trained_checkpoint, digit_images, tmp_path, capsys):
    not_an_image = tmp_path / "not_an_image.png"
    not_an_image.write_text("this is text")
    good = next(iter(digit_images.values()))
    code, out, err = _main(["predict", "--checkpoint", trained_checkpoint, "--json", not_an_image, good], capsys)
    assert code == 1
    errors = err.strip().splitlines()
    assert len(errors) == 1 and "not_an_image.png" in errors[0]
    assert [r["image"] for r in _json_lines(out)] == [str(good)]  # the good image was still read


def test_predict_does_not_claim_a_digit_for_a_scribble(tmp_path, capsys, trained_checkpoint):
    """A scribble over the whole image is reported as not read, with the reason, not as a digit."""
    from PIL import ImageDraw

    from netlib.cli.main import main

    rng = np.random.default_rng(0)
    img = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(img)
    pts = [tuple(int(v) for v in rng.integers(10, 270, 2)) for _ in range(40)]
    draw.line(pts, fill=255, width=14)
    path = tmp_path / "scribble.png"
    img.save(path)
    assert main(["predict", "--checkpoint", str(trained_checkpoint), str(path)]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"{path}: not read:") and "scribble" in out
    assert main(["predict", "--checkpoint", str(trained_checkpoint), str(path), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["digit"] is None and row["not_a_digit"] and abs(sum(row["probs"]) - 1) < 1e-4
