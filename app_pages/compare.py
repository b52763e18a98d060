"""Compare: train both networks at once, overlay any saved runs, and tabulate speed and accuracy."""

from pathlib import Path

import streamlit as st

from app_pages import _links as links
from app_pages import _queue
from app_pages._compare_parts import (CHARTS_S, followed, group_series, heatmaps, live_progress, pair_waiting,
                                      progress_line, read_runs, statuses, table, tuning_link, verdict, watch)
from app_pages._common import chart, checkpoint_meta, guarded, model_cost, pct, runs_dir, shape_inputs
from app_pages._escape import literal
from app_pages._report import report_button
from app_pages._train_parts import MAX_REPEATS
from netlib.charts import training
from netlib.lab import catalogue, launch, steering
from netlib.models import DEFAULT_WIDTH, MODELS, SHOWCASE, title
from netlib.recipes import DEFAULT_RECIPE, MODEL_ADJUSTMENTS, RECIPES
from netlib.request import page_range
from netlib.runs import labels, listing, queue, reader
from netlib.runs.files import CANCELLED, FAILED_STATUSES, LIVE_STATUSES, WAITING_STATUSES

PAIR_KEY = "compare_pair"  # the run directories of this session's last "Train both" (two per seed)
PICK_KEY = "compare_runs"
PAIRS = {"inception vs residual": ("inception", "residual"),
         "residual vs plain": ("residual", "plain"),  # the gradient-flow lesson: skips or none
         "inception vs naive": ("inception", "naive")}  # the 1x1 lesson: what the reducing convs cost


def train_both(busy: bool) -> None:
    """Launch two networks with the same recipe, one thread each (two runs of two threads on two cores
    spin against each other and both slow down)."""
    with st.container(border=True):
        st.markdown("**Train both** networks at once with the same recipe")
        p1, p2 = st.columns([2, 1])
        pair = p1.selectbox("Networks", list(PAIRS), key="cmp_pair",
                            format_func=lambda p: " vs ".join(title(m) for m in PAIRS[p]))
        blocks, width = 1, DEFAULT_WIDTH
        if "plain" in PAIRS[pair]:  # both this deep; at 3 Plain's first layers get almost no gradient
            blocks, _ = shape_inputs("plain", "cmp", blocks=3, column=p2)
        if "naive" in PAIRS[pair]:  # both this wide: below ~17 channels the 1x1 convs add work
            _, width = shape_inputs("naive", "cmp", column=p2)
        c1, c2, c3, c4 = st.columns([1, 1, 1.2, 1])
        recipe = c1.selectbox("Recipe", list(RECIPES), list(RECIPES).index(DEFAULT_RECIPE), key="cmp_recipe")
        epochs = c2.number_input("Epochs", *page_range("epochs"), RECIPES[recipe].epochs, key="cmp_epochs")
        limit = c3.number_input("Training images (0 = all)", 0, page_range("limit")[1], 0, step=1000, key="cmp_limit")
        repeats = c4.number_input("Repeat with N seeds", 1, MAX_REPEATS, 1, key="cmp_repeats",
                                  help="each network N times, seeds 0, 1, ...: the chart draws each network's "
                                       "seeds as their mean, with a band from min to max (mean ± sd for 3 or "
                                       "more) once there are 2 epochs, and says whether the two networks "
                                       "differ by more than their seeds' spread")
        own = {m: adj for m, adj in MODEL_ADJUSTMENTS.get(recipe, {}).items() if m in PAIRS[pair]}
        st.caption(labels.describe_recipe(RECIPES[recipe]).replace(
            f"{RECIPES[recipe].epochs} epoch", f"{epochs} epoch") + " · 1 CPU thread per run"
            + "".join(f" · {title(m)}'s own " + ", ".join(f"{k} {v:g}" for k, v in adj.items())
                      for m, adj in own.items())
            + (" (a learning rate changes no epoch's time: the times per epoch still compare)"
               if own and all(set(a) <= {"lr"} for a in own.values()) else ""))
        if limit and RECIPES[recipe].batch_size > limit:
            st.error(f"The {recipe} recipe's batch size {RECIPES[recipe].batch_size} is larger than "
                     f"{limit} training images.")
            return
        if st.button("Train both", type="primary", icon=":material/play_arrow:", disabled=busy,
                     key="train_both", help="both runs of the last pair are still training" if busy else None):
            # Into the run queue together (next to each other in line, one pump): seed by seed, the pair
            requests = [launch.request_for(model, recipe, {"epochs": int(epochs)}, limit or None, seed,
                                           blocks=blocks, width=width, threads=1)
                        for seed in range(int(repeats)) for model in PAIRS[pair]]
            dirs = [str(d) for d in queue.enqueue(runs_dir(), requests)]
            st.session_state[PAIR_KEY] = dirs
            st.session_state["cmp_new_pair"] = True  # select the pair once both have started
            st.rerun()


