"""Runs: the lab notebook: every run with its label, tags and notes; find, open, annotate, archive or delete runs."""

import hashlib

import streamlit as st

from app_pages import _links as links
from app_pages._common import guarded, runs_dir
from app_pages._escape import code, literal
from netlib.bounded import size_text
from netlib.lab import catalogue
from netlib.runs import manage, notebook, queue, reader
from netlib.runs.files import CHECKPOINT, QUEUED
from netlib.runs.meta import MAX_LABEL, MAX_NOTES, MetaError
from netlib.safepath import UnsafePath

MESSAGE = "runs_message"  # (kind, text) to show once after an action's rerun
CONFIRM = "runs_confirm_delete"  # the run names a person asked to delete, awaiting "Yes, delete"
ALL = ""
COLUMNS = {
    "Label": st.column_config.TextColumn(width="medium", help="defaults to the run's folder name"),
    "Network": st.column_config.TextColumn(help="as built: blocks per stage (×3) or width (w64) when not as published"),
    "Recipe": st.column_config.TextColumn(help="the recipe, with the values this run changed"),
    "Final acc": st.column_config.NumberColumn(format="%.2f%%", help="test accuracy after the last epoch"),
    "Best acc": st.column_config.NumberColumn(
        format="%.2f%%", help="best test accuracy of any epoch (empty: not recorded for this run); on a group "
                              "of seeds' line: the best of its runs (empty if one of them did not record it)"),
    # seconds: minutes with one decimal showed a run of a few seconds as "0.0 min"
    "Training": st.column_config.NumberColumn(format="%.0f s", help="seconds from start to the last epoch"),
    "Started": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm",
                                               help="when training began (empty: queued or starting)"),
    "Over seeds": st.column_config.TextColumn(
        help="a group of runs that differ only in seed: its final accuracy over the finished seeds, with the "
             "band (min to max for 2 seeds, ± the standard deviation from 3)"),
    "Tags": st.column_config.ListColumn(),
    "Sweep": st.column_config.TextColumn(help="the sweep this run is a trial of (the Sweep page)"),
    "Size": st.column_config.NumberColumn(format="%.1f MiB", help="what the run's folder takes on disk"),
}


def say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def act(done: str, change, names: list, *args) -> None:
    """change(runs folder, name, *args) for each run, then a rerun that says how it went. A refusal (bad
    text, a run deleted meanwhile, unreadable metadata) is a warning with the reason, not an error."""
    try:
        for name in names:
            change(runs_dir(), name, *args)
    except (MetaError, manage.RunRefused, UnsafePath) as e:
        say("warning", f"Not saved: {literal(str(e))}.")
    else:
        say("success", done)
    st.rerun()


def first_line(text: str, most: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:most] + ("…" if len(line) > most or len(text.strip().splitlines()) > 1 else "")


def table_row(r: notebook.Row) -> dict:
    return {"Label": r.label, "Network": r.network, "Recipe": r.recipe, "Status": notebook.status_text(r),
            "Archived": r.archived, "Final acc": None if r.final_acc is None else 100 * r.final_acc,
            "Best acc": None if r.best_acc is None else 100 * r.best_acc, "Epochs": r.epochs,
            "Training": r.seconds, "Started": r.started, "Over seeds": "",
            "Tags": list(r.meta.tags), "Sweep": r.sweep,
            "Notes": f"⚠ {r.meta.problem}" if r.meta.problem else first_line(r.meta.notes),
            "Size": r.bytes / 2**20, "Run": r.name}


def filters(rows: list) -> list:
    """The filter row above the table: network, status, tag and free text; the rows they keep. A filter's value
    from a link that no run here has goes back to 'all', and is said."""
    found = {"network": {r.network for r in rows}, "status": {r.status for r in rows},
             "tag": {t for r in rows for t in r.meta.tags}}
    for what, values in found.items():
        value = st.session_state.get(f"runs_{what}")
        if value is not None and value not in (ALL, *values):
            st.session_state[f"runs_{what}"] = ALL
            st.warning(f"No run here has the {what} {code(str(value))}: showing all.", icon=":material/link_off:")
    *columns, d = st.columns([1, 1, 1, 2])
    picked = [column.selectbox(what.capitalize(), [ALL, *sorted(values)], key=f"runs_{what}",
                               format_func=lambda v: v or "all")
              for column, (what, values) in zip(columns, found.items())]
    text = d.text_input("Search", key="runs_search", placeholder="label, notes, run name, recipe...")
    return [r for r in rows if notebook.matches(r, *picked, text.strip())]


