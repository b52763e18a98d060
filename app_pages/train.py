"""Train: pick a network and a recipe, start a run (its own process), watch it live, stop it."""

from pathlib import Path

import streamlit as st

from app_pages import _links as links
from app_pages import _train_parts as parts
from app_pages import _queue
from app_pages._sweep_parts import SELECTED as SWEEP_SELECTED
from app_pages._escape import code, literal
from app_pages._report import report_button
from app_pages._common import device_label, guarded, model_cost, pct, runs_dir, shape_inputs
from netlib.lab import launch
from netlib.models import DESCRIPTIONS, MODELS, title
from netlib.recipes import DEFAULT_RECIPE, RECIPES, recipe_for, resolve_recipe
from netlib.request import MNIST_TRAIN, OPTIONS, keeps_epochs, page_range
from netlib.runs import labels, reader
from netlib.runs.files import FAILED_STATUSES, PRUNED, UNREADABLE
from netlib.runs.notebook import sweep_text
from netlib.safepath import is_contained

RUN_KEY = "train_run"  # the run directory this session watches


def watched_run() -> Path | None:
    """This session's run; else the newest live run (a reload or a second tab re-attaches to it)."""
    d = st.session_state.get(RUN_KEY)
    if d and Path(d).is_dir() and is_contained(runs_dir(), d):  # never a folder outside runs/
        return Path(d)
    live = [r for r in reader.run_index(runs_dir()) if r.live]
    if live:
        st.session_state[RUN_KEY] = str(live[0].dir)
        return live[0].dir
    return None


def is_live(run_dir: Path | None) -> bool:
    if run_dir is None:
        return False
    info = parts.followed(run_dir)
    if info is None:  # launched, not started yet
        return not launch.pending(run_dir).failed
    # a queued run, or a +1 epoch in line, is seen starting
    return info.live or info.waiting or launch.extension_starting(run_dir) or _queue.extension_waits(info)


def recipe_settings(model: str) -> tuple[str, dict]:
    """The recipe radio and, for custom, its widgets. Returns (recipe name for the CLI, overrides)."""
    choices = [*sorted(RECIPES, key=lambda r: r != DEFAULT_RECIPE), "custom"]  # the default first
    choice = st.radio("Recipe", choices, horizontal=True, key="recipe",
                      help="seed: the published recipe (SGD, 10 epochs). fast: AdamW + OneCycle. "
                           "custom: your own values, starting from fast.")
    if choice != "custom":
        st.caption(labels.describe_recipe(recipe_for(choice, model)))
        return choice, {}
    base = recipe_for("fast", model)
    c1, c2 = st.columns(2)
    epochs = c1.number_input("Epochs", *page_range("epochs"), base.epochs, key="epochs")
    batch = c2.select_slider("Batch size", parts.BATCH_SIZES, base.batch_size, key="batch_size")
    lr = c1.number_input("Learning rate", *page_range("lr"), base.lr, format="%.4g", step=1e-3, key="lr",
                         help="the peak for onecycle; the constant rate otherwise")
    optimizers, schedules = OPTIONS["optimizer"].choices, OPTIONS["schedule"].choices
    optimizer = c2.selectbox("Optimizer", optimizers, optimizers.index(base.optimizer), key="optimizer")
    schedule = c1.selectbox("Schedule", schedules, schedules.index(base.schedule), key="schedule")
    # the whole column's width: in half of it the label was cut to "Aug…"
    augment = st.toggle("Augmentation", base.augment, key="augment",
                        help="light random rotation, shift and scale: better at reading drawn digits")
    return "fast", {"epochs": int(epochs), "batch_size": int(batch), "lr": float(lr),
                    "optimizer": optimizer, "schedule": schedule, "augment": bool(augment)}


