"""predict and evaluate take --device like train: auto (cuda when there, else cpu), cpu or cuda."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from netlib.cli import main as netlib_cli

HAS_CUDA = torch.cuda.is_available()


def run(argv, capsys) -> tuple[int, str, str]:
    code = netlib_cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def seven(tmp_path):
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:9, 8:21] = 255  # the bar
    for i in range(9, 23):  # the stem, slanting left
        image[i, 19 - (i - 9) // 2:22 - (i - 9) // 2] = 255
    path = tmp_path / "seven.png"
    Image.fromarray(image).save(path)
    return path


def test_predict_on_the_cpu_answers_as_auto_does_here(tiny_checkpoint, seven, capsys):
    answers = {}
    for device in ("auto", "cpu"):
        code, out, err = run(["predict", "--checkpoint", tiny_checkpoint, "--device", device, "--json", seven], capsys)
        assert code == 0, err
        answers[device] = json.loads(out)
    if not HAS_CUDA:  # auto is the cpu here: the very same numbers
        assert answers["auto"] == answers["cpu"]
    assert answers["cpu"]["probs"] and sum(answers["cpu"]["probs"]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_cuda_without_a_gpu_is_one_usage_line(command, tiny_checkpoint, seven, capsys):
    argv = [command, "--checkpoint", tiny_checkpoint, "--device", "cuda"] + ([seven] if command == "predict" else [])
    code, out, err = run(argv, capsys)
    if HAS_CUDA:  # a GPU machine: it simply runs there
        assert code == 0, err
        return
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1
    assert "no CUDA GPU" in lines[0]


def test_a_device_that_does_not_exist_is_refused(tiny_checkpoint, capsys):
    code, out, err = run(["evaluate", "--checkpoint", tiny_checkpoint, "--device", "tpu"], capsys)
    assert code == 2 and "tpu" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_evaluate_on_the_cpu_reads_the_whole_test_set(tiny_checkpoint, capsys):
    code, out, err = run(["evaluate", "--checkpoint", tiny_checkpoint, "--device", "cpu", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["samples"] == 10_000 and 0.0 <= result["accuracy"] <= 1.0
