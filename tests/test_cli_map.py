"""`python -m netlib map`: the points and separation figures of a checkpoint's map; bad input is one line."""

from __future__ import annotations

import json

import pytest

from cli_support import _assert_one_line_usage_error, _main
from netlib.lab import catalogue

RESIDUAL = catalogue.shipped_checkpoint("residual")


def test_map_json_has_every_point_and_the_figures(capsys):
    code, out, err = _main(["map", "--checkpoint", RESIDUAL, "--n", "200", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["model"] == "residual" and doc["method"] == "pca" and doc["digits"] == 200 and doc["features"] == 512
    assert len(doc["points"]) == 200 and all(len(p) == 5 for p in doc["points"])
    assert sum(p[2] != p[3] for p in doc["points"]) == doc["misread"]
    assert doc["separation"]["knn_features"] > 0.9


def test_map_text_names_the_figures_and_lists_the_points(capsys):
    code, out, err = _main(["map", "--checkpoint", RESIDUAL, "--n", "50", "--method", "tsne"], capsys)
    assert code == 0, err
    assert "by t-SNE" in out and "5-NN accuracy, features:" in out and "silhouette, map:" in out
    assert len([ln for ln in out.splitlines() if ln[:5].strip().isdigit()]) == 50


@pytest.mark.parametrize("n, word", [("5", "from 10 to 10,000"), ("10001", "from 10 to 10,000"), ("x", "whole number")])
def test_a_bad_number_of_digits_is_a_usage_error(n, word, capsys):
    _assert_one_line_usage_error(*_main(["map", "--checkpoint", RESIDUAL, "--n", n], capsys), word)


def test_an_unknown_method_is_a_usage_error(capsys):
    _assert_one_line_usage_error(*_main(["map", "--checkpoint", RESIDUAL, "--method", "lda"], capsys), "lda")


def test_a_file_that_is_not_a_checkpoint_is_one_line_exit_1(tmp_path, capsys):
    bad = tmp_path / "notes.pt"
    bad.write_text("not weights")
    code, out, err = _main(["map", "--checkpoint", bad, "--n", "20"], capsys)
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "not a readable checkpoint" in err and "Traceback" not in err
    code, out, err = _main(["map", "--checkpoint", tmp_path / "missing.pt"], capsys)
    assert code == 1 and "no such checkpoint file" in err


def test_umap_without_umap_learn_is_one_line_exit_1(capsys):
    pytest.importorskip("openTSNE")
    try:
        import umap  # noqa: F401
        pytest.skip("umap-learn is installed here")
    except ImportError:
        pass
    code, out, err = _main(["map", "--checkpoint", RESIDUAL, "--n", "20", "--method", "umap"], capsys)
    assert code == 1 and out == "" and "umap-learn" in err and len(err.strip().splitlines()) == 1


@pytest.mark.process
def test_the_map_command_keeps_the_parser_light(repo_root):
    """Every command builds the whole parser: offering map's projections must not load numpy (light commands)."""
    import subprocess
    import sys

    code = "import sys; from netlib.cli.parser import build_parser; build_parser(); print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