def settings(busy: bool, run_dir: Path | None = None) -> None:
    """The left column: network, recipe, data/seed/device, Start (a new run; filled in from run_dir)."""
    with st.container(border=True):
        parts.form_note(run_dir)
        model = st.selectbox("Network", list(MODELS), key="model", format_func=title)
        st.caption(DESCRIPTIONS[model])
        blocks, width = shape_inputs(model, "")
        size = model_cost(model, blocks, width)
        st.caption(f"{size['params']:,} parameters · {size['macs'] / 1e6:.2f} M multiply-adds per digit")
        recipe, overrides = recipe_settings(model)
        with st.expander("Data, seed and device"):
            limit = st.number_input(f"Training images (0 = all {MNIST_TRAIN:,})", 0, page_range("limit")[1], 0,
                                    step=1000, key="limit",
                                    help="train on the first N images for a quick try; the test set stays whole")
            low, high = page_range("seed")
            seed = st.number_input("Seed", low, high - parts.MAX_REPEATS, low, key="seed")
            repeats = st.number_input("Repeat with N seeds", 1, parts.MAX_REPEATS, 1, key="repeats",
                                      help="N runs, seeds seed, seed+1, ...: how far runs that differ only "
                                           "in seed land apart (Compare draws them as one band)")
            devices = ["auto", "cpu"] + (["cuda"] if device_label().startswith("cuda") else [])
            device = st.selectbox("Device", devices, key="device")
            keep_epochs = st.toggle("Keep every epoch's weights", False, key="keep_epochs",
                                    help=OPTIONS["keep_epochs"].help)
        st.caption(launch.device_note(model, recipe, overrides, device, limit or None))  # its batch and rate
        try:
            r = resolve_recipe(recipe, model, **overrides)
            if limit and r.batch_size > limit:
                raise ValueError(f"batch size {r.batch_size} is larger than the {limit} training images")
        except ValueError as e:
            st.error(str(e))
            return
        tag = "custom" if overrides else recipe
        if st.button("Start training", type="primary", icon=":material/play_arrow:", disabled=busy,
                     width="stretch", key="start", help="one run at a time on this page" if busy else None):
            dirs = parts.start_runs(model, recipe, overrides, limit or None, int(seed), device, blocks, width,
                                    int(repeats), tag, keep_epochs)
            st.session_state[RUN_KEY], st.session_state[parts.GROUP_KEY] = dirs[0], dirs
            st.rerun()


def run_header(info) -> None:
    c = info.config
    named = labels.person_label(info.dir)  # the label saved on the Runs page names the run here too
    recipe = labels.recipe_phrase(c, reached=len(info.epochs))  # past the recipe (+1 epoch): "(2 + 1 more)"
    st.markdown((f"**{literal(named)}** · " if named else "") + f"**{literal(labels.network_label(c))}** · "
                f"{literal(recipe)} · {code(info.name)} · {literal(info.status)}")
    sweep = sweep_text(c)
    if sweep and st.button(f"Sweep {sweep}", icon=":material/tune:", key="train_open_sweep", type="tertiary",
                           help="this run is a trial of that sweep: open it on the Sweep page"):
        st.session_state[SWEEP_SELECTED] = c["sweep"]["name"]
        st.switch_page("app_pages/sweep.py")


def outcome(info) -> None:
    """What happened to a run that has ended."""
    if info.status == UNREADABLE:
        st.error(f"This run folder cannot be read: {literal(info.reason)}", icon=":material/error:")
    elif info.status in FAILED_STATUSES:
        st.error(f"The run {literal(info.status)}: {literal(info.reason or 'no reason recorded')}",
                 icon=":material/error:")
    elif info.status in ("stopped", PRUNED):
        reason = (info.reason or info.status).rstrip(".")
        kept = "The last finished epoch's checkpoint is kept." if info.has_checkpoint else \
            "No epoch had finished, so there is no checkpoint."
        st.warning(f"{literal(reason[:1].upper() + reason[1:])}. {kept}", icon=":material/stop_circle:")
    elif info.status == "done":
        last = info.epochs[-1] if info.epochs else {}
        st.success(f"Done: test accuracy {pct(last.get('test_acc'))} after {len(info.epochs)} epoch(s). "
                   "Its checkpoint is now on the Draw and Inspect pages."
                   + (" Every epoch's weights are kept: the Map page shows how its map formed."
                      if keeps_epochs(info.config) else ""), icon=":material/check_circle:")


def run_summary_panel(info) -> None:
    ep = info.epochs
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("test accuracy", pct(ep[-1]["test_acc"]) if ep else "—")
    c2.metric("best test accuracy", pct(max(e["test_acc"] for e in ep)) if ep else "—")
    c3.metric("test loss", f"{ep[-1]['test_loss']:.4f}" if ep else "—")
    c4.metric("samples/s (last epoch)", f"{ep[-1]['samples_per_s']:,.0f}" if ep else "—")


