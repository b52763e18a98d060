"""netlib.cli.main(argv) in-process (what __main__ runs), with no subprocess and no trained checkpoint: the
matrix of argument errors, the residual summary, garbage checkpoints given to predict. A few of the
argument errors also run end to end as subprocesses in test_cli.py."""

from __future__ import annotations

import random

import pytest
import torch

from cli_support import BAD_ARGS, SUBPROCESS_ONLY, _assert_one_line_usage_error, _json_lines, _main


# ---------------------------------------------------------------- argument errors
@pytest.mark.parametrize("case", sorted(set(BAD_ARGS) - SUBPROCESS_ONLY))
def test_bad_arguments_exit_2_with_one_line(case, capsys):
    if case == "device-cuda-without-gpu" and torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present, so --device cuda is not an error here")
    args, word = BAD_ARGS[case]
    _assert_one_line_usage_error(*_main(args, capsys), word)


# ---------------------------------------------------------------- summary
def test_summary_json_residual_shapes(capsys):
    code, out, err = _main(["summary", "--model", "residual", "--json"], capsys)
    assert code == 0, err
    rows = {row["name"]: row for row in _json_lines(out)}
    assert rows["rblock1"]["output_shape"] == [1, 16, 12, 12]
    assert rows["flatten"]["output_shape"] == [1, 512]


# ---------------------------------------------------------------- predict
@pytest.mark.parametrize("garbage", ["random-bytes", "empty", "truncated"])
def test_predict_with_other_garbage_checkpoints_fails_in_one_line(garbage, tmp_path, tiny_checkpoint, capsys):
    path = tmp_path / f"{garbage}.pt"
    if garbage == "random-bytes":
        path.write_bytes(random.Random(0).randbytes(4096))
    elif garbage == "empty":
        path.write_bytes(b"")
    else:
        path.write_bytes(tiny_checkpoint.read_bytes()[:1000])
    code, out, err = _main(["predict", "--checkpoint", path, tmp_path / "x.png"], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and out == ""
    assert len(lines) == 1 and lines[0].startswith("netlib: error:"), err
