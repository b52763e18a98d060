"""The Download ONNX button beside a checkpoint (Results, Draw): the export is made when clicked, then
kept for that version of the checkpoint."""

from pathlib import Path

import streamlit as st

import netlib.onnx_export
from netlib.lab.uploads import shared_files

HELP = ("The network as an ONNX model for onnxruntime or any ONNX runtime, its input contract inside "
        "(docs/export.md). Made when clicked: a few seconds the first time.")


@st.cache_data(show_spinner=False, max_entries=16)
def _onnx(path: str, stamp: int) -> bytes:
    return netlib.onnx_export.onnx_bytes(Path(path))


def onnx_file(path: Path) -> bytes:
    """The checkpoint at path as an .onnx file's bytes: exported once per path and modification time (a
    run trained further, or an upload replaced, is exported again)."""
    path = Path(path).resolve()
    return _onnx(str(path), path.stat().st_mtime_ns)


def onnx_button(choice, key: str) -> None:
    """A download button for choice's checkpoint as NAME.onnx (NAME as its .pt download is called);
    nothing when there is no checkpoint."""
    if choice is None:
        return
    name = Path(shared_files(choice.path)[0].file_name).with_suffix(".onnx").name
    path = choice.path
    # data as a function: Streamlit calls it on click, in its own thread, so the page never waits for it
    st.download_button(f"ONNX: {name}", data=lambda: onnx_file(path), file_name=name,
                       mime="application/octet-stream", on_click="ignore", key=key,
                       icon=":material/download:", help=HELP)
