"""Sweep: define a hyperparameter space, start an Optuna study on it, watch its trials and Optuna's figures."""

from pathlib import Path

import streamlit as st

from app_pages import _links as links
from app_pages import _sweep_parts as parts
from app_pages._common import chart, guarded, runs_dir
from app_pages._escape import literal
from app_pages._report import report_button
from netlib.charts import sweep as figures
from netlib.lab import catalogue
from netlib.lab import sweeps as lab
from netlib.models import SHOWCASE, title
from netlib.runs import reader
from netlib.sweeps import trials as T
from netlib.sweeps.storage import StorageError, describe, open_storage, storage_url

REFRESH_S = 2.0  # as Train: redrawing every second costs the trials' training noticeably on a small machine
COLUMNS = {
    "Accuracy": st.column_config.NumberColumn("Accuracy", format="%.2f%%",
                                              help="test accuracy: the final one; else the last epoch's (while it trains, or where it was pruned or failed)"),
    "Best so far": st.column_config.NumberColumn(format="%.2f%%", help="the best final accuracy up to this trial"),
    "Time": st.column_config.NumberColumn(format="%.0f s", help="from the trial's start to its end (or now)"),
    "Run": st.column_config.LinkColumn(display_text=r"run=(.*)$", help="opens the run on the Train page"),
    "Where": st.column_config.TextColumn(help="the machine whose worker trains it"),
}


@st.cache_resource(show_spinner=False, max_entries=4)
def storage_for(url, folder: str):
    """One storage object per place, shared by the sessions (Optuna's storages are thread-safe)."""
    return open_storage(url, Path(folder))


def sweep_header(spec, counts: dict) -> None:
    axes = ", ".join(spec.axes()) or "nothing"
    done, total = lab.finished(counts)
    st.caption(f"{spec.sampler} over {axes} · pruning {spec.prune} · "
               + " · ".join(f"{n} {state.lower()}" for state, n in sorted(counts.items())))
    st.progress(done / total if total else 0.0, text=f"{done} of {total} trials finished")


def worker_line(spec, counts: dict, url) -> None:
    """Who takes the trials on this machine; a button to start a worker when trials wait and none is here."""
    here = lab.workers_here(runs_dir(), spec.name)  # polled even when done: ended workers are reaped
    waiting = counts.get("WAITING", 0)
    if not (waiting or counts.get("RUNNING")):
        return  # nothing left to take: a worker still exiting is no news
    if here:
        st.caption(f"{here} worker{'s' if here != 1 else ''} on this machine {'are' if here != 1 else 'is'} "
                   "taking its trials.")
        return
    if not waiting:
        return
    last = lab.worker_log_line(runs_dir(), spec.name)
    st.info(f"{waiting} trial{'s' if waiting != 1 else ''} waiting and no worker on this machine. Start one "
            f"here, or on any machine that reaches the storage: `python -m netlib sweep work {spec.name}`."
            + (f" The last worker here wrote: “{literal(last)}”" if last else ""), icon=":material/hourglass_empty:")
    if st.button("Start a worker here", icon=":material/play_arrow:", key="sweep_start_worker"):
        lab.start_workers(runs_dir(), spec.name, url, 1)
        st.rerun(scope="fragment")


def trial_table(spec, rows: list) -> None:
    base = links.app_base(st.context.url or "")
    table = lab.trial_table(rows, list(spec.axes()), runs_dir(), base)
    st.dataframe(table, hide_index=True, column_config=COLUMNS, width="stretch", key="sweep_trials_table")
    if any(r["Where"].startswith("on ") for r in table):
        st.caption("Run folders on other machines are not here; their per-epoch accuracy comes from the shared "
                   "storage.")


