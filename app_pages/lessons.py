"""Lessons: predict, run, check. A question, one button that measures, the measured answer beside yours."""

import streamlit as st

from app_pages import _lessons as ui
from app_pages import _links as links
from app_pages._common import chart, guarded, model_cost
from app_pages._escape import code
from app_pages._handwriting_lesson import finetune_forget
from app_pages._lesson_recordings import lesion, seed_dip, skip_gradient
from app_pages._map_lesson import map_separation
from netlib.charts import lessons as lesson_charts
from netlib.charts import style
from netlib.lab import lesson_runs, lessons

SPEED_MODELS = ("inception", "naive")


@guarded
def one_by_one(lesson: lessons.Lesson) -> None:
    picks = ui.predict_then_measure(lesson)
    if picks is None:
        return
    answer = lessons.one_by_one_answer()
    ui.verdicts(lesson, picks, answer["verdicts"])
    st.dataframe([{"width": r["width"], "first block": r["block"], "channels in": r["in_ch"],
                   "mult-adds with 1x1 convs": r["macs_with"], "without (Naive)": r["macs_without"],
                   "with them it is": r["verdict"]} for r in answer["rows"]],
                 hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="localized")
                                for c in ("mult-adds with 1x1 convs", "without (Naive)")})
    for r in answer["rows"]:
        st.markdown(f"- Width {r['width']}: {r['note']}.")
    inputs = " and ".join(f"{r['in_ch']} channels at width {r['width']}" for r in answer["rows"])
    st.markdown(
        f"Counted from the blocks' own convolutions (per digit, at the first block's input: {inputs}; and "
        f"its feature-map size). Both costs grow linearly with the input width; they cross at about "
        f"**{answer['crossover']:.1f} input channels**. Below that the 1x1 convs add work, above it they "
        "save it.")
    ui.links(lesson)


@st.cache_data(show_spinner=False)
def speed_macs(width: int) -> dict:
    """Multiply-adds per digit of both networks at the runs' width."""
    return {m: model_cost(m, width=width)["macs"] for m in SPEED_MODELS}


@guarded
def naive_speed(lesson: lessons.Lesson) -> None:
    ui.trained_pair(lesson, SPEED_MODELS, ui.preset_caption(lesson.id), speed_result)


def speed_result(lesson: lessons.Lesson, picks: dict, state: lesson_runs.RunsState) -> None:
    answer = lesson_runs.speed_answer(state.runs, speed_macs(lesson_runs.run_width(state.runs[0].config)))
    ui.verdicts(lesson, picks, answer["verdicts"])
    if answer["unlike"]:
        st.warning(f"These runs differ in {', '.join(answer['unlike'])}, so their speeds say nothing about "
                   "the networks: train both here, or pick a pair trained alike.", icon=":material/info:")
        return
    chart(lesson_charts.speed_figure(answer["rows"], style.COLORS), key="lesson_speed_chart")
    words = lesson_runs.speed_words(answer["rows"], answer["verdicts"]["faster"])
    if words:
        st.markdown(words)
    st.caption("Runs: " + ", ".join(code(r["run"]) for r in answer["rows"]) + " (listed on Train and Compare).")
    ui.links(lesson)


RENDER = {"one-by-one": one_by_one, "naive-speed": naive_speed, "skip-gradient": skip_gradient,
          "map-separation": map_separation,
          "lesion": lesion, "seed-dip": seed_dip, "finetune-forget": finetune_forget}


def main() -> None:
    st.title("Lessons")
    st.markdown("Each lesson asks a question about these networks. **Predict** the answer, press the one "
                "button to **run** the experiment (or open a shipped recording), then **check**: the "
                "measured answer appears beside yours.")
    if st.session_state.get("lesson") not in lessons.LESSON_IDS:
        st.session_state.pop("lesson", None)  # an unknown id (an old link) falls back to the first lesson
    chosen = st.radio("Lesson", lessons.LESSON_IDS, key="lesson", horizontal=True,
                      format_func=lambda i: f"{lessons.LESSON_IDS.index(i) + 1}. {lessons.lesson(i).title}")
    with st.container(border=True):
        RENDER[chosen](lessons.lesson(chosen))


links.run("lessons", main)
