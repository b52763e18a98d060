"""The map lesson on the Lessons page: predict which network separates the digits better after one epoch,
train both (the preset), and check with their maps' kNN accuracy."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages import _lessons as ui
from app_pages import _map_parts as parts
from app_pages._common import guarded
from app_pages._escape import code
from netlib.embedding.maps import DEFAULT_N
from netlib.lab import lesson_runs, lessons
from netlib.runs.files import CHECKPOINT

MODELS = lessons.PRESETS["map-separation"].models


@guarded
def map_separation(lesson: lessons.Lesson) -> None:
    ui.trained_pair(lesson, MODELS, ui.preset_caption(lesson.id) + f" Then both maps: PCA of MNIST's first "
                    f"{DEFAULT_N:,} test digits.", result)


def result(lesson: lessons.Lesson, picks: dict, state: lesson_runs.RunsState) -> None:
    maps = {run.model: (run, parts.checkpoint_map(Path(run.dir) / CHECKPOINT, "pca", DEFAULT_N))
            for run in state.runs}
    answer = lessons.separation_answer({model: m.separation for model, (_, m) in maps.items()})
    ui.verdicts(lesson, picks, answer["verdicts"])
    st.dataframe([{"network": r["network"], "5-NN accuracy, features": r["knn_features"],
                   "5-NN accuracy, map": r["knn_map"], "silhouette, features": r["silhouette_features"]}
                  for r in answer["rows"]], hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="percent")
                                for c in ("5-NN accuracy, features", "5-NN accuracy, map")})
    st.caption(f"The verdict goes by the kNN accuracy among the full features; gaps under "
               f"{100 * answer['tie']:.0f} point count as about the same (over {DEFAULT_N:,} digits, the noise "
               "is about half a point). One seed, one short epoch: another seed may order them otherwise.")
    for col, (model, (run, m)) in zip(st.columns(len(maps)), maps.items()):
        with col:
            parts.scatter(m, f"lesson_map_{model}", f"{run.network or model} after one epoch",
                          Path(run.dir) / CHECKPOINT)
    st.caption("Runs: " + ", ".join(code(run.name) for run, _ in maps.values()) + " (on the Map page too).")
    ui.links(lesson)
