"""`python -m netlib handwriting list|import|export|delete`, and fine-tuning through `train`: bad input is one line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cli_support import _main
from netlib.handwriting.sets import EXAMPLE_SET, handwriting_dir, list_sets

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "checkpoints" / "residual.pt"


def one_line_error(code: int, err: str, word: str, status: int = 1) -> None:
    lines = err.strip().splitlines()
    assert code == status and len(lines) == 1 and lines[0].startswith("netlib: error:"), err
    assert word in lines[0] and "Traceback" not in err


def test_list_shows_the_shipped_example_set_as_synthetic(capsys):
    code, out, _ = _main(["handwriting", "list"], capsys)
    assert code == 0 and EXAMPLE_SET in out and "synthetic" in out
    code, out, _ = _main(["handwriting", "list", "--json"], capsys)
    row = json.loads(out.splitlines()[0])
    assert row["synthetic"] and row["per_digit"] == [6] * 10 and row["held_out"] == 10


def test_export_import_delete_round_trip(tmp_path, capsys):
    out_zip = tmp_path / "example.zip"
    assert _main(["handwriting", "export", EXAMPLE_SET, "-o", out_zip], capsys)[0] == 0
    code, out, _ = _main(["handwriting", "import", out_zip, "--name", "mine"], capsys)
    assert code == 0 and "60 digits, 10 held out" in out
    code, _, err = _main(["handwriting", "import", out_zip], capsys)  # its own name is the shipped set's
    one_line_error(code, err, "shipped example")
    assert _main(["handwriting", "delete", "mine"], capsys)[0] == 0
    assert [s.name for s in list_sets(example=False)] == []


def test_a_hostile_zip_or_a_missing_set_is_one_line_and_nothing_is_written(tmp_path, capsys):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mine/../../escape.png", b"x")
    (tmp_path / "evil.zip").write_bytes(buf.getvalue())
    code, _, err = _main(["handwriting", "import", tmp_path / "evil.zip"], capsys)
    one_line_error(code, err, "outside its folder")
    os.mkfifo(tmp_path / "fifo.zip")
    code, _, err = _main(["handwriting", "import", tmp_path / "fifo.zip"], capsys)
    one_line_error(code, err, "FIFO")
    code, _, err = _main(["handwriting", "delete", "nothing-here"], capsys)
    one_line_error(code, err, "no set named")
    assert not handwriting_dir().exists() or not any(handwriting_dir().iterdir())


def test_a_zip_damaged_inside_is_one_line_and_nothing_is_written(tmp_path, capsys):
    out_zip = tmp_path / "example.zip"
    assert _main(["handwriting", "export", EXAMPLE_SET, "-o", out_zip], capsys)[0] == 0
    buf = io.BytesIO()
    with zipfile.ZipFile(out_zip) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
    data = bytearray(buf.getvalue())
    info = zipfile.ZipFile(buf).getinfo(f"{EXAMPLE_SET}/set.json")
    start = info.header_offset + 30 + data[info.header_offset + 26] + data[info.header_offset + 28]
    data[start] |= 0b110  # its first deflate block's type becomes 3, which does not exist
    out_zip.write_bytes(bytes(data))
    code, _, err = _main(["handwriting", "import", out_zip, "--name", "mine"], capsys)
    one_line_error(code, err, "damaged")
    assert not handwriting_dir().exists() or not any(handwriting_dir().iterdir())


def test_bad_fine_tuning_options_are_one_line_usage_errors(capsys):
    code, out, err = _main(["train", "--model", "residual", "--replay", "0.95"], capsys)
    one_line_error(code, err, "--replay", status=2)
    code, out, err = _main(["train", "--model", "residual", "--tune", "all", "--epochs", "1"], capsys)
    one_line_error(code, err, "--start-from", status=2)


def train(args: list, env_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NETLIB_RUNS_DIR": str(env_dir / "runs"), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "netlib", "train", "--model", "residual", "--synthetic", "64",
                           "--epochs", "1", "--threads", "1", "--start-from", str(SHIPPED), *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)


@pytest.mark.process
def test_train_fine_tunes_into_a_run_that_records_what_changed(tmp_path):
    done = train(["--handwriting", EXAMPLE_SET, "--tune", "all", "--replay", "0.5", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert events[-1]["event"] == "end" and "held_out_acc" in events[-1]
    [run] = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    config = json.loads((run / "config.json").read_text())
    assert config["finetune"]["tune"] == "all" and config["request"]["handwriting"] == EXAMPLE_SET
    changes = json.loads((run / "changes.json").read_text())
    assert changes["held_out"]["n"] == 10 and changes["set"] == EXAMPLE_SET and "changed" in changes


@pytest.mark.process
def test_train_on_a_set_of_one_digit_is_refused_before_a_run_exists(tmp_path, capsys):
    from netlib.handwriting.sets import add_example, create_set
    import numpy as np

    root = tmp_path / "handwriting"  # beside the subprocess's runs folder: its default handwriting folder
    create_set(root, "sevens")
    for i in range(3):
        a = np.zeros((28, 28), np.uint8)
        a[4:24, 10 + i:14 + i] = 255
        add_example(root, "sevens", a, 7)
    done = train(["--handwriting", "sevens"], tmp_path)
    one_line_error(done.returncode, done.stderr, "only 7s", status=2)
    code, _, err = _main(["submit", "--model", "residual", "--synthetic", "64", "--epochs", "1", "--start-from",
                          SHIPPED, "--handwriting", "sevens"], capsys)  # refused now, not when the queue starts it
    one_line_error(code, err, "only 7s", status=2)
    assert not (tmp_path / "runs").exists() or not any(p.is_dir() for p in (tmp_path / "runs").iterdir())
    assert len(list((root / "sevens").glob("*.png"))) == 3
