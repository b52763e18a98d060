"""Shared by the pages: the error guard, cached loaders and small display helpers (Streamlit side)."""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from app_pages._evaluations import MNIST_SOURCE, shared, warm_shipped
from netlib.analysis import inspection
from netlib.analysis.cost import crossover_width
from netlib.charts import style
from netlib.lab import catalogue
from netlib.lab.lessons import LESSONS
from netlib.lab.link_values import checkpoint_id
from netlib.models import MODELS, REDUCE
from netlib.names import DEFAULT_WIDTH, DEPTH_MODELS, MAX_BLOCKS, MAX_WIDTH, WIDTH_MODELS, shape_kwargs
from app_pages._escape import literal
from netlib.runs import follow
from netlib.runs.files import default_runs_dir
from netlib.runs.summary import pct  # noqa: F401  (the pages' one percent format)

log = logging.getLogger("netlib.app")

# Set by open_on_inspect (Results, Map), read once by Inspect: {"model", "checkpoint" (path str), "index"}.
INSPECT_REQUEST = "inspect_request"


def open_on_inspect(model: str, checkpoint, index: int) -> None:
    """Switch to Inspect showing test digit `index` through `checkpoint` (a network of `model`)."""
    st.session_state[INSPECT_REQUEST] = {"model": model, "checkpoint": str(checkpoint), "index": int(index)}
    st.switch_page("app_pages/inspect.py")


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    blurb: str  # what the page is for, on Home's "Where to go"


# Every page, in navigation order: app.py builds the navigation from it, Home its links.
PAGES = (
    PageInfo("app_pages/home.py", "Home", ":material/home:", ""),
    PageInfo("app_pages/train.py", "Train", ":material/model_training:",
             "Start a run, watch it live, pause it, change its learning rate, add an epoch."),
    PageInfo("app_pages/compare.py", "Compare", ":material/compare_arrows:",
             "Train two networks at once, overlay runs, watch gradients flow (or vanish)."),
    PageInfo("app_pages/runs.py", "Runs", ":material/folder_open:",
             "The lab notebook: find, label, annotate, tag, archive and delete runs."),
    PageInfo("app_pages/sweep.py", "Sweep", ":material/tune:",
             "Search a space of options with Optuna: many trials, live, with Optuna's figures."),
    PageInfo("app_pages/inspect.py", "Inspect", ":material/layers:",
             "Layer-by-layer shapes and costs, and the feature maps of a digit."),
    PageInfo("app_pages/map.py", "Map", ":material/scatter_plot:",
             "Every test digit where a network's last features place it; watch the map form epoch by epoch."),
    PageInfo("app_pages/results.py", "Results", ":material/grading:",
             "Where a network fails: confusion matrix, misread digits, share checkpoints."),
    PageInfo("app_pages/draw.py", "Draw", ":material/draw:", "Draw a digit and see what both networks read, and why."),
    PageInfo("app_pages/handwriting.py", "Handwriting", ":material/edit_note:",
             "Teach a network your handwriting: collect your digits, fine-tune, see what it forgets."),
    PageInfo("app_pages/lessons.py", "Lessons", ":material/school:",
             f"Predict, run, check: {len(LESSONS)} questions answered by measuring them here."),
)


def followed(run_dir: Path):
    """read_run(run_dir) of a watched run: its follower (one per session) reads only what its metrics log
    gained since the last look, not the whole log on every tick."""
    return follow.followers(st.session_state).read(run_dir)


def friendly(e: BaseException) -> str:
    """A one-paragraph message for a person; the traceback goes to the server log only."""
    from netlib.analysis.images import ImageError
    from netlib.checkpoint import CheckpointError
    from netlib.mnist import DataError
    from netlib.runs.files import RunDirError
    from netlib.safepath import UnsafePath

    if isinstance(e, (CheckpointError, DataError, ImageError, RunDirError, UnsafePath)):
        return str(e)
    if isinstance(e, FileNotFoundError):
        return f"A file is missing: {e.filename or e}."
    if isinstance(e, PermissionError):
        return f"No permission to use {e.filename or 'a file'}: check the runs directory."
    text = str(e).strip().splitlines()
    return f"Something went wrong ({type(e).__name__}: {text[0][:300] if text else 'no details'})."


