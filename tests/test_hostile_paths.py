"""Every path a command is handed is read bounded: FIFOs, devices, sockets, folders, huge and growing files.

Each case runs the real command (netlib's entry point, in a child forked from a warm process: zygote.py)
with a time limit and reads its peak memory (os.wait4's rusage): it must end with one line and exit status 1, never hang, never fill memory, and
write nothing where it was pointed. Run folders and the pages over them: test_hostile_paths_runs.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostile_support import FIXTURE_RUN, GIB, REPO, SHIPPED, Hostile, _old_run
from netlib.mnist import FILES, default_data_dir, raw_dir
from zygote import Zygote

KINDS = ["fifo", "dev_zero", "dev_urandom", "symlink_zero", "sparse_5gb", "folder", "growing"]
FAST_KINDS = {"fifo"}  # the fast tier's share of the matrix


@pytest.fixture(scope="module")
def zygote():
    warm = Zygote(REPO)
    yield warm
    warm.close()


def run_bounded(zygote: Zygote, argv: list[str], env: dict, limit_s: float, tmp: Path) -> tuple[int, str, float, int]:
    """(exit status, stderr, seconds, peak resident KiB) of `python -m netlib ARGV`; killed at limit_s."""
    err = tmp / "stderr.txt"
    code, seconds, peak = zygote.run(argv, env, REPO, limit_s, err)
    return code, err.read_text(errors="replace"), seconds, peak


@pytest.fixture(scope="module")
def baseline(zygote, tmp_path_factory) -> tuple[float, int]:
    """(seconds, peak KiB) of a command that loads torch and a checkpoint and reads nothing hostile."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code, err, seconds, peak = run_bounded(zygote, ["predict", "--checkpoint", str(SHIPPED),
                                                    str(REPO / "docs/screenshots/draw.png")],
                                           env, 120, tmp_path_factory.mktemp("baseline"))
    assert code == 0, err
    return seconds, peak


def hang_limit(baseline: tuple[float, int]) -> float:
    """Seconds after which a command counts as hung: a refusal takes start-up plus milliseconds, a hang
    forever; the margin is wide because the machine's load changes between the baseline and the case."""
    return 30 + 2 * baseline[0]


def _mnist_dir(tmp: Path) -> Path:
    """A data folder whose four MNIST files link to the verified ones (the test swaps one out)."""
    real = raw_dir(default_data_dir())
    raw = raw_dir(tmp / "data")
    raw.mkdir(parents=True)
    for name in FILES:
        (raw / name).symlink_to(real / name)
    return tmp / "data"


# target -> (where the hostile thing goes, the command line) given a tmp folder
TARGETS = {
    "predict image": lambda t: (t / "digit.png", ["predict", "--checkpoint", str(SHIPPED), str(t / "digit.png")]),
    "predict --checkpoint": lambda t: (t / "net.pt", ["predict", "--checkpoint", str(t / "net.pt"),
                                                      str(REPO / "docs/screenshots/draw.png")]),
    "evaluate --checkpoint": lambda t: (t / "net.pt", ["evaluate", "--checkpoint", str(t / "net.pt")]),
    "data --data-dir (a file in it)": lambda t: (raw_dir(_mnist_dir(t)) / "t10k-images-idx3-ubyte",
                                                 ["data", "--data-dir", str(t / "data")]),
    "data --data-dir": lambda t: (t / "data", ["data", "--data-dir", str(t / "data")]),
    "train --run-dir (its metrics log)": lambda t: (t / "run" / "metrics.jsonl", [
        "train", "--model", "residual", "--synthetic", "64", "--quiet", "--run-dir", str(t / "run")]),
    "train --run-dir": lambda t: (t / "run", ["train", "--model", "residual", "--synthetic", "64", "--quiet",
                                              "--run-dir", str(t / "run")]),
    "train --extend (config.json)": lambda t: (_old_run(t) / "config.json", ["train", "--extend", str(t / "runs" / FIXTURE_RUN.name)]),
    "train --extend (status.json)": lambda t: (_old_run(t) / "status.json", ["train", "--extend", str(t / "runs" / FIXTURE_RUN.name)]),
    "train --extend (train_state.pt)": lambda t: (_old_run(t) / "train_state.pt", ["train", "--extend", str(t / "runs" / FIXTURE_RUN.name)]),
    "train --extend (metrics.jsonl)": lambda t: (_old_run(t) / "metrics.jsonl", ["train", "--extend", str(t / "runs" / FIXTURE_RUN.name)]),
    "train --extend": lambda t: (t / "runs" / "x", ["train", "--extend", str(t / "runs" / "x")]),
    "train --save": lambda t: (t / "out.pt", ["train", "--model", "residual", "--synthetic", "64", "--epochs", "1",
                                              "--batch-size", "32", "--quiet", "--save", str(t / "out.pt")]),
}
# Not hostile there: --save replaces a file or a link (atomic write) and only a FIFO would make it wait;
# a folder is what --data-dir and --run-dir want (and --extend of an empty folder is a usage error,
# exit 2); a metrics log is only appended to by the training process (its readers: test_hostile_paths_runs.py).
SKIP = ({("train --save", k) for k in ("dev_zero", "dev_urandom", "symlink_zero", "sparse_5gb", "growing")}
        | {(t, "folder") for t in ("data --data-dir", "train --run-dir", "train --extend")}
        | {(t, k) for t in ("train --run-dir (its metrics log)", "train --extend (metrics.jsonl)")
           for k in ("sparse_5gb", "growing")})
