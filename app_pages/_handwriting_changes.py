"""The Handwriting page's What changed: fine-tuning runs side by side (held-out and MNIST accuracy before and
after), one run per digit, and the set's digits it now reads differently (read from each run's changes.json)."""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots
import streamlit as st

from app_pages._common import chart, guarded, runs_dir
from app_pages._escape import code, literal
from app_pages._handwriting_tune import LAUNCHED
from netlib.charts import style
from netlib.handwriting.changes import read_changes, read_snapshot
from netlib.handwriting.tuning import label
from netlib.lab import lesson_finetune as lf
from netlib.runs import reader
from netlib.runs.files import LIVE_STATUSES, WAITING_STATUSES

PICK = "hw_changes_runs"
MAX_SHOWN = 48  # digits read differently shown as images (the rest counted)


def default_pick(tuned: list) -> list[str]:
    """This session's last fine-tuning runs; else the newest run with the runs of the same set and checkpoint."""
    names = {e.name for e in tuned}
    mine = [Path(d).name for d in st.session_state.get(LAUNCHED) or [] if Path(d).name in names]
    if mine:
        return mine
    newest = (tuned[0].config.get("request") or {})
    key = (newest.get("handwriting"), newest.get("start_from"))
    return [e.name for e in tuned if ((e.config.get("request") or {}).get("handwriting"),
                                      (e.config.get("request") or {}).get("start_from")) == key][:3]


def changes_tab() -> None:
    tuned = lf.tuning_runs(reader.run_index(runs_dir()))
    if not tuned:
        st.info("No fine-tuning run yet: start one in the Fine-tune tab.", icon=":material/info:")
        return
    by_name = {e.name: e for e in tuned}
    if PICK not in st.session_state or not set(st.session_state[PICK]) <= set(by_name):
        st.session_state[PICK] = default_pick(tuned)
    picked = st.multiselect("Fine-tuning runs", list(by_name), key=PICK,
                            format_func=lambda n: f"{label(by_name[n].config.get('request') or {})} · {n}")
    busy = any(by_name[n].status in LIVE_STATUSES + WAITING_STATUSES for n in picked)

    @st.fragment(run_every=2.0 if busy else None)
    def view() -> None:
        entries = {e.name: e for e in lf.tuning_runs(reader.run_index(runs_dir()))}
        shown = [entries[n] for n in picked if n in entries]
        side_by_side(shown)
        ended = [e for e in shown if read_changes(e.dir) and "error" not in read_changes(e.dir)]
        if ended:
            one_run(ended)
        if busy and not any(e.status in LIVE_STATUSES + WAITING_STATUSES for e in shown):
            st.rerun()  # all ended: stop polling

    guarded(view)()


def side_by_side(shown: list) -> None:
    """The variants on one table and chart: held-out and MNIST accuracy before -> after."""
    if not shown:
        return
    found = [(e.name, e.config, read_changes(e.dir)) for e in shown]
    for e, (_, _, c) in zip(shown, found):
        if c is None:
            st.caption(f"{code(e.name)}: {literal(unmeasured(e.status, e.status_json))}")
        elif "error" in c:
            st.warning(f"{e.name}: {literal(c['error'])}", icon=":material/warning:")
    rows = lf.comparison_rows(found)
    variants_table(rows)
    measured = [r for r in rows if r["MNIST after %"] is not None and r["MNIST before %"] is not None]
    if measured:
        chart(figure(measured), key="hw_variants_chart")
        st.caption("MNIST: all 10,000 test digits. Held out: the set's digits no fine-tuning trained on. "
                   "Before: the checkpoint it started from; after: the run's last epoch.")


def unmeasured(status: str, status_json: dict) -> str:
    """Why a run has no measure of what it changed: not ended yet, or ended without one (what happened)."""
    if status in LIVE_STATUSES + WAITING_STATUSES:
        return f"{status}; what it changed is measured when it ends."
    reason = str(status_json.get("reason") or "")
    if status in ("done", "stopped") and not status_json.get("epoch"):
        return f"{status} before its first epoch: it trained nothing, so there is nothing to measure."
    return f"{status}{f' ({reason})' if reason else ''}: what it changed was not measured."


