"""Shared by the test_cli*.py modules: the table of bad argument lists, and netlib.cli.main run in-process
with its one-line usage error checked."""

from __future__ import annotations

import json

from netlib.cli import main as netlib_cli


# name -> (argv after `python -m netlib`, a word the one-line error must contain)
BAD_ARGS = {
    "lr-negative": (["train", "--model", "residual", "--epochs", "1", "--lr", "-1"], "--lr"),
    "lr-not-a-number": (["train", "--model", "residual", "--epochs", "1", "--lr", "abc"], "--lr"),
    "epochs-0": (["train", "--model", "residual", "--epochs", "0"], "--epochs"),
    "batch-size-0": (["train", "--model", "residual", "--epochs", "1", "--batch-size", "0"], "--batch-size"),
    "unknown-model": (["train", "--model", "vgg", "--epochs", "1"], "vgg"),
    "unknown-recipe": (["train", "--model", "residual", "--epochs", "1", "--recipe", "nope"], "nope"),
    "limit-0": (["train", "--model", "residual", "--epochs", "1", "--limit", "0"], "--limit"),
    "limit-over-training-set": (["train", "--model", "residual", "--epochs", "1", "--limit", "100000"], "--limit"),
    "batch-size-over-training-set": (["train", "--model", "residual", "--epochs", "1", "--batch-size", "100000"],
                                     "batch size"),
    "device-cuda-without-gpu": (["train", "--model", "residual", "--epochs", "1", "--device", "cuda"], "cuda"),
    "no-command": ([], "command"),
}
# Run in-process too would be wrong for this one: it loads MNIST and installs a SIGTERM handler first.
SUBPROCESS_ONLY = {"limit-over-training-set"}
END_TO_END = {"limit-over-training-set", "lr-not-a-number"}


def _json_lines(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _main(argv: list, capsys) -> tuple[int, str, str]:
    code = netlib_cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_usage_error(code: int, out: str, err: str, word: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("netlib: error:")
    assert word in lines[0]
    assert out == ""
