"""A page's "Download report": the runs it shows (and a sweep) as one HTML file (netlib/report). Built only
on a click, as it reads each finished run's checkpoint on the test set; then kept for this session until the
runs change, and handed over by a download button."""

from pathlib import Path

import streamlit as st

from app_pages._common import guarded, runs_dir
from app_pages._escape import literal
from netlib.report import build

HELP = ("one HTML file of these runs: the charts (interactive), their settings and final figures, a finished "
        "run's confusion matrix and misread digits; it opens from disk in any browser, with no server and "
        "no network")


def report_button(dirs: list, key: str, sweep=None) -> None:
    """'Build report' for these run folders (and sweep: (study, spec)); once built, 'Download report'."""
    guarded(_button)([Path(d) for d in dirs], key, sweep)


def _button(dirs: list[Path], key: str, sweep) -> None:
    if not dirs and sweep is None:
        return
    state, made_of = f"_report_{key}", build.stamp(dirs, sweep)
    kept = st.session_state.get(state)
    if kept is None or kept[0] != made_of:
        if not st.button("Build report", key=f"{key}_report_build", icon=":material/description:", help=HELP):
            return
        try:
            with st.spinner("Building the report (each finished run's checkpoint reads the test set)..."):
                page = build.build_report(dirs, sweep, runs_dir())
        except build.ReportError as e:
            st.error(literal(str(e)), icon=":material/error:")
            return
        kept = (made_of, page.encode("utf-8"), build.file_name(dirs, sweep[1].name if sweep else None))
        st.session_state[state] = kept
    # data as a callable: the 5 MB go to the browser on the click, not with every rerun of the page
    st.download_button(f"Download report ({len(kept[1]) / 2**20:.1f} MB)", data=lambda: kept[1], file_name=kept[2],
                       mime="text/html", on_click="ignore", key=f"{key}_report_download", icon=":material/download:",
                       help=HELP)


def checkpoint_report_button(path, key: str) -> None:
    """report_button for the run a checkpoint is the result of; nothing for a shipped or uploaded one."""
    run = build.run_of_checkpoint(Path(path))
    if run is not None:
        report_button([run], key)
