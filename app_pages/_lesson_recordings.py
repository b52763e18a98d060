"""The Lessons page's lessons that read shipped files: recorded gradients, lesion checkpoints, seed repeats."""

from __future__ import annotations

import streamlit as st

from app_pages import _lessons as ui
from app_pages._escape import code
from app_pages._common import chart, checkpoint_meta, guarded, lesion_rows, pct, recorded_story, test_digits
from netlib.charts import lessons as lesson_charts
from netlib.charts import training
from netlib.charts.lesion import lesion_figure
from netlib.lab import catalogue, lesson_runs, lessons, seed_dip as dip
from netlib.names import LESION_MODELS, network_title


@st.cache_data(show_spinner=False)
def story_setup() -> dict:
    """model -> what the shipped gradient recording was recorded with, in words (from its start event)."""
    return {model: lessons.recording_setup(start) for model, start in lessons.story_starts().items() if start}


@guarded
def skip_gradient(lesson: lessons.Lesson) -> None:
    picks = ui.predict_then_measure(lesson)
    if picks is None:
        return
    runs = recorded_story()
    if len(runs) < 2:
        st.warning("The shipped recording (checkpoints/gradient_flow/) is missing: record it with "
                   "`bash scripts/record_gradient_flow.sh`, or run it here below.", icon=":material/info:")
    else:
        res, plain = runs
        answer = lessons.skip_answer(res["batches"], plain["batches"])
        ui.verdicts(lesson, picks, answer["verdicts"])
        chart(training.first_layer_grad_figure(runs), key="lesson_grad_chart")
        if answer["ratio"] is not None:
            blocks = lessons.blocks_of(res["grad_layers"])  # the recording's depth, from its layer names
            depth = {"blocks": blocks} if blocks else {}
            setup = story_setup()
            st.markdown(
                f"In the recording ({'; '.join(setup[m] for m in ('residual', 'plain') if m in setup)}) "
                f"the gradient reaching the first layer at the end of epoch 1 (mean of its last "
                f"{min(10, answer['reports'])} reports) is **{answer['ratio']:,.0f}x** larger with skips. "
                f"After {len(plain['epochs'])} epochs {network_title('plain', depth)} reads "
                f"{pct(plain['epochs'][-1]['test_acc'])} of the test digits, {network_title('residual', depth)} "
                f"{pct(res['epochs'][-1]['test_acc'])}. Without skips each block the gradient passes back "
                "through can shrink it; with them it has a path of factor 1 around every block.")
        st.caption("Recorded with `bash scripts/record_gradient_flow.sh` (checkpoints/gradient_flow/).")
    run_it(lesson)
    ui.links(lesson)


def run_it(lesson: lessons.Lesson) -> None:
    """The same two networks trained here, briefly, and the same ratio from their runs."""
    dirs, busy = ui.lesson_runs_now(lesson.id)
    p = lessons.PRESETS[lesson.id]
    titles = [network_title(m, {"blocks": p.blocks}) for m in p.models]
    st.markdown("**Measure it here too** · " + ui.preset_caption(lesson.id))
    if st.button(f"Run {' and '.join(titles)}", key="run_skip", icon=":material/play_arrow:", disabled=busy):
        ui.start(lesson.id)
        st.rerun()
    if dirs:
        ui.follow(dirs, busy, lambda state: your_ratio(state, titles))


def your_ratio(state: lesson_runs.RunsState, titles: list[str]) -> None:
    res, plain = state.runs
    answer = lessons.skip_answer(res.batches, plain.batches)
    if answer["ratio"] is None:
        st.warning("These runs recorded no gradient norms to compare.", icon=":material/info:")
        return
    st.markdown(f"Measured in your runs ({code(res.name)}, {code(plain.name)}): the first layer's gradient at the end of "
                f"epoch 1 (mean of its last {min(10, answer['reports'])} reports) is "
                f"**{answer['ratio']:,.0f}x** larger with skips: **{answer['verdicts']['ratio']}**. Test "
                f"accuracy after this short epoch: {titles[0]} {pct(res.epochs[-1]['test_acc'])}, {titles[1]} "
                f"{pct(plain.epochs[-1]['test_acc'])}.")


@guarded
def lesion(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    paths = {model: catalogue.lesion_checkpoint(model) for model in LESION_MODELS}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        st.info(f"Not available yet: the shipped checkpoints {', '.join(missing)} are missing from "
                f"{catalogue.shipped_dir() / catalogue.LESION_DIR} (train them with "
                "`bash scripts/train_lesion_checkpoints.sh`).", icon=":material/info:")
    images, _, source = test_digits()
    n = min(lessons.LESION_DIGITS, len(images))  # the drawn stand-ins for MNIST are fewer
    metas = {} if missing else {model: checkpoint_meta(path) for model, path in paths.items()}
    titles = {model: network_title(m["model"], m.get("model_kwargs")) for model, m in metas.items()}
    # Each network named with its checkpoint: Home's Plain ×3 is another (a recorded 1-epoch run)
    named = [f"{titles[m]}, shipped checkpoint {catalogue.LESION_DIR}/{paths[m].name}" for m in titles]
    st.caption(f"Each network{' (' + ' and '.join(named) + ')' if named else ''} is tested whole, "
               f"then once with each of its blocks removed, on the first {n:,} digits of the {source}.")
    ui.button(lesson, picks, disabled=bool(missing), why="needs the shipped lesion checkpoints")
    if not ui.shown(lesson.id) or missing:
        return
    with st.spinner("Testing both networks with each block removed..."):
        rows = {model: lesion_rows(path, n) for model, path in paths.items()}
    answer = lessons.lesion_answer([(model, titles[model], rows[model]) for model in paths])
    ui.verdicts(lesson, picks, answer["verdicts"])
    chart(lesion_figure([(titles[model], model, rows[model]) for model in paths]), key="lesson_lesion_chart")
    files = {titles[model]: f"{catalogue.LESION_DIR}/{path.name}" for model, path in paths.items()}
    for net in answer["networks"]:
        st.markdown(f"- **{net['network']}** {'survives' if net['survives'] else 'does not survive'}: "
                    f"{net['words']} ({code(files.get(net['network'], '?'))})")
    depths = sorted({(m.get("model_kwargs") or {}).get("blocks", 1) for m in metas.values()})
    st.caption(f"Survives: removing any one block costs it under {answer['small_drop']:g} points of test "
               f"accuracy. These are the shipped lesion checkpoints, {' and '.join(map(str, depths))} "
               "block(s) per stage (from their metadata); with 1 block per stage a removal takes away half of "
               "the residual blocks.")
    ui.links(lesson)


@st.cache_data(show_spinner=False)
def repeats() -> dip.Repeats:
    return dip.read_repeats()


@guarded
def seed_dip(lesson: lessons.Lesson) -> None:
    picks = ui.predict_then_measure(lesson)
    if picks is None:
        return
    found = repeats()
    for seed, why in sorted(found.refused.items()):
        st.warning(f"Seed {seed}'s recording is left out: {why}.", icon=":material/info:")
    curves = found.curves
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
    st.markdown(dip.answer_words(answer))
    setups = sorted({lessons.recording_setup(found.starts[s]) for s in answer["seeds"]})
    st.caption("Recorded with `bash scripts/record_seed_repeats.sh`: " + "; ".join(setups) + ", seeds "
               + ", ".join(map(str, answer["seeds"])) + "; it holds for this network and recipe."
               + (f" Left out (incomplete): seed {', '.join(map(str, answer['incomplete']))}."
                  if answer["incomplete"] else ""))
    ui.links(lesson)