# A regular MNIST file of the wrong size is the known repair case: moved aside as .bad and fetched
# again (here the fetch fails at once), with the manual-install help after the error line.
REPAIRED = {("data --data-dir (a file in it)", k) for k in ("sparse_5gb", "growing")}
CASES = [pytest.param(target, kind, marks=pytest.mark.process if kind in FAST_KINDS else pytest.mark.slow,
                      id=f"{target}-{kind}")
         for target in TARGETS for kind in KINDS if (target, kind) not in SKIP]


def _snapshot(folder: Path) -> dict:
    """What is in a folder, without reading any special file: name -> (type bits, size, mtime)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(folder))] = (st.st_mode >> 12, st.st_size if p.is_file() and not p.is_symlink() else 0,
                                           st.st_mtime_ns if not p.name.endswith(".bad") else 0)
    return out


@pytest.mark.parametrize("target, kind", CASES)
def test_a_hostile_path_ends_in_one_line_within_bounds(target, kind, tmp_path, baseline, zygote):
    where, argv = TARGETS[target](tmp_path)
    hostile = Hostile(kind, where)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NETLIB_MNIST_WHEEL": str(tmp_path / "no-such.whl"),
           "NETLIB_RUNS_DIR": str(tmp_path / "runs")}
    before = _snapshot(tmp_path) if kind != "growing" else None
    try:
        code, err, seconds, peak = run_bounded(zygote, argv, env, hang_limit(baseline), tmp_path.parent)
    finally:
        hostile.stop()
    lines = err.strip().splitlines()
    print(f"\n{target} / {kind}: exit {code} in {seconds:.2f} s (start-up alone {baseline[0]:.2f} s), "
          f"peak {peak / 1024:.0f} MiB (a plain predict: {baseline[1] / 1024:.0f} MiB)")
    assert code == 1, (code, err[-1500:])
    assert "Traceback" not in err, err[-1500:]
    if (target, kind) in REPAIRED:
        assert "fails verification" in lines[0] and (where.parent / f"{where.name}.bad").exists()
    else:
        assert len(lines) == 1 and lines[0].startswith("netlib: error: "), err[-1500:]
        assert where.name in lines[0], lines[0]  # the line names what was refused
    assert seconds < hang_limit(baseline), seconds  # a hang would have been killed at the limit (code -9)
    assert (peak - baseline[1]) * 1024 < GIB, f"peak {peak / 1024:.0f} MiB, baseline {baseline[1] / 1024:.0f} MiB"
    if before is not None and (target, kind) not in REPAIRED:
        assert _snapshot(tmp_path) == before, "something was written"


def test_a_socket_is_refused_like_a_fifo(tmp_path):
    import socket

    from netlib.bounded import FileRefused, read_bounded

    path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(FileRefused, match="socket"):
            read_bounded(path, 100)
