"""The Lessons page's lessons that read shipped files: recorded gradients, lesion checkpoints, seed repeats."""

from __future__ import annotations

import streamlit as st

from app_pages import _lessons as ui
from app_pages._common import chart, guarded, lesion_rows, pct, test_digits
from netlib.charts import lessons as lesson_charts
from netlib.charts import style, training
from netlib.charts.lesion import lesion_figure
from netlib.lab import catalogue, lessons, seed_dip as dip

LESION_NETS = {lessons.RESIDUAL3: "residual", lessons.PLAIN3: "plain"}  # title -> shipped checkpoint's model


@st.cache_data(show_spinner=False)
def story() -> list[dict]:
    return catalogue.recorded_story(style.COLORS)


@guarded
def skip_gradient(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    ui.button(lesson, picks)
    if not ui.shown(lesson.id):
        return
    runs = story()
    if len(runs) < 2:
        st.warning("The shipped recording (checkpoints/gradient_flow/) is missing: record it with "
                   "`bash scripts/record_gradient_flow.sh`, or run it here below.", icon=":material/info:")
    else:
        res, plain = runs
        answer = lessons.skip_answer(res["batches"], plain["batches"])
        ui.verdicts(lesson, picks, answer["verdicts"])
        chart(training.first_layer_grad_figure(runs), key="lesson_grad_chart")
        if answer["ratio"] is not None:
            st.markdown(
                f"In the recording ({res['recipe']} recipe, 3 blocks per stage, all 60,000 training images) "
                f"the gradient reaching the first layer at the end of epoch 1 (mean of its last "
                f"{min(10, answer['reports'])} reports) is **{answer['ratio']:,.0f}x** larger with skips. "
                f"After {len(plain['epochs'])} epochs Plain ×3 reads {pct(plain['epochs'][-1]['test_acc'])} "
                f"of the test digits, Residual ×3 {pct(res['epochs'][-1]['test_acc'])}. Without skips each "
                "block the gradient passes back through can shrink it; with them it has a path of factor 1 "
                "around every block.")
        st.caption("Recorded with `bash scripts/record_gradient_flow.sh` (checkpoints/gradient_flow/).")
    run_it(lesson)
    ui.links(lesson)


def run_it(lesson: lessons.Lesson) -> None:
    """The same two networks trained here, briefly, and the same ratio from their runs."""
    dirs = st.session_state.get(ui.runs_key(lesson.id), [])
    busy = bool(dirs) and lessons.runs_state(dirs).state in ("starting", "running")
    st.markdown("**Measure it here too** · " + ui.preset_caption(lesson.id))
    if st.button("Run Residual ×3 and Plain ×3", key="run_skip", icon=":material/play_arrow:", disabled=busy):
        ui.start(lesson.id)
        st.rerun()
    if not dirs:
        return

    @st.fragment(run_every=2.0 if busy else None)
    def result() -> None:
        state = lessons.runs_state(dirs)
        ui.runs_progress(state)
        if state.state == "done":
            res, plain = state.runs
            answer = lessons.skip_answer(res.batches, plain.batches)
            if answer["ratio"] is None:
                st.warning("These runs recorded no gradient norms to compare.", icon=":material/info:")
            else:
                st.markdown(f"Measured in your runs ({res.name}, {plain.name}): the first layer's gradient at "
                            f"the end of epoch 1 (mean of its last {min(10, answer['reports'])} reports) is "
                            f"**{answer['ratio']:,.0f}x** larger with skips: "
                            f"**{answer['verdicts']['ratio']}**. Test accuracy after this short epoch: "
                            f"Residual ×3 {pct(res.epochs[-1]['test_acc'])}, Plain ×3 "
                            f"{pct(plain.epochs[-1]['test_acc'])}.")
        if busy and state.state not in ("starting", "running"):
            st.rerun()  # the runs ended: stop polling

    guarded(result)()


@guarded
def lesion(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    paths = {title: catalogue.lesion_checkpoint(model) for title, model in LESION_NETS.items()}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        st.info(f"Not available yet: the shipped checkpoints {', '.join(missing)} are missing from "
                f"{catalogue.shipped_dir() / catalogue.LESION_DIR} (train them with "
                "`bash scripts/train_lesion_checkpoints.sh`).", icon=":material/info:")
    _, _, source = test_digits()
    n = lessons.LESION_DIGITS
    st.caption(f"Each network is tested whole, then once with each of its blocks removed, on the first "
               f"{n:,} digits of the {source}.")
    ui.button(lesson, picks, disabled=bool(missing), why="needs the shipped lesion checkpoints")
    if not ui.shown(lesson.id) or missing:
        return
    with st.spinner("Testing both networks with each block removed..."):
        rows = {title: lesion_rows(path, n) for title, path in paths.items()}
    answer = lessons.lesion_answer(rows)
    ui.verdicts(lesson, picks, answer["verdicts"])
    chart(lesion_figure([(title, model, rows[title]) for title, model in LESION_NETS.items()]),
          key="lesson_lesion_chart")
    for net in answer["networks"]:
        verb = "survives" if net["survives"] else "does not survive"
        st.markdown(f"- **{net['network']}** {verb}: {pct(net['intact'])} whole, {pct(net['worst'])} without "
                    f"{net['worst_block']} (its worst), {pct(net['mean'])} on average with one block removed.")
    st.caption(f"Survives: removing any one block costs it under {answer['small_drop']:g} points of test "
               "accuracy. These are the shipped ×3 checkpoints (3 blocks per stage); with 1 block per stage "
               "a removal takes half the network away.")
    ui.links(lesson)


@st.cache_data(show_spinner=False)
def repeats() -> dict:
    return dip.read_repeats()


@guarded
def seed_dip(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    ui.button(lesson, picks)
    if not ui.shown(lesson.id):
        return
    curves = repeats()
    answer = dip.seed_answer(curves)
    if answer["verdicts"]["dip"] is None:
        st.warning(f"The seed repeats cannot answer this: {answer['reason']}. Record them with "
                   "`bash scripts/record_seed_repeats.sh` (checkpoints/seed_repeats/).", icon=":material/info:")
        return
    ui.verdicts(lesson, picks, answer["verdicts"])
    a, b = answer["first"], answer["second"]
    complete = {s: curves[s] for s in answer["seeds"]}
    chart(lesson_charts.seed_curves_figure(complete, a, b), key="lesson_seed_chart")
    st.dataframe(answer["table"], hide_index=True, width="stretch")
    for s in answer["seeds"]:
        first, second = answer["printed"][s]
        st.markdown(f"- Seed {s}: {pct(curves[s][a - 1])} → {pct(curves[s][b - 1])} "
                    f"({100 * answer['changes'][s]:+.2f} points), printed in whole percents: {first} → {second}")
    st.markdown(
        f"Epoch {a} → {b} changes the mean test accuracy by **{100 * answer['mean_change']:+.2f} points**; "
        f"the seeds differ by up to **{100 * answer['noise']:.2f} points** at those epochs (spread = best "
        f"minus worst seed). The seed script printed whole percents: {pct(0.9849)} prints as "
        f"{dip.whole_percent(0.9849)} and {pct(0.9851)} as {dip.whole_percent(0.9851)}, so a 1-point "
        "'dip' in its output can be a change of a few hundredths of a point across a rounding boundary.")
    st.caption("Recorded with `bash scripts/record_seed_repeats.sh`: Residual (1 block per stage, as "
               "published), seed recipe, seeds " + ", ".join(map(str, answer["seeds"])) + ", all 60,000 "
               "training images; it holds for this network and recipe."
               + (f" Left out (incomplete): seed {', '.join(map(str, answer['incomplete']))}."
                  if answer["incomplete"] else ""))
    ui.links(lesson)