def variants_table(rows: list[dict]) -> None:
    """lesson_finetune.comparison_rows as a table: accuracies in %, MNIST's change in points."""
    pct = st.column_config.NumberColumn
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_order=["variant", "held-out digits", "held-out before %", "held-out after %", "MNIST before %",
                               "MNIST after %", "MNIST change (points)", "run"],
                 column_config={"held-out digits": pct("held out", width="small"),
                                "held-out before %": pct("held out before", format="%.1f%%"),
                                "held-out after %": pct("after", format="%.1f%%"),
                                "MNIST before %": pct("MNIST before", format="%.2f%%"),
                                "MNIST after %": pct("after ", format="%.2f%%"),
                                "MNIST change (points)": pct("MNIST change", format="%+.2f pt")})


def figure(rows: list[dict]) -> go.Figure:
    """Per run, before and after as bars: the held-out digits (0-100%) beside MNIST (its axis zoomed to the
    values, so a drop of a tenth of a point shows)."""
    fig = make_subplots(1, 2, subplot_titles=("held-out digits of the set", "MNIST test digits (zoomed)"))
    names = [r["variant"] for r in rows]
    x = [n if names.count(n) == 1 else f"{n} ({r['run'].rsplit('-', 1)[-1]})" for n, r in zip(names, rows)]
    for col, (before, after) in enumerate((("held-out before %", "held-out after %"),
                                           ("MNIST before %", "MNIST after %")), 1):
        for key, color, word in ((before, style.COLORS["plain"], "before"), (after, style.COLORS["test"], "after")):
            ys = [r.get(key) for r in rows]  # None: not measured (no bar, no label)
            fig.add_bar(name=word, x=x, y=ys, marker_color=color, showlegend=col == 1, row=1, col=col,
                        text=["" if y is None else f"{y:.1f}" if col == 1 else f"{y:.2f}" for y in ys])
    low = min(min(r["MNIST before %"], r["MNIST after %"]) for r in rows)
    fig.update_yaxes(range=[0, 105], title_text="accuracy %", row=1, col=1)
    fig.update_yaxes(range=[max(0.0, low - 1.0), 100], row=1, col=2)
    fig.update_layout(barmode="group", height=340, margin={"t": 40, "b": 10}, legend={"orientation": "h"})
    return fig


def one_run(ended: list) -> None:
    """One run's per-digit accuracies and the set's digits it now reads differently."""
    names = [e.name for e in ended]
    name = st.selectbox("Per digit, for", names, key="hw_changes_one") if len(names) > 1 else names[0]
    run = next(e for e in ended if e.name == name)
    c = read_changes(run.dir)
    one = st.column_config.NumberColumn
    st.dataframe(lf.per_digit_rows(c), hide_index=True, width="stretch",
                 column_config={k: one(k.removesuffix(" %"), format="%.1f%%" if "held" in k else "%.2f%%")
                                for k in lf.per_digit_rows(c)[0] if k.endswith("%")})
    changed = c.get("changed") or []
    st.markdown(f"**Read differently now**: {len(changed)} of the set's {c.get('set_size')} digits")
    if changed:
        guarded(changed_digits)(run.dir, changed)


def changed_digits(run_dir: Path, changed: list) -> None:
    """The set's digits read differently after fine-tuning, as images from the run's own copy of the set (the
    set itself may have changed or gone since): 'a 7: 1 -> 7'."""
    try:
        hs = read_snapshot(run_dir)
    except ValueError as e:
        st.caption(f"The digits cannot be shown: {literal(str(e))}.")
        return
    cols = st.columns(8)
    for n, item in enumerate(changed[:MAX_SHOWN]):
        i = item.get("index")
        if not isinstance(i, int) or not 0 <= i < len(hs):
            continue  # not what a run writes
        right = "✓" if item["after"] == item["label"] else "✗"
        cols[n % 8].image(hs.images[i], width=72, clamp=True,
                          caption=f"{item['label']}: {item['before']}→{item['after']} {right}"
                          + (" test" if item.get("held_out") else ""))
    if len(changed) > MAX_SHOWN:
        st.caption(f"and {len(changed) - MAX_SHOWN} more")
    st.caption("Under each digit: what it is, what the network read before → after; ✓ now read right, ✗ now "
               "read wrong; test: held out, never trained on.")
