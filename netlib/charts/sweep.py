"""A sweep's figures: Optuna's own (optuna.visualization), each drawn only when the study has what it
needs, in the lab's chart style; otherwise a one-line note saying why, never a blank or an error."""

from __future__ import annotations

import warnings
from typing import Callable, Optional

from ..sweeps.trials import METRIC
from . import style

# (key, tab title, what it shows): the order of the page's tabs
FIGURES = (
    ("history", "History", "each finished trial's accuracy, and the best so far"),
    ("parallel", "Parallel coordinates", "every finished trial as a line through its parameters"),
    ("importance", "Importances", "how much of the accuracy's spread each parameter explains (fANOVA)"),
    ("intermediate", "Per epoch", "each trial's accuracy after every epoch (what pruning compares)"),
    ("slice", "Slice", "accuracy against each parameter on its own"),
)


def _complete(study) -> list:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def _varying(trials: list) -> list[str]:
    """The parameters that take more than one value among these trials."""
    names = sorted({k for t in trials for k in t.params})
    return [k for k in names if len({repr(t.params.get(k)) for t in trials}) > 1]


def why_not(study, key: str) -> Optional[str]:
    """Why figure `key` cannot be drawn yet (one line), or None when the study has what it needs."""
    done = _complete(study)
    if key == "intermediate":
        if not any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
            return "No trial has finished an epoch yet."
        return None
    if not done:
        return "No trial has finished yet."
    params = sorted({k for t in done for k in t.params})
    if key in ("parallel", "slice") and not params:
        return "Nothing varies in this sweep: there are no parameters to draw."
    if key == "importance":
        if len(done) < 2:
            return "Importances need at least 2 finished trials."
        if not _varying(done):
            return "Importances need a parameter that differs between the finished trials."
    return None


def _plot(key: str) -> Callable:
    import optuna.visualization as vis

    return {"history": lambda s: vis.plot_optimization_history(s, target_name=METRIC),
            "parallel": lambda s: vis.plot_parallel_coordinate(s, target_name=METRIC),
            "importance": lambda s: vis.plot_param_importances(s, target_name=METRIC),
            "intermediate": vis.plot_intermediate_values,
            "slice": lambda s: vis.plot_slice(s, target_name=METRIC)}[key]


def figure(study, key: str) -> tuple:
    """(Optuna's figure in the lab's style, None) or (None, why it is not drawn)."""
    note = why_not(study, key)
    if note:
        return None, note
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fig = _plot(key)(study)
        except Exception as e:  # noqa: BLE001  Optuna refuses some studies (e.g. a constant objective)
            text = str(e).strip().splitlines()
            return None, f"Optuna could not draw it: {text[0][:200] if text else type(e).__name__}."
    said = [str(w.message).strip().splitlines()[0] for w in caught if issubclass(w.category, UserWarning)
            and "experimental" not in str(w.message).lower() and str(w.message).strip()]
    if said:
        return None, f"Optuna did not draw it: {said[0][:200]}"
    return styled(fig), None


def styled(fig):
    """The lab's look over Optuna's figure: its font, colours and margins; the data stays Optuna's."""
    title = fig.layout.title.text or ""
    fig.update_layout(template=style.TEMPLATE, uirevision=style.UIREVISION, height=420, hovermode="closest",
                      paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="white", font=dict(family=style.FONT),
                      title=dict(text=title, x=0, xanchor="left"), margin=dict(l=64, r=24, t=48, b=56))
    return fig
