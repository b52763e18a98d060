"""The fine-tuning lesson on the Lessons page: predict, fine-tune the shipped Residual three ways, check."""

from __future__ import annotations

import streamlit as st

from app_pages import _lessons as ui
from app_pages._common import guarded, runs_dir
from app_pages._escape import code, literal
from app_pages._handwriting_changes import variants_table
from netlib.handwriting import sets, tuning
from netlib.handwriting.changes import read_changes
from netlib.lab import lesson_finetune as lf
from netlib.lab import lessons
from netlib.models import title


def set_caption(chosen: lf.LessonSet) -> str:
    if chosen.synthetic:
        return (f"With no set of your own that has every digit at least {lf.MIN_PER_DIGIT} times, it uses the "
                f"shipped example set **{literal(chosen.name)}** ({chosen.examples} digits, {chosen.held_out} of them "
                "held out): **synthetic**, drawn "
                "by the lab's stroke renderer in one made-up writer's style, not by a person. Collect your own "
                "on the Handwriting page.")
    return (f"It uses your set **{literal(chosen.name)}** ({chosen.examples} digits, {chosen.held_out} of them held "
            "out; the most of your sets).")


@guarded
def finetune_forget(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    chosen = lf.lesson_set(sets.list_sets())
    dirs, busy = ui.lesson_runs_now(lesson.id)
    if chosen is not None:
        st.caption(f"Preset: the shipped {title(lf.LESSON_MODEL)} checkpoint fine-tuned three ways: "
                   + ", ".join(tuning.VARIANTS.values()) + f"; {lf.THREADS} CPU thread per run. "
                   + set_caption(chosen))
    if ui.button(lesson, picks, disabled=busy or chosen is None,
                 why="the lesson's runs are training" if busy else "no handwriting set to fine-tune on"):
        st.session_state[ui.runs_key(lesson.id)] = lf.start_runs(chosen.name, runs_dir())
        st.rerun()
    if dirs:
        ui.follow(dirs, busy, lambda state: result(lesson, picks, state))


def result(lesson: lessons.Lesson, picks: dict, state) -> None:
    found = {lf.variant(run.config): read_changes(run.dir) for run in state.runs}
    broken = [c["error"] for c in found.values() if c and "error" in c]
    if broken:
        st.error(literal(broken[0]), icon=":material/error:")
        return
    ui.verdicts(lesson, picks, lf.answer(found))
    rows = lf.comparison_rows([(run.name, run.config, read_changes(run.dir)) for run in state.runs])
    variants_table(rows)
    words = lf.answer_words(rows)
    if words:
        st.markdown(words)
    st.caption("Runs: " + ", ".join(code(run.name) for run in state.runs)
               + " (ordinary runs: on Train, and their checkpoints on Draw). The Handwriting page's What changed "
                 "shows them per digit, with the digits they now read differently.")
    ui.links(lesson)