def run_view(run_dir: Path, polling: bool, others: bool = False, stream: bool = False) -> None:
    """Everything about the watched run. stream (a live run, drawn outside any timer): only its progress
    (every 1 s) and its charts (every 2 s) redraw; the rest when what it shows changes (page_state)."""
    info = parts.followed(run_dir)
    if info is None:
        p = launch.pending(run_dir)
        if p.failed:
            st.error(f"The run could not start: {literal(p.message)}", icon=":material/error:")
        else:
            st.info(p.message, icon=":material/hourglass_top:")
        if polling and p.failed:
            st.rerun()
        return
    starting = not info.live and launch.extension_starting(run_dir)
    waits = not info.live and _queue.extension_waits(info)  # its +1 epoch is in line: the run is as it was
    if info.live:
        if polling and st.session_state.get("_train_announced") != info.name:
            st.session_state["_train_announced"] = info.name
            st.rerun()  # the run has started: redraw the page once so the sidebar lists it
    run_header(info)
    if _queue.handles(info):  # queued, starting or cancelled: its place in line and Cancel, no charts yet
        return _queue.waiting_panel(info, polling)
    if stream:
        parts.live_progress(run_dir, parts.page_state(info), others)
    else:
        parts.progress_bar(info)
    if starting:
        st.info("Starting one more epoch from the run's last checkpoint...", icon=":material/hourglass_top:")
    elif info.live:
        parts.steering_controls(info)
    else:
        if polling and not waits:
            st.rerun()  # the run ended (or its +1 epoch failed): the whole page once, without the timer
        refused = launch.extension_error(run_dir)  # said once: read in the pass that is shown
        if refused:
            st.error(literal(refused), icon=":material/error:")
        outcome(info)
        if waits:
            _queue.extension_panel(info)  # its place in line and Cancel instead of +1 epoch
        else:
            parts.extend_controls(info)
    run_summary_panel(info)
    report_button([run_dir], "train")
    if not stream:
        parts.repeats_line(run_dir, others)
    smoothing = st.slider("Smoothing of the per-batch curves", 0.0, 0.99, 0.6, 0.01, key="smoothing")
    if stream:
        parts.live_charts(run_dir, smoothing)
    else:
        parts.charts(info, smoothing)
    st.caption("Gradient flow: each row is a layer (input at the bottom), each column a moment of "
               "training; bright = large gradient. A dark band along the bottom rows means the first "
               "layers barely learn: the vanishing gradient that skip connections prevent.")


def live_view(run_dir: Path | None) -> None:
    if run_dir is None:
        idle_view()
        return
    polling = is_live(run_dir)
    others = parts.repeats_live(run_dir)  # the other seeds: their line stays live while they train
    info = parts.followed(run_dir) if polling else None
    if info is not None and info.live and not _queue.handles(info) and not launch.extension_starting(run_dir):
        guarded(run_view)(run_dir, polling, others, stream=True)  # its parts keep their own timers
        return

    # Starting, queued, or only other seeds live: the whole view is small, redrawn every 2 s.
    @st.fragment(run_every=parts.CHARTS_S if polling or others else None)
    def view() -> None:
        guarded(run_view)(run_dir, polling, others)

    view()


@st.fragment(run_every=3.0)
def idle_view() -> None:
    """Nothing to watch: say what to do, and look every few seconds for a run started elsewhere
    (another tab, Compare, the command line) to attach to."""
    if any(r.live for r in reader.run_index(runs_dir())):
        st.rerun()
    st.info("No run in progress. Pick a network and a recipe, then **Start training**. Finished runs are "
            "in the notebook on the **Runs** page: select one there and **Open on Train**.", icon=":material/info:")


def main() -> None:
    st.title("Train")
    run_dir = watched_run()
    parts.watch(run_dir)
    guarded(parts.fill_form)(run_dir)  # before the form's widgets: it sets their values
    left, right = st.columns([1.15, 2.5], gap="large")
    with left:
        guarded(settings)(is_live(run_dir) or parts.repeats_live(run_dir), run_dir)
    with right:
        live_view(run_dir)


links.run("train", main)