def guarded(fn):
    """Run a page region; any exception becomes an st.error with a clear message, never a traceback.

    Streamlit's own rerun/stop signals are BaseExceptions and pass through untouched.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - this is the page's last line of defence
            log.exception("error in %s", fn.__name__)
            st.error(friendly(e), icon=":material/error:")
            return None
    return wrapper


def runs_dir() -> Path:
    return default_runs_dir()


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


# ---------------------------------------------------------------- cached resources
@st.cache_resource(show_spinner=False, max_entries=16)
def _load_model(path: str, stamp: float):
    """A checkpoint's model in eval mode, shared by all sessions: used read-only (forward passes)."""
    import torch

    from netlib.checkpoint import load_checkpoint

    model, meta = load_checkpoint(Path(path))
    with torch.no_grad():  # warm up: the first forward pass pays for kernel setup, not the user
        model(torch.zeros(1, 1, 28, 28))
    return model, meta


def load_model(path: Path):
    """(model, meta) for a checkpoint; reloaded when the file changes (a live run rewrites it)."""
    path = catalogue.allowed_checkpoint(path)  # UnsafePath unless under checkpoints/, runs/ or uploads/
    return _load_model(str(path), catalogue.file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=64)
def _checkpoint_meta(path: str, stamp: float) -> dict:
    from netlib.checkpoint import read_checkpoint

    return {k: v for k, v in read_checkpoint(Path(path)).items() if k != "state_dict"}


def checkpoint_meta(path: Path) -> dict:
    path = catalogue.allowed_checkpoint(path)
    return _checkpoint_meta(str(path), catalogue.file_stamp(path))


@st.cache_data(show_spinner=False)
def recorded_story() -> list[dict]:
    """The shipped Residual-vs-Plain gradient recording (Home's story, the skip-gradient lesson)."""
    return catalogue.recorded_story(style.COLORS)


@st.cache_data(show_spinner=False)
def layer_rows(model: str, blocks: int = 1, width: int = DEFAULT_WIDTH) -> list[dict]:
    return inspection.layer_table(model, **sized(model, blocks, width))


@st.cache_data(show_spinner=False)
def model_cost(model: str, blocks: int = 1, width: int = DEFAULT_WIDTH) -> dict:
    return inspection.model_cost(model, **sized(model, blocks, width))


def sized(model: str, blocks: int = 1, width: int = DEFAULT_WIDTH) -> dict:
    """The model keyword arguments for a page's blocks/width inputs (each applies to some networks)."""
    return shape_kwargs(model, int(blocks) if model in DEPTH_MODELS else None,
                        int(width) if model in WIDTH_MODELS else None)


def shape_inputs(model: str, key: str, blocks: int = 1, width: int = DEFAULT_WIDTH, column=st) -> tuple[int, int]:
    """The 'Blocks per stage' or 'Width' number input that applies to `model` (keys KEY_blocks and
    KEY_width, or blocks and width when key is ""); returns (blocks, width), the other one published."""
    key = f"{key}_" if key else ""
    # The start value goes into session state rather than value=: a link may have set the key already,
    # and Streamlit warns when a widget gets both.
    if model in DEPTH_MODELS:
        st.session_state.setdefault(f"{key}blocks", blocks)
        blocks = column.number_input("Blocks per stage", 1, MAX_BLOCKS, key=f"{key}blocks",
                                     help="1 as published; stack more to see how depth changes gradient flow")
    if model in WIDTH_MODELS:
        st.session_state.setdefault(f"{key}width", width)
        width = column.number_input("Width", 1, MAX_WIDTH, key=f"{key}width",
                                    help=f"conv1's channels, the first Inception block's input (conv2 gives "
                                         f"twice as many); {DEFAULT_WIDTH} as published. Below {REDUCE} "
                                         f"channels the 1x1 convs widen them, and below about "
                                         f"{crossover_width():.0f} they add work.")
    return int(blocks), int(width)


