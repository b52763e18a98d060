"""Figures of one digit: the input, the probabilities read, every stage's feature maps."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go

from .style import COLORS, built, figure

# The axes of a pixel-exact image: hidden, square pixels, row 0 at the top.
PIXELS = {"xaxis": {"visible": False, "constrain": "domain"},
          "yaxis": {"visible": False, "autorange": "reversed", "scaleanchor": "x", "constrain": "domain"},
          "hovermode": "closest"}


# ---------------------------------------------------------------- predictions
def probability_figure(probs: Sequence[float], color: str = COLORS["train"], title: str = "",
                       height: int = 260) -> go.Figure:
    """Ten bars, one per digit, the most likely one in full colour."""
    probs = [float(p) for p in probs]
    best = int(np.argmax(probs)) if probs and max(probs) > 0 else -1
    bars = {"type": "bar", "x": [str(i) for i in range(len(probs))], "y": [100 * p for p in probs],
            "marker": {"color": [color if i == best else "#CBD5E1" for i in range(len(probs))]},
            "text": [f"{100 * p:.0f}%" if p >= 0.01 else "" for p in probs], "textposition": "outside",
            "cliponaxis": False, "hovertemplate": "digit %{x}: %{y:.2f}%<extra></extra>"}
    return built([bars], {"hovermode": "closest", "showlegend": False, "bargap": 0.25,
                          "margin": dict(l=40, r=8, t=40 if title else 16, b=36),
                          "xaxis": {"title": {"text": "digit"}, "type": "category", "showgrid": False},
                          "yaxis": {"title": {"text": "probability (%)"}, "range": [0, 112], "dtick": 25}},
                 title, height)


# ---------------------------------------------------------------- feature maps
def tile(maps: np.ndarray, cols: int, gap: int = 1,
         groups: Optional[Sequence[tuple[str, int]]] = None) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """C x H x W -> one image of `cols` columns (NaN gaps), the channel of each pixel, and group rows.

    Each map is scaled to its own [0, 1] so quiet channels stay visible. With groups (label,
    channels), each group starts on a new row; the third result is (label, first row) per group.
    """
    c, h, w = maps.shape
    groups = list(groups or [("", c)])
    starts, slots, row = [], [], 0
    for label, n in groups:
        starts.append((label, row))
        first = sum(k for _, k in groups[:len(starts) - 1])
        slots += [(row + i // cols, i % cols, first + i) for i in range(n)]
        row += math.ceil(n / cols)
    img = np.full((row * (h + gap) - gap, cols * (w + gap) - gap), np.nan, dtype=np.float32)
    idx = np.full(img.shape, -1, dtype=np.int32)
    for r, q, k in slots:
        if k >= c:
            break
        m = maps[k].astype(np.float32)
        lo, hi = float(m.min()), float(m.max())
        m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        img[r * (h + gap): r * (h + gap) + h, q * (w + gap): q * (w + gap) + w] = m
        idx[r * (h + gap): r * (h + gap) + h, q * (w + gap): q * (w + gap) + w] = k
    return img, idx, starts


def feature_map_figure(maps: np.ndarray, title: str, groups: Optional[Sequence[tuple[str, int]]] = None) -> go.Figure:
    """A stage's output as one tiled image.

    maps: C x H x W (conv stages) or a vector (flatten, fc). groups: (label, channels) runs of
    channels to name, e.g. Inception's four branches, each on rows of its own.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 1:
        return _vector_figure(maps, title)
    c, h, w = maps.shape
    # groups: the largest column count dividing every group, so each fills whole rows
    cols = math.gcd(*[n for _, n in groups]) if groups else max(1, math.ceil(math.sqrt(c * h / w)))
    if not groups and cols * w < 60:
        cols = min(c, cols + 2)
    img, idx, starts = tile(maps, cols, groups=groups)
    left = 36 if groups else 8
    plot_w = 320 - left - 8  # the page shows it about 320 px wide: the height follows the image
    fig = figure(title, int(36 + 8 + min(520, max(60, plot_w * img.shape[0] / img.shape[1]))))
    fig.add_heatmap(z=img, customdata=idx, colorscale="Viridis", showscale=False, zmin=0, zmax=1,
                    hovertemplate="channel %{customdata}<br>activation %{z:.2f} (of its max)<extra></extra>")
    fig.update_layout(**PIXELS, margin=dict(l=left, r=8, t=36, b=8))
    if groups:
        for (label, row), (_, n) in zip(starts, groups):
            rows = math.ceil(n / cols)
            fig.add_annotation(x=-1, y=(row + rows / 2) * (h + 1) - 1, text=label, showarrow=False,
                               xanchor="right", font=dict(size=11, color="#4B5563"))
    return fig


def _vector_figure(v: np.ndarray, title: str) -> go.Figure:
    """A flat vector: 10 logits as bars, a long feature vector as a strip of rows of 64."""
    if v.size <= 16:
        fig = figure(title, 220)
        fig.add_bar(x=[str(i) for i in range(v.size)], y=v.tolist(), marker_color=COLORS["train"],
                    hovertemplate="%{x}: %{y:.3f}<extra></extra>")
        fig.update_xaxes(type="category", title="output")
        fig.update_yaxes(title="logit")
        fig.update_layout(hovermode="closest", margin=dict(l=48, r=8, t=36, b=36))
        return fig
    width = 64
    rows = math.ceil(v.size / width)
    z = np.full(rows * width, np.nan, dtype=np.float32)
    z[: v.size] = v
    idx = np.arange(rows * width).reshape(rows, width)
    fig = figure(title, int(56 + 7 * rows))
    fig.add_heatmap(z=z.reshape(rows, width), customdata=idx, colorscale="Viridis", showscale=False,
                    hovertemplate="feature %{customdata}: %{z:.3f}<extra></extra>")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(hovermode="closest", margin=dict(l=8, r=8, t=36, b=8))
    return fig


def digit_figure(image: np.ndarray, title: str = "", height: int = 220) -> go.Figure:
    """A 28x28 grey image, pixel-exact, white ink on black."""
    image = {"type": "heatmap", "z": np.asarray(image, dtype=np.float32), "colorscale": "gray", "showscale": False,
             "hovertemplate": "row %{y}, col %{x}: %{z:.0f}<extra></extra>"}
    return built([image], {**PIXELS, "margin": dict(l=4, r=4, t=32 if title else 4, b=4)}, title, height)
