"""The Train page's parts: a live run's progress and charts, steering, +1 epoch, repeats over seeds."""

import time
from pathlib import Path

import streamlit as st

from app_pages._common import chart, followed, guarded, runs_dir
from app_pages._escape import literal
from netlib.charts import style, training
from netlib.lab import launch, steering
from netlib.runs import follow, groups, labels, queue, summary
from netlib.runs.control import read_control
from netlib.runs.files import ENDED_STATUSES as ENDED  # anything else (running, paused, waiting) is to come
from netlib.models import MODELS
from netlib.recipes import RECIPES, recipe_for
from netlib.request import OPTIONS, keeps_epochs, page_range
from netlib.runs.reader import read_status

GROUP_KEY = "train_group"  # the run directories of this session's last start, one per seed
FORM_FROM = "train_form_from"  # the run whose settings the form was last filled in from
MAX_REPEATS = 5
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
CUSTOM = ("epochs", "batch_size", "lr", "optimizer", "schedule", "augment")  # the custom recipe's inputs
# A watched run's progress is at most 1 s old and its charts at most 2 s: the browser redrawing the
# charts is what a watched run costs on shared cores (scripts/bench_ui_overhead.py), so only the
# progress bar ticks every second, and the rest of the page is redrawn only when what it shows changes.
PROGRESS_S, CHARTS_S = 1.0, 2.0


def start_runs(model: str, recipe: str, overrides: dict, limit, seed: int, device: str, blocks: int, width: int,
               repeats: int, tag: str, keep_epochs: bool = False) -> list[str]:
    """Start `repeats` runs, seeds seed, seed+1, ...; their directories, the first one's to watch.

    They go into the run queue together (queue.enqueue: next to each other in line, one pump). Repeats
    train side by side, so each gets one CPU thread (as Compare's pair: two-thread runs on two cores
    spin against each other); the queue starts as many at once as there are CPU slots.
    """
    threads = 1 if repeats > 1 else None
    requests = [launch.request_for(model, recipe, overrides, limit, seed + i, device, blocks, width, threads)
                .replace(keep_epochs=bool(keep_epochs)) for i in range(int(repeats))]
    return [str(d) for d in queue.enqueue(runs_dir(), requests, tag)]


def repeats_of(run_dir: Path) -> list[Path]:
    """The other seeds' runs started together with run_dir on this page ([] for a single run)."""
    dirs = [Path(d) for d in st.session_state.get(GROUP_KEY, [])]
    return dirs[1:] if dirs and dirs[0] == Path(run_dir) else []


def watch(run_dir: Path | None) -> None:
    """This session watches run_dir and its other seeds now: the followers of any other run go."""
    follow.followers(st.session_state).watch([run_dir, *repeats_of(run_dir)] if run_dir else [])


def repeats_live(run_dir: Path | None) -> bool:
    """True while another seed of the watched run is starting or training."""
    if run_dir is None:
        return False
    return any((read_status(d) or {}).get("status") not in ENDED and not launch.pending(d).failed
               for d in repeats_of(run_dir))


def _seed_words(d: Path) -> str:
    info = followed(d)
    if info is None:
        p = launch.pending(d)
        return "could not start" if p.failed else "starting"
    seed = info.config.get("seed", "?")
    if info.live:
        return f"seed {seed} {summary.progress(info).text}"
    last = info.epochs[-1]["test_acc"] if info.epochs else None
    return f"seed {seed} {info.status}" + (f" at {100 * last:.2f}%" if last is not None else "")


def repeats_line(run_dir: Path, polling: bool) -> None:
    """One line on the other seeds; once all have ended, the group's final accuracy over every seed."""
    others = repeats_of(run_dir)
    if not others:
        return
    st.caption("Repeats: " + " · ".join(literal(_seed_words(d)) for d in others))
    infos = [i for i in (followed(d) for d in [Path(run_dir), *others]) if i is not None]
    if len(infos) == len(others) + 1 and all(i.status in ENDED for i in infos):
        group = max(groups.group_runs(infos), key=lambda g: len(g.runs))
        st.markdown(f"**{literal(group.label)}**: final test accuracy {group.final_words()}. "
                    "Compare shows the group as one line with its band.")
    if polling and not repeats_live(run_dir):
        st.rerun()  # the last seed has ended: redraw once, without the timer


def stop_button(info) -> None:
    if steering.stopping(info.dir):
        st.button("Stopping...", disabled=True, key="stopping", icon=":material/hourglass_top:")
        return
    if st.button("Stop", icon=":material/stop:", key="stop", width="stretch"):
        steering.stop(info.dir)
        st.toast("Stop requested: the run stops at the next batch.")