def pick_runs(entries: list) -> list:
    """The multiselect of runs to overlay; defaults to the last pair, else the newest runs of each network
    (with their seeds). Its options read as the runs' labels, no two alike: the widget keeps a choice by
    its words, so two runs that read alike would become one (the chart would draw one of them twice)."""
    names = [e.name for e in entries]
    pair = [Path(d).name for d in st.session_state.get(PAIR_KEY, [])]
    new_pair_ready = st.session_state.get("cmp_new_pair") and pair and all(n in names for n in pair)
    if PICK_KEY not in st.session_state or new_pair_ready:
        default = [n for n in pair if n in names]
        if not default:
            for model in SHOWCASE:
                default += [e.name for e in listing.latest_seeds(entries, model, FAILED_STATUSES)]
        st.session_state[PICK_KEY] = default
        if new_pair_ready:
            st.session_state.pop("cmp_new_pair")
    else:
        picked = st.session_state[PICK_KEY] if isinstance(st.session_state[PICK_KEY], list) else []
        st.session_state[PICK_KEY] = list(dict.fromkeys(n for n in picked if n in names))
    by_name, said = {e.name: e for e in entries}, listing.run_labels(entries)
    chosen = st.multiselect("Runs to overlay", names, key=PICK_KEY,
                            format_func=lambda n: f"{said[n]} ({by_name[n].status})")
    return [by_name[n] for n in dict.fromkeys(chosen)]


def networks_table() -> None:
    """What is known without any run: the networks' sizes and the shipped checkpoints."""

    rows = []
    for model in MODELS:
        cost = model_cost(model)
        path = catalogue.shipped_checkpoint(model)
        acc = checkpoint_meta(path).get("metrics", {}).get("test_acc") if path.is_file() else None
        rows.append({"network": title(model), "parameters": cost["params"],
                     "M mult-adds / sample": round(cost["macs"] / 1e6, 2),
                     "shipped checkpoint test acc": pct(acc)})
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_config={"parameters": st.column_config.NumberColumn(format="localized")})


def overlay(names: list[str], polling: bool, seen: tuple, stream: bool = False) -> None:
    """The chosen runs overlaid. stream (live runs, drawn outside any timer): the progress line redraws
    every 1 s, the charts, verdict and table every 2 s, the rest when a run's status changes (seen: the
    statuses the whole page was drawn with)."""
    pair = [Path(d) for d in st.session_state.get(PAIR_KEY, [])]
    watched = [*(runs_dir() / n for n in names), *pair]
    if polling and not stream and statuses(watched) != seen:
        st.rerun()  # a run started or ended: the whole page, the sidebar's live runs too, shows it
    runs = read_runs(names)
    waiting = [launch.pending(d) for d in pair if followed(d) is None]
    for p in waiting:
        (st.error if p.failed else st.info)(f"{literal(p.dir.name)}: {literal(p.message)}")  # the log's tail
    pending = [p for p in waiting if not p.failed] + _queue.waiting_lines([followed(d) for d in pair])  # queued
    if polling and st.session_state.get("cmp_new_pair") and pair and not pending:
        st.rerun()  # both runs of the new pair have started: select them in the picker
    if not runs:
        st.info("Pick runs above to overlay their curves.", icon=":material/info:")
        return
    for info in runs:
        if info.status == CANCELLED:  # a person's choice, not an error
            st.info(f"{literal(info.name)} {info.status}: {literal(info.reason)}", icon=":material/block:")
        elif info.status in FAILED_STATUSES:
            st.error(f"{literal(info.name)} {info.status}: {literal(info.reason)}", icon=":material/error:")
    live = [r for r in runs if r.live]
    if stream:
        live_progress(names, watched, seen)
    else:
        progress_line(live)
    axis = st.radio("x axis", ["epoch", "time"], horizontal=True, key="cmp_axis",
                    format_func=lambda a: "epochs" if a == "epoch" else "wall time")
    if stream:
        live_section(names, axis)
    else:
        section(runs, axis)
    report_button([r.dir for r in runs], "compare")  # the runs drawn; seeds as their groups
    if live and st.button("Stop these runs", icon=":material/stop:", key="cmp_stop"):
        for r in live:
            steering.stop(r.dir)
    if polling and not live and not pending:
        st.rerun()


