"""Shared fixtures: the repo root, small synthetic datasets, quick training configs, a tiny checkpoint.

Every test runs with NETLIB_RUNS_DIR pointing into its own tmp dir, so nothing lands in ./runs.

Under pytest-xdist (scripts/test.sh runs `-n 3 --dist loadgroup`), a module whose tests share a
module-scoped fixture (a Streamlit server, a trained model) runs whole on one worker, and those modules
start first: they are the long ones, and a long one started last would be the whole run's tail.

Torch runs single-threaded here, in this process and (via OMP_NUM_THREADS) in the CLI subprocesses the
tests start: on the shared 2-core machine, two spinning OpenMP threads per process made small training
steps 5-50x slower and very noisy under load; with one thread the same steps are fast and steady.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `pytest` run from elsewhere still imports this tree's netlib
    sys.path.insert(0, str(REPO_ROOT))


def _shares_module_fixture(item) -> bool:
    """Whether the test uses a module-scoped fixture (built once per module: keep the module on one worker)."""
    info = getattr(item, "_fixtureinfo", None)  # pytest has no public accessor for a test's fixture defs
    defs = getattr(info, "name2fixturedefs", {}) if info is not None else {}
    return any(d.scope == "module" for chain in defs.values() for d in chain)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the marks into groups
def pytest_collection_modifyitems(config, items):
    """Group modules with shared module fixtures onto one xdist worker, and put them first (stable order:
    every worker must collect the same list)."""
    grouped = {item.module.__name__ for item in items
               if _shares_module_fixture(item) or item.get_closest_marker("browser")}
    for item in items:
        if item.get_closest_marker("xdist_group"):  # grouped by hand (tests of two modules sharing a memo)
            grouped.add(item.module.__name__)
        elif item.module.__name__ in grouped:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    items.sort(key=lambda item: item.module.__name__ not in grouped)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(autouse=True)
def runs_dir(tmp_path, monkeypatch) -> Path:
    """NETLIB_RUNS_DIR for this test (and any subprocess it starts): a fresh, not yet created folder."""
    d = tmp_path / "runs"
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(d))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return d


@pytest.fixture(scope="session")
def make_dataset():
    """make_dataset(n_train, n_test=200, seed=1) -> netlib.data.Dataset of normalised synthetic digits."""
    from netlib.data import Dataset, normalize, synthetic_digits

    def make(n_train: int, n_test: int = 200, seed: int = 1) -> "Dataset":
        (tx, ty), (vx, vy) = synthetic_digits(n_train, seed=seed), synthetic_digits(n_test, seed=seed + 100)
        return Dataset(normalize(tx), ty, normalize(vx), vy)

    return make


@pytest.fixture
def synthetic_data(make_dataset):
    """320 training and 200 test synthetic digits, normalised like MNIST."""
    return make_dataset(320, 200)


@pytest.fixture(scope="session")
def make_config():
    """make_config(model="residual", **recipe_overrides) -> a quick TrainConfig (constant-lr SGD, no augmentation).

    Recipe fields go to resolve_recipe; seed / limit / channels_last / model_kwargs go to TrainConfig.
    """
    from netlib.recipes import resolve_recipe
    from netlib.engine.loop import TrainConfig

    config_fields = {"seed", "limit", "channels_last", "model_kwargs"}

    def make(model: str = "residual", **kw) -> "TrainConfig":
        cfg = {k: kw.pop(k) for k in list(kw) if k in config_fields}
        recipe = dict(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=32, epochs=1,
                      schedule="constant", augment=False)
        recipe.update(kw)
        return TrainConfig(model=model, recipe_name="fast", recipe=resolve_recipe("fast", **recipe), **cfg)

    return make


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, make_dataset, make_config) -> Path:
    """A residual checkpoint trained for one quick epoch on synthetic digits (read-only: copy to modify)."""
    from netlib.checkpoint import save_checkpoint
    from netlib.engine.loop import fit

    config = make_config("residual", batch_size=32, epochs=1)
    end = fit(config, make_dataset(320, 200))
    assert end["status"] == "done", end
    path = tmp_path_factory.mktemp("tiny-checkpoint") / "residual.pt"
    save_checkpoint(path, end["model"], "residual", {}, config.recipe.to_dict(),
                    {"test_acc": end["test_acc"], "epochs": end["epochs_completed"]},
                    extra={"recipe_name": config.recipe_name})
    return path


@pytest.fixture
def fresh_lab(tmp_path, monkeypatch):
    """For AppTest pages: a fresh runs directory and empty Streamlit caches (they outlive AppTest instances)."""
    from support import fresh_app

    fresh_app(monkeypatch)
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(tmp_path / "runs"))
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the app sets 1 thread for its server process (this process here)