# The rate inputs' range: the request's highest, and low enough for where OneCycle ends (peak / 1000).
LR_MIN, LR_MAX = 1e-7, OPTIONS["lr"].high


def rate_input(column, label: str, key: str, default: float, help: str) -> float:
    """A learning-rate box whose first value is `default` (clamped into range), then the person's."""
    st.session_state.setdefault(key, min(max(float(default), LR_MIN), LR_MAX))
    return column.number_input(label, LR_MIN, LR_MAX, format="%.4g", step=1e-4, key=key, help=help)


def steering_controls(info) -> None:
    """Pause/Resume, Stop, and a new learning rate for a live run (applied at its next batch)."""
    held = read_control(info.dir).get("paused", False)
    c1, c2, c3, c4 = st.columns([1, 1, 1.3, 1], vertical_alignment="bottom")
    with c1:
        if held and info.status != "paused":  # asked; the run holds at its next batch boundary
            st.button("Pausing...", disabled=True, key="pausing", icon=":material/hourglass_top:", width="stretch")
        elif held and st.button("Resume", icon=":material/play_arrow:", key="resume", width="stretch"):
            steering.pause(info.dir, False)
            st.rerun()
        if not held and st.button("Pause", icon=":material/pause:", key="pause", width="stretch",
                                  help="hold the run at its next batch; nothing is lost"):
            steering.pause(info.dir, True)
            st.rerun()
    with c2:
        stop_button(info)
    lr = rate_input(c3, "Learning rate", f"steer_lr_{info.name}", steering.last_lr(info) or
                    info.config.get("recipe", {}).get("lr", 1e-3),
                    "the run goes on at this constant rate from its next batch; Back to schedule undoes it")
    if c4.button("Set rate", icon=":material/tune:", key="set_lr", width="stretch"):
        steering.set_lr(info.dir, lr)
        st.toast(f"Learning rate {lr:.4g} from the next batch.")
    held_lr = read_control(info.dir).get("lr")
    if held_lr is not None:
        note, back = st.columns([3, 1.2], vertical_alignment="center")
        note.caption(f"The learning rate is held at **{held_lr:.4g}** by hand; the recipe's schedule keeps "
                     "counting underneath.")
        back.button("Back to schedule", icon=":material/undo:", key="lr_schedule", width="stretch",
                    on_click=steering.back_to_schedule, args=(info.dir,),
                    help="the recipe's schedule again, at the point it has reached by now")


def extend_controls(info) -> None:
    """+1 epoch for an ended run, from its saved train state (a request in the run queue)."""
    if not launch.can_extend(info):
        return
    proposal = steering.extension_rate(info.config, steering.last_lr(info))
    c1, c2 = st.columns([1.3, 1], vertical_alignment="bottom")
    lr = rate_input(c1, "Learning rate for the extra epoch", f"extend_lr_{info.name}", proposal.lr,
                    "one constant rate for the whole epoch")
    if c2.button("+1 epoch", icon=":material/add:", key="extend", width="stretch",
                 help="train this run one more epoch from its last finished epoch, in the same run"):
        try:  # into the run queue: it starts when its slots are free
            queue.extend(info.dir, 1, lr)
        except ValueError as e:  # another tab or a terminal asked first: one line
            st.error(literal(str(e)), icon=":material/error:")
            return
        st.rerun()
    st.caption(f"+1 epoch trains at one constant rate. Proposed: **{proposal.lr:.4g}**, "
               f"{literal(proposal.why)}.")


# ---------------------------------------------------------------- a live run: progress and charts
def page_state(info) -> tuple:
    """What the Train page shows of a live run besides its progress and charts (status, epochs done,
    pause/rate/stop asked): when it changes, the whole page is redrawn."""
    control = read_control(info.dir)
    return (info.status, len(info.epochs), bool(control.get("paused")), control.get("lr"),
            steering.stopping(info.dir))


def progress_bar(info) -> None:
    prog = summary.progress(info)
    st.progress(prog.fraction, text=literal(prog.text if info.status == "running" else f"{info.status} · {prog.text}"))


def live_progress(run_dir: Path, state: tuple, others: bool) -> None:
    """The progress bar (and the other seeds' line) alone, every second; the page once its state moved on."""
    @st.fragment(run_every=PROGRESS_S)
    def tick() -> None:
        guarded(_tick)(run_dir, state, others)  # inside: a timer rerun calls the fragment itself

    tick()


