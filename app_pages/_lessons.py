"""The Lessons page's shared parts: question, one button, measured answer beside the person's, runs."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import streamlit as st

from app_pages._common import PAGES, followed, guarded, runs_dir
from app_pages._escape import literal
from netlib.lab import lesson_runs, lessons
from netlib.runs import reader, summary
from netlib.runs.follow import followers


def shown_key(lesson_id: str) -> str:
    return f"lesson_shown_{lesson_id}"  # True once the one button was pressed (or a pair picked)


def runs_key(lesson_id: str) -> str:
    return f"lesson_runs_{lesson_id}"  # the run folders of this lesson's experiment, this session


def picks_key(lesson_id: str) -> str:
    return f"lesson_picks_{lesson_id}"  # the predictions as they were when the answer was revealed


def reveal(lesson_id: str, picks: dict) -> None:
    """Show the measured answer, checked against these predictions from now on."""
    st.session_state[shown_key(lesson_id)] = True
    st.session_state[picks_key(lesson_id)] = dict(picks)


def predict_again(lesson: lessons.Lesson) -> None:
    """Hide the answer and clear the predictions (a button's callback: before the radios are drawn)."""
    for key in (shown_key(lesson.id), picks_key(lesson.id), *(f"q_{lesson.id}_{q.key}" for q in lesson.questions)):
        st.session_state.pop(key, None)


def ask(lesson: lessons.Lesson) -> dict:
    """One radio per question, nothing pre-chosen; the person's picks by question key (None: no pick).
    Once the answer shows they are locked: the verdict checks the prediction made before it, and a
    prediction changed afterwards would turn any verdict into 'right'. 'Predict again' starts over."""
    st.subheader(lesson.title)
    locked = shown(lesson.id)
    picks = {q.key: st.radio(q.prompt, q.choices, index=None, horizontal=True, key=f"q_{lesson.id}_{q.key}",
                             disabled=locked) for q in lesson.questions}
    if locked:
        st.button("Predict again", key=f"again_{lesson.id}", icon=":material/replay:", type="tertiary",
                  on_click=predict_again, args=(lesson,), help="hide the answer and make a new prediction")
    return picks


def button(lesson: lessons.Lesson, picks: dict, label: str = "", disabled: bool = False, why: str = "") -> bool:
    """The lesson's one button; it waits for a prediction, so the measurement checks a guess."""
    unanswered = any(v is None for v in picks.values())
    clicked = st.button(label or lesson.action, type="primary", key=f"go_{lesson.id}",
                        icon=":material/science:", disabled=unanswered or disabled,
                        on_click=reveal, args=(lesson.id, picks),  # before the run: its radios are locked
                        help="answer first: then the button measures" if unanswered else
                        (why or None) if disabled else None)
    if unanswered:
        st.caption("Predict first: pick an answer above, then press the button to measure it.")
    return clicked


def shown(lesson_id: str) -> bool:
    return bool(st.session_state.get(shown_key(lesson_id)))


def predict_then_measure(lesson: lessons.Lesson) -> dict | None:
    """The questions and the one button; the picks once the measurement is to be shown, else None."""
    picks = ask(lesson)
    button(lesson, picks)
    return picks if shown(lesson.id) else None


def verdicts(lesson: lessons.Lesson, picks: dict, measured: dict) -> None:
    """Per question: the person's answer (as predicted before the reveal), the measured one, right or
    wrong. Text, not metrics: a metric cut a long answer to one line ('yes: it falls by more than t…')."""
    picks = st.session_state.get(picks_key(lesson.id), picks)
    cols = st.columns(len(lesson.questions))
    for col, q in zip(cols, lesson.questions):
        picked, answer = picks.get(q.key), measured.get(q.key)
        ok = lessons.grade(picked, answer)
        with col.container(border=True):
            if len(lesson.questions) > 1:
                st.caption(q.prompt)
            st.markdown(f"Your answer: **{literal(picked or '—')}**")
            st.markdown(f"Measured: **{literal(answer or '—')}**")
            if ok is True:
                st.markdown(":green-badge[:material/check: right]")
            elif ok is False:
                st.markdown(":red-badge[:material/close: not this time]")
            else:
                st.markdown(":gray-badge[no answer to check yet]")


def links(lesson: lessons.Lesson) -> None:
    by_path = {p.path: p for p in PAGES}
    st.caption("See more")
    cols = st.columns(len(lesson.links))
    for col, path in zip(cols, lesson.links):
        page = by_path[path]
        col.page_link(page.path, label=page.title, icon=page.icon)


def start(lesson_id: str) -> None:
    """Launch a lesson's preset runs; they are ordinary runs, listed on Train and Compare too."""
    st.session_state[runs_key(lesson_id)] = lesson_runs.start_runs(lesson_id, runs_dir())


def pick_newest(lesson_id: str, models: tuple, picks: dict) -> bool:
    """A button that takes this lesson's answer from the newest finished pair of `models` that can be
    compared, instead of training two new runs; shown only once the person has predicted. True when pressed."""
    if any(v is None for v in picks.values()):
        return False  # predict first, as with the lesson's own button
    pair = lesson_runs.newest_pair(reader.run_index(runs_dir()), models)
    if pair is None or pair == st.session_state.get(runs_key(lesson_id)):
        return False
    names = " and ".join(Path(p).name for p in pair)
    return st.button("Use my newest finished pair", key=f"pair_{lesson_id}", icon=":material/history:",
                     help=f"measure {names} instead of training two new runs", on_click=use_pair,
                     args=(lesson_id, pair, picks))


def use_pair(lesson_id: str, pair, picks: dict) -> None:
    """pick_newest's click, before the run: the pair is the lesson's runs, the answer shows."""
    st.session_state[runs_key(lesson_id)] = pair
    reveal(lesson_id, picks)


def lesson_runs_now(lesson_id: str) -> tuple[list, bool]:
    """This lesson's run folders this session, and whether they are still starting or training."""
    dirs = st.session_state.get(runs_key(lesson_id), [])
    return dirs, bool(dirs) and lesson_runs.runs_state(dirs).state in ("starting", "running")


def follow(dirs: list, busy: bool, done: Callable[[lesson_runs.RunsState], None]) -> None:
    """A fragment that polls the runs while they train (progress, or the failure) and calls done(state)
    once all of them have finished."""
    @st.fragment(run_every=2.0 if busy else None)
    def result() -> None:
        followers(st.session_state).watch([Path(d) for d in dirs])  # this page's runs, no others
        state = lesson_runs.runs_state(dirs, read=followed)
        runs_progress(state)
        if state.state == "done":
            done(state)
        if busy and state.state not in ("starting", "running"):
            st.rerun()  # the runs ended: stop polling

    guarded(result)()


def runs_progress(state: lesson_runs.RunsState) -> None:
    """A line per run while the lesson's runs train; the failure, in words, if one failed."""
    if state.state == "failed":
        st.error(f"The lesson's runs did not finish: {literal(state.message)}", icon=":material/error:")
        return
    if state.state == "starting":
        st.info(literal(state.message), icon=":material/hourglass_top:")
    for run in state.runs:
        if run.live:
            st.caption(literal(f"{run.network or run.model}: {summary.progress(run).text}"))


def preset_caption(lesson_id: str) -> str:
    p = lessons.PRESETS[lesson_id]
    shape = f", {p.blocks} blocks per stage" if p.blocks != 1 else ""
    return (f"Preset: {p.recipe} recipe, {p.epochs} epoch on the first {p.limit:,} training images{shape}, "
            f"{p.threads} CPU thread per run, both runs at once.")


def trained_pair(lesson: lessons.Lesson, models: tuple, caption: str,
                 result: Callable[[lessons.Lesson, dict, lesson_runs.RunsState], None]) -> None:
    """A lesson that trains its preset pair: the questions, the one button, a pair of runs picked or made
    here, then result(lesson, picks, state) as they train and once they are done."""
    picks = ask(lesson)
    dirs, busy = lesson_runs_now(lesson.id)
    st.caption(caption)
    if button(lesson, picks, disabled=busy, why="the lesson's two runs are training"):
        start(lesson.id)
        st.rerun()
    if pick_newest(lesson.id, models, picks):
        st.rerun()
    if dirs:
        follow(dirs, busy, lambda state: result(lesson, picks, state))