def group_row(rows: list) -> dict:
    """A group of seeds as one line; its runs' own cells where they agree, the seeds' accuracy in words."""
    g = notebook.group_summary(rows)
    line = {**table_row(rows[0]), "Label": g["label"], "Status": g["status"],
            "Best acc": None if g["best"] is None else 100 * g["best"],
            "Final acc": None if g["final_mean"] is None else 100 * g["final_mean"], "Over seeds": g["words"],
            "Epochs": min(r.epochs for r in rows), "Notes": "", "Size": sum(r.bytes for r in rows) / 2**20,
            "Tags": sorted({t for r in rows for t in r.meta.tags}), "Run": ", ".join(r.name for r in rows),
            "Sweep": ", ".join(sorted({r.sweep.split(" · ")[0] for r in rows if r.sweep}))}
    seconds = [r.seconds for r in rows if r.seconds is not None]
    line["Training"] = sum(seconds) / len(seconds) if seconds else None
    return line


def table(rows: list, archived: bool) -> list:
    """The sortable table (click a header); the rows a person ticked (a group's line: all its runs).
    archived: archived runs are shown, so is their column (by Status: no sideways scrolling to it)."""
    grouped = st.toggle("One line per group of seeds", value=True, key="runs_grouped",
                        help="runs that differ only in seed (Repeat with N seeds) as one line")
    lines = notebook.seed_groups(rows) if grouped else [[r] for r in rows]
    names = "\n".join(",".join(r.name for r in line) for line in lines)
    # The key follows the rows shown: a filter or a deletion starts a fresh selection, so a ticked row
    # can never silently become another run.
    key = "runs_table_" + hashlib.sha1(names.encode()).hexdigest()[:12]
    data = [table_row(line[0]) if len(line) == 1 else group_row(line) for line in lines]
    if not archived:
        data = [{k: v for k, v in row.items() if k != "Archived"} for row in data]
    event = st.dataframe(data, key=key,
                         on_select="rerun", selection_mode="multi-row", hide_index=True, column_config=COLUMNS,
                         width="stretch")
    return [r for i in event.selection.rows if i < len(lines) for r in lines[i]]


def open_buttons(chosen: list) -> None:
    a, b, c = st.columns(3)
    one = chosen[0] if len(chosen) == 1 else None
    if a.button("Open on Train", icon=":material/model_training:", key="runs_open_train", disabled=one is None,
                width="stretch", help=None if one else "select one run"):
        st.session_state["train_run"] = str(one.dir)
        st.switch_page("app_pages/train.py")
    if b.button("Open on Compare", icon=":material/compare_arrows:", key="runs_open_compare", width="stretch"):
        st.session_state["compare_runs"] = [r.name for r in chosen]
        st.switch_page("app_pages/compare.py")
    saved = one is not None and (one.dir / CHECKPOINT).is_file()
    if c.button("Open on Results", icon=":material/grading:", key="runs_open_results", disabled=not saved,
                width="stretch", help=None if saved else "select one run that saved a checkpoint"):
        choices = catalogue.checkpoint_choices(one.model, reader.run_index(runs_dir()))
        picked = catalogue.choice_id(choices, one.dir / CHECKPOINT)
        st.session_state["results_model"] = one.model
        if picked is not None:
            st.session_state[f"results_ckpt_{one.model}"] = picked
        st.switch_page("app_pages/results.py")


def edit_one(r: notebook.Row) -> None:
    """Label and notes of one run (markdown notes with a preview)."""
    label = st.text_input("Label", r.meta.label, max_chars=MAX_LABEL, key=f"runs_label_{r.name}",
                          placeholder=r.name, help="empty: the run's folder name")
    if st.button("Save label", key="runs_save_label", icon=":material/label:"):
        act("Label saved.", manage.set_label, [r.name], label)
    left, right = st.columns(2)
    notes = left.text_area("Notes (markdown)", r.meta.notes, max_chars=MAX_NOTES, height=160,
                           key=f"runs_notes_{r.name}")
    with right:
        st.caption("Preview")
        with st.container(border=True, height=160):
            st.markdown(notes or "*no notes*")  # the person's own markdown; HTML stays text
    if st.button("Save notes", key="runs_save_notes", icon=":material/edit_note:"):
        act("Notes saved.", manage.set_notes, [r.name], notes)


def tag_controls(chosen: list) -> None:
    a, b = st.columns(2)
    new = a.text_input("Add tags", key="runs_new_tags", placeholder="baseline lr-sweep",
                       help="separated by spaces; letters, digits, '_', '.' and '-', up to 32 each")
    if a.button("Add", key="runs_add_tags", icon=":material/new_label:", disabled=not new.strip()):
        act(f"Tagged {len(chosen)} run{'s' if len(chosen) != 1 else ''}.", manage.add_tags, [r.name for r in chosen],
            new.split())
    have = sorted({t for r in chosen for t in r.meta.tags})
    gone = b.multiselect("Remove tags", have, key="runs_gone_tags")
    if b.button("Remove", key="runs_remove_tags", icon=":material/label_off:", disabled=not gone):
        act("Tags removed.", manage.remove_tags, [r.name for r in chosen], gone)