@st.cache_resource(show_spinner="Loading the MNIST test set...")
def test_digits():
    """(uint8 N x 28 x 28 numpy, labels, source name): MNIST's test set, or drawn digits without it."""
    try:
        from netlib.data import load_mnist

        x, y = load_mnist(False)
        return x.numpy(), y.numpy(), MNIST_SOURCE
    except Exception:  # no MNIST here (offline fresh install): digits drawn by netlib.analysis.strokes instead
        log.exception("MNIST test set unavailable; using drawn digits")
        from netlib.analysis.preprocess import prepare
        from netlib.analysis.strokes import Style, render

        images, labels = [], []
        for i in range(100):
            digit = i % 10
            style = Style(box=0.6 + 0.02 * (i // 10), width=16 + (i // 10), polarity="light_on_dark",
                          variant=i // 10)
            images.append(prepare(render(digit, style)).preview)
            labels.append(digit)
        return np.stack(images), np.array(labels), "drawn digits (MNIST is not available)"


def _lesion_rows(path: str, stamp: float, limit: int) -> list[tuple[str, float]]:
    """The lesion test of a checkpoint on the first `limit` test digits."""
    from netlib.analysis.lesion import lesion_test
    from netlib.data import normalize

    images, labels, _ = test_digits()
    model, _ = _load_model(path, stamp)  # lesion_test works on a copy: the shared model stays whole
    return lesion_test(model, normalize(images[:limit]), labels[:limit])


def lesion_rows(path: Path, limit: int) -> list[tuple[str, float]]:
    """Computed once per server for every session (Inspect's tab and the lesion lesson ask for the same
    shipped checkpoints; a second visitor waits for the first one's run); the stamp (mtime) makes a run's
    rewritten checkpoint a new key."""
    path = catalogue.allowed_checkpoint(path)
    stamp, limit = catalogue.file_stamp(path), int(limit)
    return shared(("lesion", str(path), stamp, limit), lambda: _lesion_rows(str(path), stamp, limit))


@st.cache_resource(show_spinner=False)
def setup_server() -> None:
    """Once per server process, before any inference: the server only runs batch-1 inference, for
    which one thread is fastest (no thread-pool handoffs, ~6 ms for both networks), and it leaves
    the cores to the training processes."""
    import torch

    torch.set_num_threads(1)
    warm_shipped(MODELS)  # Results' first visitor finds the shipped checkpoints' evaluations ready


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda · {torch.cuda.get_device_name(0)}"
    return f"cpu · {os.cpu_count()} cores"


def checkpoint_picker(model: str, runs: list, key: str, label: str | None = None):
    """A selectbox over the shipped checkpoint and the runs' checkpoints of `model`; the choice or None.
    Session state holds the checkpoint's id (catalogue.choice_id), not its place in the list: a run that
    saves its first checkpoint, or one deleted, leaves the choice as it was."""
    choices = catalogue.checkpoint_choices(model, runs)
    if not choices:
        st.warning(f"No trained {model} checkpoint yet: train one on the Train page.",
                   icon=":material/info:")
        return None
    by_id = {checkpoint_id(c): c for c in choices}
    stored = st.session_state.get(key)
    gone = stored is not None and stored not in by_id  # said once: the first one is stored from now on
    if stored not in by_id:
        stored = next(iter(by_id))
    st.session_state[key] = stored  # set before the widget, so it shows this id whatever the list did
    picked = st.selectbox(label or f"{model} checkpoint", list(by_id), format_func=lambda i: by_id[i].label,
                          key=key)
    if gone:
        st.caption(f"The checkpoint you had chosen is gone; showing {literal(by_id[stored].label)}.")
    return by_id.get(picked, by_id[stored])
