"""Compare's parts: runs and groups of seeds as chart series, the table, the seed-noise verdict, and
the live parts (progress every 1 s, charts every 2 s) of runs that stream."""

import math
from pathlib import Path

import streamlit as st

from app_pages._common import chart, followed, guarded, model_cost, pct, runs_dir
from app_pages._escape import literal
from netlib.charts import training
from netlib.charts.groups import group_series  # noqa: F401  (compare.py draws them)
from netlib.lab import launch
from netlib.lab.lesson_finetune import tuning_runs
from netlib.models import DEFAULT_WIDTH, MODELS
from netlib.runs import follow, groups, listing, summary
from netlib.runs.files import LIVE_STATUSES, WAITING_STATUSES
from netlib.runs.reader import quick_status, read_status

# As on Train: progress at most 1 s old, charts at most 2 s; the browser redrawing charts is what
# watching costs the runs on shared cores (scripts/bench_ui_overhead.py).
PROGRESS_S, CHARTS_S = 1.0, 2.0
# The recipe's fields that change how long an epoch takes (work per digit or per step): the batch size,
# the optimizer's update, augmentation and degradations, weight averaging. The learning rate (Inception's
# own, in Train both), its schedule, weight decay, label smoothing and the epochs count do not.
TIME_FIELDS = {"batch_size": "batch size", "optimizer": "optimizer", "augment": "augmentation",
               "degrade": "degradations", "ema": "weight averaging"}


def run_cost(info) -> dict:
    """Parameters and multiply-adds of the network a run trained, as it was sized."""
    kw = info.config.get("model_kwargs") or {}
    model = info.config.get("model")
    if model not in MODELS or not isinstance(kw, dict):
        return {"params": None, "macs": None}
    return model_cost(model, kw.get("blocks", 1), kw.get("width", DEFAULT_WIDTH))


def table(found: list) -> None:
    """A row per group (a single run's row as it always was); a group's final accuracy is its mean with
    its spread."""
    rows, said = [], []
    for g in found:
        info, s = g.runs[0], groups.group_stats(g)
        cost = run_cost(info)
        said.append({**s, "macs": cost["macs"], "threads": info.start.get("threads"),
                     "recipe_values": timing(info.config), "limit": info.config.get("limit"),
                     "device": info.config.get("device")})
        rows.append({
            "run": g.label, "network": s["network_label"], "recipe": s["recipe"],
            "parameters": cost["params"],
            "M mult-adds / sample": cost["macs"] / 1e6 if cost["macs"] else None,
            "epochs": s["epochs"],
            "s / epoch": s["s_per_epoch"],
            "samples/s": round(s["samples_per_s"]) if s["samples_per_s"] else None,
            "best test acc": pct(s["best_test_acc"]), "final test acc": s["final_words"] or pct(s["final_test_acc"]),
            "time to 99%": summary.format_seconds(s["time_to_99"]) if s["time_to_99"] else "not reached",
        })
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "run": st.column_config.TextColumn(help="the run as the picker and the chart name it (its label on "
                                                "the Runs page, if it has one), or a group of seeds"),
        "parameters": st.column_config.NumberColumn(format="localized"),
        "M mult-adds / sample": st.column_config.NumberColumn(format="%.2f"),
        "s / epoch": st.column_config.NumberColumn(format="%.1f"),
        "samples/s": st.column_config.NumberColumn(format="localized"),
    })
    seeds = [g for g in found if len(g.runs) > 1]
    if seeds:
        band = (" Its band on the chart is the same: min to max for 2 seeds, mean ± sd for 3 or more."
                if any(len(g.curve) > 1 for g in seeds) else "")  # one epoch: one dot per group, no band
        st.caption("A group of seeds: best test acc is its mean curve's best; final test acc its mean, with "
                   f"the range of 2 seeds or ± the sample standard deviation (n - 1) of 3 or more.{band}")
    finished = [r for r in said if r["status"] not in LIVE_STATUSES]
    sentence = summary.cost_against_time(finished)
    if sentence:
        differ = [w for k, w in TIME_FIELDS.items() if len({str(r["recipe_values"].get(k)) for r in finished}) > 1]
        if differ:  # say which of the recipe's fields: not "the recipe", which differs in Inception's rate too
            sentence = sentence.replace("(recipe", f"(the recipe's {', '.join(differ)}")
        st.markdown(literal(sentence))  # it names the networks as their run folders do