def _tick(run_dir: Path, state: tuple, others: bool) -> None:
    info = followed(run_dir)
    if info is None or page_state(info) != state:
        st.rerun()  # paused, an epoch ended, the run ended...: the rest of the page shows it
    progress_bar(info)
    repeats_line(run_dir, others)


def figures(info, smoothing: float):
    """The loss, accuracy and gradient figures. Rebuilt when the run, its status or the smoothing
    changed, or when new events arrived and the last build is about CHARTS_S old (a whole-page
    redraw in between, at an epoch's end say, reuses them: the charts stay under 2 s old)."""
    key = (info.name, info.status, smoothing)
    cached = st.session_state.get("_train_figures")
    fresh = cached is not None and cached[0] == key and (
        cached[1] == len(info.events) or time.monotonic() - cached[2] < CHARTS_S - 0.1)
    if not fresh:
        color = style.model_color(info.config.get("model", ""))
        changes = [e for e in info.events if e.get("event") == "lr_change"]
        loss = training.loss_figure(info.batches, info.epochs, smoothing, color)
        acc = training.accuracy_figure(info.batches, info.epochs, smoothing, color)
        cached = (key, len(info.events), time.monotonic(), training.mark_lr_changes(loss, changes),
                  training.mark_lr_changes(acc, changes),
                  training.grad_flow_figure(info.batches, info.start.get("grad_layers", [])))
        st.session_state["_train_figures"] = cached
    return cached[3:]


def charts(info, smoothing: float) -> None:
    loss, acc, grads = figures(info, smoothing)
    left, right = st.columns(2)
    with left:
        chart(loss, key="loss_chart")
    with right:
        chart(acc, key="acc_chart")
    chart(grads, key="grad_chart")


def live_charts(run_dir: Path, smoothing: float) -> None:
    """The charts of a live run, redrawn every 2 s on their own."""
    @st.fragment(run_every=CHARTS_S)
    def draw() -> None:
        info = guarded(followed)(run_dir)
        if info is not None:
            guarded(charts)(info, smoothing)

    draw()


# ---------------------------------------------------------------- the form follows the watched run
def _fits(value, name: str) -> bool:
    low, high = page_range(name)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def _recipe_state(model: str, name, used) -> dict:
    """The recipe radio (and the custom inputs) for a run's recipe; {} when the form cannot show it."""
    if name not in RECIPES or not isinstance(used, dict):
        return {}
    if all(used.get(k) == v for k, v in recipe_for(name, model).to_dict().items() if k in CUSTOM):
        return {"recipe": name}
    values = {k: used.get(k) for k in CUSTOM}
    ok = (_fits(values["epochs"], "epochs") and values["batch_size"] in BATCH_SIZES and _fits(values["lr"], "lr")
          and values["optimizer"] in OPTIONS["optimizer"].choices and values["schedule"] in OPTIONS["schedule"].choices
          and isinstance(values["augment"], bool))
    return {"recipe": "custom", **values} if ok else {}


def fill_form(run_dir: Path | None) -> None:
    """When a run is opened here (a link, Runs' Open on Train, a run started elsewhere), the form on the
    left shows its network and settings, once: then the person's own changes stand."""
    info = followed(run_dir) if run_dir else None
    if info is None or st.session_state.get(FORM_FROM) == info.name:
        return
    st.session_state[FORM_FROM] = info.name
    c = info.config
    model, kwargs = c.get("model"), c.get("model_kwargs") if isinstance(c.get("model_kwargs"), dict) else {}
    if model not in MODELS:
        return
    state = {"model": model, **_recipe_state(model, c.get("recipe_name"), c.get("recipe"))}
    state.update({k: kwargs[k] for k in ("blocks", "width") if _fits(kwargs.get(k), k)})
    state["limit"] = c["limit"] if _fits(c.get("limit"), "limit") else 0
    state["keep_epochs"] = keeps_epochs(c)
    low, high = page_range("seed")
    if isinstance(c.get("seed"), int) and low <= c["seed"] <= high - MAX_REPEATS:
        state["seed"] = c["seed"]
    st.session_state.update(state)


def form_note(run_dir: Path | None) -> None:
    """Over the form: what it holds, and that it starts a new run."""
    name = st.session_state.get(FORM_FROM)
    if run_dir is not None and name == Path(run_dir).name:
        info = followed(run_dir)
        tuned = labels.tuned_words(info.config) if info else ""
        st.caption(f"New run · filled in from {literal(name)} (on the right): **Start training** starts a new "
                   "run with these settings" + (f", from scratch: that run was {literal(tuned)}, and the "
                                                "Handwriting page fine-tunes." if tuned else "."))
    else:
        st.caption("New run: pick a network and a recipe.")