def open_best(spec, best) -> None:
    """The best trial on Draw, Results or Compare, when its run folder and checkpoint are here."""
    if best is None:
        return
    path = lab.best_checkpoint(best, runs_dir())
    model = {**spec.constants(), **best.params}.get("model")
    st.markdown(f"**Best trial: {best.number}**, {best.value:.2f}% · "
                + " · ".join(f"{k} = {v:.3g}" if isinstance(v, float) else f"{k} = {v}" for k, v in best.params.items()))
    if path is None or model is None:
        st.caption("Its run folder is not in this runs folder (or saved no checkpoint): it opens on the "
                   "machine that trained it.")
        return
    a, b, c = st.columns(3)
    choices = catalogue.checkpoint_choices(model, reader.run_index(runs_dir()))
    i = catalogue.choice_id(choices, path)  # the pickers keep ids
    if a.button("Open on Draw", icon=":material/draw:", key="sweep_open_draw", width="stretch",
                disabled=model not in SHOWCASE or i is None,
                help=None if model in SHOWCASE else f"Draw shows {' and '.join(map(title, SHOWCASE))}"):
        st.session_state[f"draw_ckpt_{model}"] = i
        st.switch_page("app_pages/draw.py")
    if b.button("Open on Results", icon=":material/grading:", key="sweep_open_results", width="stretch",
                disabled=i is None):
        st.session_state["results_model"] = model
        st.session_state[f"results_ckpt_{model}"] = i
        st.switch_page("app_pages/results.py")
    if c.button("Open on Compare", icon=":material/compare_arrows:", key="sweep_open_compare", width="stretch"):
        st.session_state["compare_runs"] = [path.parent.name]
        st.switch_page("app_pages/compare.py")


def figure_tabs(study) -> None:
    tabs = st.tabs([name for _, name, _ in figures.FIGURES])
    for tab, (key, _, what) in zip(tabs, figures.FIGURES):
        with tab:
            fig, note = figures.figure(study, key)
            if fig is None:
                st.info(note, icon=":material/info:")
            else:
                chart(fig, key=f"sweep_fig_{key}")
                st.caption(f"Optuna's figure: {what}.")


def sweep_view(storage, url, name: str, polling: bool) -> None:
    study, spec = T.load(name, storage)
    T.reap_lost(study)  # a worker that died never leaves its trial running forever
    counts = T.progress(study)
    sweep_header(spec, counts)
    worker_line(spec, counts, url)
    trial_table(spec, T.rows(study))
    report_button([], "sweep", sweep=(study, spec))
    open_best(spec, T.best(study))
    figure_tabs(study)
    if polling and not (counts.get("WAITING") or counts.get("RUNNING")):
        st.rerun()  # the sweep has ended: redraw the page once, without the timer


def watch(storage, url, names: list) -> None:
    if st.session_state.get(parts.SELECTED) not in names:
        st.session_state.pop(parts.SELECTED, None)  # deleted meanwhile, or never chosen: the newest
    name = st.selectbox("Sweep", names, key=parts.SELECTED, help="the sweeps in the storage, newest first")
    if name is None:
        return
    study, _ = T.load(name, storage)
    counts = T.progress(study)
    polling = bool(counts.get("WAITING") or counts.get("RUNNING"))

    @st.fragment(run_every=REFRESH_S if polling else None)
    def view() -> None:
        guarded(sweep_view)(storage, url, name, polling)

    view()


def main() -> None:
    st.title("Sweep")
    st.caption("Many runs designed at once: an Optuna study over the options you list. Each trial is a run "
               "that waits in the run queue like any other, trained by a sweep worker.")
    url = storage_url(None)
    try:
        storage = storage_for(url, str(runs_dir()))
    except StorageError as e:
        st.error(f"The sweep storage cannot be used: {literal(str(e))}", icon=":material/error:")
        return
    where = literal(describe(url, runs_dir()))  # a hidden password's '***' is no emphasis
    st.caption(f"Sweeps are stored in {where}" + (" ($NETLIB_OPTUNA_STORAGE)." if url else "."))
    kind, text = st.session_state.pop(parts.MESSAGE, (None, None))
    if kind:
        getattr(st, kind)(text)
    sweeps = sorted(T.list_sweeps(storage), key=lambda s: s["created"] or "", reverse=True)
    with st.expander("New sweep", expanded=not sweeps, icon=":material/add:"):
        guarded(parts.new_sweep)(storage, url)
    if not sweeps:
        st.info("No sweeps yet: define one above and start it.", icon=":material/info:")
        return
    watch(storage, url, [s["name"] for s in sweeps])


links.run("sweep", main)
