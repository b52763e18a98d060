"""Shared by the pages: the error guard, cached loaders and small display helpers (Streamlit side)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np
import streamlit as st

from netlib import run_summary, ui_state
from netlib.runs import default_runs_dir

log = logging.getLogger("netlib.app")

# Set by the Results page, read once by Inspect: {"model", "checkpoint" (path str), "index" (test digit)}.
INSPECT_REQUEST = "inspect_request"


def friendly(e: BaseException) -> str:
    """A one-paragraph message for a person; the traceback goes to the server log only."""
    from netlib.checkpoint import CheckpointError
    from netlib.data import DataError
    from netlib.preprocess import ImageError
    from netlib.runs import RunDirError
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


def require_frame() -> None:
    """Make sure the page runs inside app.py's frame (navigation, page config, sidebar).

    Streamlit keeps a relic of its old multipage mode: while no session has called st.navigation yet
    (the first visit after the server starts) and a pages/ folder exists, a URL like /train runs
    pages/train.py on its own. Switch that mode off and rerun: the rerun executes app.py, which
    resolves the same page through st.navigation.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the relic
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def runs_dir() -> Path:
    return default_runs_dir()


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", key=key, config={"displaylogo": False})


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


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
    path = ui_state.allowed_checkpoint(path)  # UnsafePath unless under checkpoints/, runs/ or uploads/
    return _load_model(str(path), ui_state.file_stamp(path))


@st.cache_resource(show_spinner=False, max_entries=64)
def _checkpoint_meta(path: str, stamp: float) -> dict:
    from netlib.checkpoint import read_checkpoint

    return {k: v for k, v in read_checkpoint(Path(path)).items() if k != "state_dict"}


def checkpoint_meta(path: Path) -> dict:
    path = ui_state.allowed_checkpoint(path)
    return _checkpoint_meta(str(path), ui_state.file_stamp(path))


@st.cache_data(show_spinner=False)
def layer_rows(model: str, blocks: int = 1) -> list[dict]:
    from netlib.inspection import layer_table

    return layer_table(model, **({"blocks": blocks} if blocks != 1 else {}))


@st.cache_data(show_spinner=False)
def model_cost(model: str, blocks: int = 1) -> dict:
    return run_summary.model_cost(model, blocks)


@st.cache_resource(show_spinner="Loading the MNIST test set...")
def test_digits():
    """(uint8 N x 28 x 28 numpy, labels, source name): MNIST's test set, or drawn digits without it."""
    try:
        from netlib.data import load_mnist

        x, y = load_mnist(False)
        return x.numpy(), y.numpy(), "MNIST test set"
    except Exception:  # no MNIST here (offline fresh install): digits drawn by netlib.strokes instead
        log.exception("MNIST test set unavailable; using drawn digits")
        from netlib.preprocess import prepare
        from netlib.strokes import Style, render

        images, labels = [], []
        for i in range(100):
            digit = i % 10
            style = Style(box=0.6 + 0.02 * (i // 10), width=16 + (i // 10), polarity="light_on_dark",
                          variant=i // 10)
            images.append(prepare(render(digit, style)).preview)
            labels.append(digit)
        return np.stack(images), np.array(labels), "drawn digits (MNIST is not available)"


@st.cache_resource(show_spinner=False)
def setup_server() -> None:
    """Once per server process, before any inference."""
    ui_state.configure_server_torch()


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    return ui_state.device_label()


def checkpoint_picker(model: str, runs: list, key: str, label: str | None = None):
    """A selectbox over the shipped checkpoint and the runs' checkpoints of `model`; the choice or None."""
    choices = ui_state.checkpoint_choices(model, runs)
    if not choices:
        st.warning(f"No trained {model} checkpoint yet: train one on the Train page.",
                   icon=":material/info:")
        return None
    i = st.selectbox(label or f"{model} checkpoint", range(len(choices)),
                     format_func=lambda j: choices[j].label, key=key)
    return choices[i if i is not None and i < len(choices) else 0]