def archive_and_delete(chosen: list) -> None:
    a, b = st.columns(2)
    archived = all(r.archived for r in chosen)
    if a.button("Unarchive" if archived else "Archive", key="runs_archive", width="stretch",
                icon=":material/unarchive:" if archived else ":material/archive:",
                help="archived runs are hidden unless 'Show archived' is on, and prune never deletes them"):
        act(f"{'Unarchived' if archived else 'Archived'} {len(chosen)} run{'s' if len(chosen) != 1 else ''}.",
            manage.set_archived, [r.name for r in chosen], not archived)
    if b.button("Delete...", key="runs_delete", icon=":material/delete:", width="stretch"):
        st.session_state[CONFIRM] = [r.name for r in chosen]
        st.rerun()


def confirm_delete(rows: list) -> None:
    """The confirmation step: which runs go (and how much space), which are kept and why."""
    names = st.session_state.get(CONFIRM) or []
    by_name = {r.name: r for r in rows}
    asked = [by_name[n] for n in names if n in by_name]
    kept = [(r, manage.why_kept(r.dir)) for r in asked]
    going = [r for r, why in kept if not why]
    with st.container(border=True):
        for r, why in kept:
            if why:
                st.warning(f"Kept: {literal(why)}.", icon=":material/block:")
        if going:
            st.markdown(f"Delete **{len(going)} run{'s' if len(going) != 1 else ''}** "
                        f"({size_text(sum(r.bytes for r in going))}) for good? "
                        + ", ".join(f"*{literal(r.label)}*" for r in going[:10])  # no code span: it shows escapes
                        + (f" and {len(going) - 10} more" if len(going) > 10 else ""))
        a, b = st.columns(2)
        if going and a.button("Yes, delete", type="primary", key="runs_delete_yes", icon=":material/delete_forever:"):
            done, freed, refused = manage.prune(runs_dir(), [manage.Doomed(r, "asked") for r in going])
            st.session_state.pop(CONFIRM, None)
            say("warning" if refused else "success", f"Deleted {len(done)} run{'s' if len(done) != 1 else ''} "
                f"({size_text(freed)} freed)." + "".join(f" Kept: {literal(w)}." for w in refused))
            st.rerun()
        if b.button("Cancel", key="runs_delete_no"):
            st.session_state.pop(CONFIRM, None)
            st.rerun()


def queue_buttons(chosen: list) -> None:
    """Cancel queued runs (they never train; their folders stay until deleted), or move one to the front."""
    waiting = [r for r in chosen if r.status == QUEUED]
    if not waiting:
        return
    a, b = st.columns(2)
    if a.button(f"Cancel {len(waiting)} queued", key="runs_cancel", icon=":material/close:", width="stretch"):
        gone = sum(queue.cancel(r.dir) for r in waiting)
        say("success" if gone == len(waiting) else "warning", f"Cancelled {gone} of {len(waiting)} queued runs"
            + ("." if gone == len(waiting) else ": the others had started already."))
        st.rerun()
    if b.button("Move to front", key="runs_front", icon=":material/vertical_align_top:", width="stretch",
                disabled=len(waiting) != 1, help=None if len(waiting) == 1 else "select one queued run"):
        say(*(("success", "Moved to the front of the queue.") if queue.to_front(waiting[0].dir)
              else ("warning", "It is no longer queued: it has started.")))
        st.rerun()


def actions(chosen: list) -> None:
    shown = ", ".join(literal(r.label) for r in chosen[:5]) + (f" and {len(chosen) - 5} more" if len(chosen) > 5 else "")
    st.markdown(f"**{len(chosen)} selected:** {shown}")
    open_buttons(chosen)
    queue_buttons(chosen)
    if len(chosen) == 1:
        edit_one(chosen[0])
    tag_controls(chosen)
    archive_and_delete(chosen)


def main() -> None:
    st.title("Runs")
    st.caption("The lab notebook: every run in the runs folder. Click a column's header to sort, tick rows "
               "to open, label, annotate, tag, archive or delete them.")
    kind, text = st.session_state.pop(MESSAGE, (None, None))
    if kind:
        getattr(st, kind)(text)
    show_archived = st.toggle("Show archived", key="runs_show_archived")
    every = notebook.notebook_rows(runs_dir(), include_archived=True)
    rows = [r for r in every if show_archived or not r.archived]
    if not every:
        st.info("No runs yet: start one on the Train or Compare page.", icon=":material/info:")
        return
    shown = filters(rows)
    hidden = len(every) - len(rows)
    st.caption(f"{len(shown)} of {len(rows)} runs shown" + (f" ({hidden} archived hidden)" if hidden else "")
               + f" · the runs folder takes {size_text(notebook.total_bytes(runs_dir(), every))} on disk")
    chosen = table(shown, show_archived)
    if st.session_state.get(CONFIRM):
        guarded(confirm_delete)(every)
    elif chosen:
        guarded(actions)(chosen)


links.run("runs", main)  # its filters and toggles: a link opens the notebook as filtered
