"""Security (issue #5): checkpoints load weights only everywhere, paths chosen in the UI stay inside the
lab's folders, and the server is exposed only on purpose."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from netlib.lab import catalogue, launch
from netlib.runs import queue, reader
from netlib.runs.files import CHECKPOINT
from netlib.runs.reader import list_runs
from netlib.runs.writer import RunWriter
from netlib.safepath import UnsafePath, contained, inside, is_contained
from support import WritesMarker
from faults_support import REPO, _keep_sigterm, _own_process_table, app, train_page  # noqa: F401


# ---------------------------------------------------------------- checkpoints: weights only, everywhere
def _source_files() -> list[Path]:
    """Every Python file of the project outside tests: netlib and its subpackages, the app, scripts."""
    files = [REPO / "app.py", *sorted((REPO / "netlib").rglob("*.py")), *sorted((REPO / "app_pages").rglob("*.py"))]
    return files + sorted((REPO / "scripts").glob("*.py"))


def test_the_source_scan_sees_every_layer():
    scanned = {p.relative_to(REPO).parent.as_posix() for p in _source_files()}
    assert {"netlib", "netlib/engine", "netlib/runs", "netlib/cli", "netlib/lab", "app_pages"} <= scanned


def test_every_torch_load_in_the_code_is_weights_only():
    calls = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = f"{getattr(owner, 'id', '?')}.{node.func.attr}"
                if name == "torch.load":
                    kw = {k.arg: k.value for k in node.keywords}
                    ok = isinstance(kw.get("weights_only"), ast.Constant) and kw["weights_only"].value is True
                    calls.append((f"{path.relative_to(REPO)}:{node.lineno}", ok))
                assert name not in ("pickle.load", "pickle.loads", "dill.load", "joblib.load"), \
                    f"{path.relative_to(REPO)}:{node.lineno} unpickles without restriction"
    assert calls, "no torch.load found: the scan is broken"
    assert all(ok for _, ok in calls), [where for where, ok in calls if not ok]


def test_a_code_running_checkpoint_in_a_run_never_runs_through_the_pages_loader(app, tmp_path):
    from netlib.checkpoint import FORMAT, VERSION

    run = _fake_run(app, "evil-run")
    marker = tmp_path / "marker"
    torch.save({"format": FORMAT, "version": VERSION, "model": "residual", "x": WritesMarker(marker)},
               run / CHECKPOINT)
    (choice,) = [c for c in catalogue.checkpoint_choices("residual", reader.run_index(app)) if "evil" in c.label]
    at = AppTest.from_string(
        "from pathlib import Path\n"
        "from app_pages._common import guarded, load_model\n"
        f"guarded(load_model)(Path({str(choice.path)!r}))\n", default_timeout=60).run()
    assert not at.exception
    assert any("refused" in e.value for e in at.error), [e.value for e in at.error]
    assert not marker.exists()


# ---------------------------------------------------------------- paths chosen in the UI
@pytest.mark.parametrize("name", [
    "../outside", "a/../../outside", "..", "/etc/passwd", "\\\\host\\share", "C:\\Windows", "a\\..\\..\\b",
    "", "  ", "run\x00.pt", "~/x"])
def test_inside_refuses_names_that_could_leave_the_folder(name, tmp_path):
    with pytest.raises(UnsafePath):
        inside(tmp_path, name)


@pytest.mark.parametrize("name", ["run-1", "20250101-000000-residual-fast-001", "sub/dir/checkpoint.pt",
                                  "a..b", "new-folder-not-yet-there"])
def test_inside_accepts_plain_names(name, tmp_path):
    assert inside(tmp_path, name) == tmp_path / name


def test_symlinks_that_escape_are_refused_and_ones_that_stay_inside_are_fine(tmp_path):
    root, outside = tmp_path / "runs", tmp_path / "elsewhere"
    (root / "real").mkdir(parents=True)
    outside.mkdir()
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "alias").symlink_to(root / "real", target_is_directory=True)
    (root / "real" / "ckpt.pt").symlink_to(tmp_path / "secret.pt")
    with pytest.raises(UnsafePath, match="outside"):
        inside(root, "escape")
    with pytest.raises(UnsafePath):
        contained(root, root / "escape" / "checkpoint.pt")
    with pytest.raises(UnsafePath):
        contained(root, root / "real" / "ckpt.pt")
    with pytest.raises(UnsafePath):
        contained(root, root / ".." / "elsewhere")
    assert contained(root, root / "alias") == root / "alias"
    assert is_contained(root, root / "real") and not is_contained(root, "/etc/passwd")


def _fake_run(root: Path, name: str, model: str = "residual") -> Path:
    from netlib.models import build_model

    writer = RunWriter(root / name, {"model": model, "recipe": {"lr": 0.01}, "recipe_name": "seed",
                                     "model_kwargs": {}})
    event = {"event": "epoch", "epoch": 1, "test_acc": 0.5}
    writer.on_event(event)
    writer.save(build_model(model), event)
    writer.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 1})
    writer.close()
    return root / name


def test_run_listings_skip_run_folders_that_are_symlinks_out_of_the_runs_folder(tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "outside"
    _fake_run(runs, "good")
    _fake_run(outside, "stranger")
    (runs / "sneaky").symlink_to(outside / "stranger", target_is_directory=True)
    assert [r.name for r in reader.run_index(runs)] == ["good"]
    assert [r.name for r in list_runs(runs)] == ["good"]
    # A checkpoint.pt inside a real run that links out is not offered either.
    _fake_run(runs, "linked")
    (runs / "linked" / CHECKPOINT).unlink()
    (runs / "linked" / CHECKPOINT).symlink_to(outside / "stranger" / CHECKPOINT)
    choices = catalogue.checkpoint_choices("residual", reader.run_index(runs))
    labels = [c.label for c in choices]
    assert any("good" in label for label in labels) and not any("linked" in label for label in labels)


def test_only_checkpoints_under_the_lab_folders_load_in_the_ui(runs_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(tmp_path / "shipped"))
    run = _fake_run(runs_dir, "ok")
    assert catalogue.allowed_checkpoint(run / CHECKPOINT) == run / CHECKPOINT
    assert catalogue.allowed_checkpoint(tmp_path / "shipped" / "residual.pt")
    for bad in (tmp_path / "elsewhere.pt", runs_dir / ".." / "elsewhere.pt", Path("/etc/passwd")):
        with pytest.raises(UnsafePath, match="refused"):
            catalogue.allowed_checkpoint(bad)


def test_launch_sanitises_the_run_name(runs_dir, monkeypatch):
    monkeypatch.setattr(queue, "pump", lambda *args, **kwargs: [])
    (run_dir,) = queue.enqueue(runs_dir, [launch.request_for("residual", "fast")], tag="../../../tmp/evil name")
    assert run_dir.parent == runs_dir and is_contained(runs_dir, run_dir)
    assert ".." not in run_dir.name and " " not in run_dir.name and "/" not in run_dir.name


def test_train_page_never_watches_a_folder_outside_the_runs_folder(app, tmp_path):
    outside = _fake_run(tmp_path / "elsewhere", "20990101-000000-residual-fast-999")
    at = train_page({"train_run": str(outside)})
    assert not any(outside.name in m.value for m in at.markdown)
    assert any("No run in progress" in i.value for i in at.info)


# ---------------------------------------------------------------- the server's exposure
def test_server_listens_on_localhost_with_xsrf_protection_and_an_upload_limit():
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] in ("localhost", "127.0.0.1")
    assert server["enableXsrfProtection"] is True
    assert 0 < server["maxUploadSize"] <= 10