def section(runs: list, axis: str) -> None:
    """The overlay chart, the verdict, the table and the gradient flow of the chosen runs."""
    found = listing.named_groups(runs)  # each run and group named as the picker names it
    chart(training.compare_figure(group_series(found, axis), axis), key="compare_chart")
    verdict(found)
    table(found)
    gradient_flow(runs)


def live_section(names: list[str], axis: str) -> None:
    """section() on its own timer while runs stream: the charts at most 2 s old (one fragment: each
    fragment run costs the browser a redraw of its own, measured, so the charts share one)."""
    @st.fragment(run_every=CHARTS_S)
    def draw() -> None:
        guarded(section)(read_runs(names), axis)

    draw()


def gradient_flow(runs: list) -> None:
    """The first layer's gradient for every run, then each run's layer-by-layer heatmap."""
    with_grads = [r for r in runs if any(b.get("grad_norm") for b in r.batches)]
    if not with_grads:
        return
    st.subheader("Gradient flow")
    chart(training.first_layer_grad_figure(group_series(listing.one_by_one(with_grads))), key="grad_first_chart")
    st.caption("How much gradient reaches each network's first layer. Without skip connections every "
               "block it passes through can shrink it; the deeper a Plain network, the less its first "
               "layers learn. A Residual block adds its input back, so the gradient has a path of "
               "factor 1 around every block.")
    with st.expander("Layer by layer (one heatmap per run, same colour scale)"):
        heatmaps(with_grads)


def main() -> None:
    st.title("Compare")
    pair = [Path(d) for d in st.session_state.get(PAIR_KEY, [])]
    pair_live = any(reader.quick_status(d) in (None, *LIVE_STATUSES, *WAITING_STATUSES) and not launch.pending(d).failed
                    for d in pair)
    guarded(train_both)(pair_live)
    entries = reader.run_index(runs_dir())
    if not entries and not pair:
        st.info("No runs yet: **Train both** above, or start one on the Train page. Until then, "
                "here is what the two networks cost:", icon=":material/info:")
        guarded(networks_table)()
        return
    guarded(tuning_link)(entries)  # the fine-tuning variants have their own side-by-side view
    chosen = pick_runs(entries)
    names = [e.name for e in chosen]
    watch(names, pair)
    polling = pair_live or any(e.live for e in chosen)
    seen = statuses([*(runs_dir() / n for n in names), *pair])  # as the sidebar and the picker show them
    if any(e.live for e in chosen) and not pair_waiting(pair):  # streaming: its parts keep their own timers
        guarded(overlay)(names, polling, seen, stream=True)
    else:
        @st.fragment(run_every=CHARTS_S if polling else None)  # starting or queued: small, every 2 s
        def view() -> None:
            guarded(overlay)(names, polling, seen)

        view()
    with st.expander("The networks and the shipped checkpoints"):
        guarded(networks_table)()


links.run("compare", main, cmp_pair=list(PAIRS))
