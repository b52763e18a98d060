"""The run queue on the pages: a queued run's (or a +1 epoch's) place in line with Cancel (Train, Compare)
and the sidebar's list of what waits in line with cancel and move-to-front buttons."""

from pathlib import Path

import streamlit as st

from app_pages._common import runs_dir
from app_pages._escape import code, literal
from netlib.lab import launch
from netlib.runs import queue
from netlib.runs.files import CANCELLED, QUEUED
from netlib.runs.notebook import place_in_line
from netlib.runs.reader import read_status


def where(info) -> str:
    """'queued, position 2', '+1 epoch queued, position 2' or 'starting' for a waiting run (markdown: a
    status is read from the run folder)."""
    return place_in_line(info.status, info.queue_position) or literal(info.status)


def extension_waits(info) -> bool:
    """An ended run whose +1 epoch waits in the queue (the run itself stays as it is until it starts)."""
    return info.queue_position is not None and info.status != QUEUED


def handles(info) -> bool:
    """A run this module shows instead of its charts: waiting for slots or a process, or cancelled."""
    return info.waiting or info.status == CANCELLED


def _no_longer_queued(run_dir: Path) -> None:
    """Say what the run is now: started, but also cancelled elsewhere, failed or deleted meanwhile."""
    status = read_status(run_dir) if run_dir.is_dir() else {"status": "deleted"}
    now = f"it is {status['status']}" if status else "it has no status"
    if launch.extension_starting(run_dir):
        now = "its +1 epoch has started"
    st.toast(f"{literal(run_dir.name)} is no longer queued: {literal(now)}.")


def cancel(run_dir: Path) -> None:
    if not queue.cancel(Path(run_dir)):
        _no_longer_queued(Path(run_dir))


def front(run_dir: Path) -> None:
    if not queue.to_front(Path(run_dir)):
        _no_longer_queued(Path(run_dir))


def waiting_panel(info, polling: bool, key: str = "") -> None:
    """Train's view of a queued (or cancelled) run: where it is in line, and Cancel. It pumps the queue
    on every redraw, so the run is seen starting even when no training process ends to start it."""
    if info.status == CANCELLED:
        st.info("This run was cancelled before it started. Start another on the left.", icon=":material/block:")
        if polling:
            st.rerun()  # redraw the page once without the timer: Start is free again
        return
    queue.pump(runs_dir())
    text = (f"**{where(info)}**: it starts as soon as enough of the {_slots(info)} slots are free "
            "(runs before it in line go first)." if info.status == QUEUED else
            "**starting**: the training process is loading torch and the data...")
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.info(text, icon=":material/schedule:")
    if info.status == QUEUED:
        right.button("Cancel", icon=":material/close:", key=f"q_cancel{key}_{info.name}", width="stretch",
                     on_click=cancel, args=(info.dir,), help="take this run out of the queue; it never trains")


def _slots(info) -> str:
    """'2 CPU' or '4 GPU': the slots the run waits for (a CUDA run waits for a GPU slot)."""
    cuda = str(info.config.get("device", "")).startswith("cuda")
    return f"{queue.gpu_slots()} GPU" if cuda else f"{queue.cpu_slots()} CPU"


def extension_panel(info) -> None:
    """Train's view of an ended run whose +1 epoch waits in line: where, and Cancel. It pumps the queue on
    every redraw, so the +1 epoch is seen starting even when no training process ends to start it."""
    queue.pump(runs_dir())
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.info(f"**{where(info)}**: it starts as soon as enough of the {_slots(info)} slots are free (runs "
              "before it in line go first); until then the run stays as it is.", icon=":material/schedule:")
    right.button("Cancel", icon=":material/close:", key=f"q_cancel_{info.name}", width="stretch", on_click=cancel,
                 args=(info.dir,), help="take this +1 epoch out of the queue; the run stays as it is")


def waiting_lines(infos: list) -> list:
    """Compare's line per waiting run of the pair ('NAME: queued, position N' and Cancel); those runs."""
    waiting = [r for r in infos if r is not None and r.waiting]
    for r in waiting:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.info(f"{literal(r.name)}: {where(r)}", icon=":material/schedule:")
        if r.status == QUEUED:
            right.button("Cancel", icon=":material/close:", key=f"cmp_cancel_{r.name}", width="stretch",
                         on_click=cancel, args=(r.dir,))
    return waiting


def sidebar_queue(entries: list) -> None:
    """The sidebar's queued runs under the live ones: position, network, cancel, move to the front."""
    line = sorted((e for e in entries if e.waiting or e.queue_position), key=lambda e: e.queue_position or 0)
    if not line:
        return
    st.caption(f"Queued or starting ({queue.cpu_slots()} CPU slots)")
    for e in line:
        text, cancel_col, front_col = st.columns([5, 1, 1], vertical_alignment="center")
        place = f"{e.queue_position}. " if e.queue_position else ""  # a run starting has left the line
        text.markdown(f":orange[●] {place}**{literal(e.network or e.model)}** · {literal(e.recipe)}"
                      f"  \n{code(e.name)} · {where(e)}")
        if not e.queue_position:  # starting: no longer in line
            continue
        cancel_col.button("", icon=":material/close:", key=f"sb_cancel_{e.name}", on_click=cancel, args=(e.dir,),
                          help="cancel: it never trains" if e.waiting else "cancel the +1 epoch: the run stays as it is")
        if e.queue_position and e.queue_position > 1:
            front_col.button("", icon=":material/vertical_align_top:", key=f"sb_front_{e.name}",
                             help="move to the front of the queue", on_click=front, args=(e.dir,))
