"""The map as Plotly figures: the scatter (one colour per true digit, misread digits marked, a drawn digit as a
star) and the separation figures epoch by epoch."""

from __future__ import annotations

from typing import Optional

import numpy as np
import plotly.graph_objects as go

from ..charts.style import built
from .project import TITLES
from .separation import LABELS

# Ten colours told apart by most eyes (Plotly's D3 palette): one per true digit.
DIGIT_COLORS = ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F",
                "#BCBD22", "#17BECF"]
GL_ABOVE = 3000  # points beyond this are drawn by WebGL (SVG slows past a few thousand)
HOVER = ("test digit #%{customdata[0]}<br>true <b>%{customdata[1]}</b> · read <b>%{customdata[2]}</b> "
         "(%{customdata[3]:.1%})<br><i>click: its image</i><extra></extra>")


def map_figure(m, title: str = "", star: Optional[np.ndarray] = None, star_text: str = "",
               ranges: Optional[tuple] = None, height: int = 520) -> go.Figure:
    """The map: a trace per true digit, the misread ones again as crosses on top, and the Draw page's digit
    as a star. customdata per point: [test digit index, true, read, confidence]. ranges: fixed (x, y)
    axis ranges, so frames of one run share their axes."""
    kind = "scattergl" if m.count > GL_ABOVE else "scatter"
    data = []
    for digit in range(10):
        idx = np.flatnonzero(m.labels == digit)
        data.append(_points(kind, m, idx, str(digit), dict(size=5, color=DIGIT_COLORS[digit], opacity=0.75)))
    wrong = m.misread
    data.append(_points(kind, m, wrong, f"misread ({len(wrong)})",
                        dict(size=10, symbol="x-thin-open", color="#111827", line=dict(width=2))))
    if star is not None:
        data.append({"type": kind, "x": [float(star[0])], "y": [float(star[1])], "mode": "markers",
                     "name": "your drawing", "hovertemplate": f"your drawing (Draw page){star_text}<extra></extra>",
                     "marker": dict(size=20, symbol="star", color="#FACC15", line=dict(width=1.5, color="#111827"))})
    axis = dict(showticklabels=False, title=None, zeroline=False)
    layout = {"xaxis": {**axis, **({"range": list(ranges[0])} if ranges else {})},
              "yaxis": {**axis, **({"range": list(ranges[1])} if ranges else {}), "scaleanchor": "x"},
              "hovermode": "closest", "clickmode": "event+select", "dragmode": "pan",
              "legend": dict(orientation="v", y=1, x=1.02, yanchor="top", xanchor="left", title="true digit"),
              "margin": dict(l=8, r=8, t=40, b=8)}
    return built(data, layout, title or f"{TITLES[m.method]} of {m.count:,} test digits", height)


def _points(kind: str, m, idx: np.ndarray, name: str, marker: dict) -> dict:
    custom = np.column_stack([idx, m.labels[idx], m.predictions[idx], np.round(m.confidence[idx], 4)])
    return {"type": kind, "x": m.points[idx, 0], "y": m.points[idx, 1], "mode": "markers", "name": name,
            "customdata": custom, "hovertemplate": HOVER, "marker": marker}


def frame_ranges(frames: list) -> tuple:
    """(x range, y range) holding every frame's points with a margin: the epoch slider moves points, not axes."""
    pts = np.concatenate([f.points for f in frames])
    low, high = pts.min(axis=0), pts.max(axis=0)
    pad = (high - low) * 0.05 + 1e-6
    return (low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1])


def separation_figure(epochs: list[int], frames: list, current: Optional[int] = None) -> go.Figure:
    """kNN accuracy in the features and on the map, per kept epoch."""
    data = [{"type": "scatter", "x": epochs, "y": [f.separation[key] for f in frames], "mode": "lines+markers",
             "name": LABELS[key], "hovertemplate": "epoch %{x}: %{y:.3f}<extra></extra>"}
            for key in ("knn_features", "knn_map")]
    layout = {"xaxis": {"title": "epoch", "dtick": 1 if len(epochs) <= 20 else None},
              "yaxis": {"title": "kNN accuracy", "tickformat": ".0%"}, "hovermode": "closest"}
    if current is not None:
        layout["shapes"] = [{"type": "line", "x0": current, "x1": current, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"dash": "dot", "color": "#9CA3AF"}}]
    return built(data, layout, "How well the digits separate, epoch by epoch", 280)
