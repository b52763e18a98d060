"""Lessons: predict, run, check. A question, one button that measures, the measured answer beside yours."""

import streamlit as st

from app_pages import _lessons as ui
from app_pages import _links as links
from app_pages._common import chart, guarded, model_cost
from app_pages._lesson_recordings import lesion, seed_dip, skip_gradient
from netlib.charts import lessons as lesson_charts
from netlib.charts import style
from netlib.lab import lessons

SPEED_MODELS = ("inception", "naive")


@guarded
def one_by_one(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    ui.button(lesson, picks)
    if not ui.shown(lesson.id):
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
    st.markdown(
        f"Counted from the blocks' own convolutions (per digit, at the first block's "
        f"{answer['rows'][0]['in_ch']}-channel input and its feature-map size). Both costs grow linearly "
        f"with the input width; they cross at about **{answer['crossover']:.1f} input channels**. Below "
        "that the 1x1 convs add work, above it they save it.")
    ui.links(lesson)


@st.cache_data(show_spinner=False)
def speed_macs() -> dict:
    return {m: model_cost(m)["macs"] for m in SPEED_MODELS}


def speed_words(rows: list[dict]) -> str:
    """What was measured, in words: multiply-adds against samples/s, from the two runs' numbers."""
    by = {r["model"]: r for r in rows}
    inc, naive = by["inception"], by["naive"]
    cheap, dear = sorted((inc, naive), key=lambda r: r["macs"])
    fewer = 100 * (1 - cheap["macs"] / dear["macs"])
    speed = cheap["samples_per_s"] / dear["samples_per_s"]
    faster = speed > 1
    setting = "; ".join(each(rows, key, unit) for key, unit in (("threads", "CPU thread(s)"),
                                                                  ("samples", "training images")))
    return (f"Measured here: Inception trained at **{inc['samples_per_s']:,.0f} samples/s**, Naive Inception at "
            f"**{naive['samples_per_s']:,.0f} samples/s** ({setting}). {cheap['network']} does {fewer:.0f}% fewer multiply-adds "
            f"per digit and trained {abs(100 * (speed - 1)):.0f}% {'faster' if faster else 'slower'}: here fewer "
            f"multiply-adds {'did' if faster else 'did not'} mean faster training. Multiply-adds count "
            "arithmetic only; convolutions this thin do little arithmetic per byte they move, so memory "
            "traffic and per-layer overhead weigh as much, and runs sharing the cores slow each other: "
            "run it again to see how much the numbers move.")


def each(rows: list[dict], key: str, unit: str) -> str:
    """'1 CPU thread(s) each', or per network when the runs differ."""
    values = [f"{r[key]:,}" if isinstance(r[key], int) else "?" for r in rows]  # "?": an old run's log
    if len(set(values)) == 1:
        return f"{values[0]} {unit} each"
    return ", ".join(f"{r['network']} {v}" for r, v in zip(rows, values)) + f" {unit}"


@guarded
def naive_speed(lesson: lessons.Lesson) -> None:
    picks = ui.ask(lesson)
    dirs = st.session_state.get(ui.runs_key(lesson.id), [])
    busy = bool(dirs) and lessons.runs_state(dirs).state in ("starting", "running")
    st.caption(ui.preset_caption(lesson.id))
    if ui.button(lesson, picks, disabled=busy, why="the lesson's two runs are training"):
        ui.start(lesson.id)
        st.rerun()
    if ui.pick_newest(lesson.id, SPEED_MODELS):
        st.rerun()
    if not dirs:
        return

    @st.fragment(run_every=2.0 if busy else None)
    def result() -> None:
        state = lessons.runs_state(dirs)
        ui.runs_progress(state)
        if state.state == "done":
            answer = lessons.speed_answer(state.runs, speed_macs())
            ui.verdicts(lesson, picks, answer["verdicts"])
            chart(lesson_charts.speed_figure(answer["rows"], style.COLORS), key="lesson_speed_chart")
            if answer["verdicts"]["faster"]:
                st.markdown(speed_words(answer["rows"]))
            st.caption("Runs: " + ", ".join(r["run"] for r in answer["rows"]) + " (listed on Train and Compare).")
            ui.links(lesson)
        if busy and state.state not in ("starting", "running"):
            st.rerun()  # the runs ended: stop polling

    guarded(result)()


RENDER = {"one-by-one": one_by_one, "naive-speed": naive_speed, "skip-gradient": skip_gradient,
          "lesion": lesion, "seed-dip": seed_dip}


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