def timing(config: dict) -> dict:
    """The fields of a run's recipe that change its time per epoch (TIME_FIELDS)."""
    recipe = config.get("recipe")
    return {k: recipe.get(k) for k in TIME_FIELDS} if isinstance(recipe, dict) else {}


def verdict(found: list) -> None:
    """With two groups (or two single runs) on the chart: do they differ by more than seed noise?"""
    if len(found) != 2:
        return
    v = groups.compare_groups(*found)
    icon = {"noise": ":material/blur_on:", "ahead": ":material/trending_up:"}.get(v.kind, ":material/info:")
    st.markdown(f"{icon} {literal(v.sentence)}")  # not st.info: the page's info boxes say what it is waiting for


# ---------------------------------------------------------------- runs that stream
def watch(names: list[str], pair: list[Path]) -> None:
    """This session watches these runs now (the chosen ones, its last pair): other runs' followers go."""
    follow.followers(st.session_state).watch([*(runs_dir() / n for n in names), *pair])


def read_runs(names: list[str]) -> list:
    return [r for r in (followed(runs_dir() / n) for n in names) if r is not None]


def pair_waiting(pair: list[Path]) -> bool:
    """Is a run of this session's last pair still to start (launched, queued or starting)?"""
    return any(read_status(d) is None and not launch.pending(d).failed or
               (read_status(d) or {}).get("status") in WAITING_STATUSES for d in pair)


def statuses(dirs: list[Path]) -> tuple:
    """What the page shows outside its timers that a run can change (its status: the sidebar's live runs
    and queue, the picker's tags, the Stop button, a failure): when it changes, the whole page is redrawn.
    Read from each run's status.json, the chosen runs' and the last pair's alike (a pair's run that is
    not chosen yet still moves from the sidebar's queue to its live runs)."""
    return tuple((Path(d).name, quick_status(d)) for d in dirs)


def progress_line(live: list) -> None:
    if live:
        seeds = len({r.config.get("seed") for r in live}) > 1  # repeats: say which seed is where
        parts = (str(r.config.get("model", "?")) + (f" seed {r.config.get('seed')}" if seeds else "")
                 + f": {summary.progress(r).text}" for r in live)
        st.caption(literal(" · ".join(parts)))  # a model name is read from the run folder


def live_progress(names: list[str], watched: list[Path], seen: tuple) -> None:
    @st.fragment(run_every=PROGRESS_S)
    def tick() -> None:
        guarded(_tick)(names, watched, seen)  # inside: a timer rerun calls the fragment itself

    tick()


def _tick(names: list[str], watched: list[Path], seen: tuple) -> None:
    if statuses(watched) != seen:
        st.rerun()  # a run started, ended, failed or paused: the rest of the page (and the sidebar) shows it
    progress_line([r for r in read_runs(names) if r.live])


def heatmaps(with_grads: list) -> None:
    """Every chosen run's layer-by-layer heatmap (each run the picker lists is drawn), on one colour scale."""
    norms = [g for r in with_grads for b in r.batches for g in (b.get("grad_norm") or []) if g]
    zrange = (math.log10(min(norms)), math.log10(max(norms))) if norms else None
    cols, said = st.columns(min(2, len(with_grads))), listing.run_labels(with_grads)
    for i, info in enumerate(with_grads):
        fig = training.grad_flow_figure(info.batches, info.start.get("grad_layers", []),
                                        title=said[info.name], zrange=zrange)
        with cols[i % len(cols)]:
            chart(fig, key=f"grad_{info.name}")


def tuning_link(entries: list) -> None:
    """When there are fine-tuning runs: a button to the Handwriting page's What changed, where the variants
    (last layer only, whole network, whole network with MNIST replay) stand side by side on the same set."""
    if tuning_runs(entries) and st.button("Fine-tuning runs: last layer vs whole network vs with MNIST replay, "
                                          "side by side", icon=":material/edit_note:", type="tertiary",
                                          key="cmp_tuning"):
        st.session_state["hw_tab"] = "What changed"  # the Handwriting page's tab (handwriting.py's TAB_KEY)
        st.switch_page("app_pages/handwriting.py")

