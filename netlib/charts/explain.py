"""Plotly figures for netlib.analysis.explain: a saliency map over the digit, Inception's branch strengths."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .digits import PIXELS
from .style import built, model_color
from ..analysis.explain import BRANCH_NAMES, BranchStrength

# Zero is see-through, so the grey digit shows wherever a pixel did not matter.
SIGNED = [[0.0, "rgb(37, 99, 235)"], [0.35, "rgba(96, 165, 250, 0.85)"], [0.5, "rgba(255, 255, 255, 0)"],
          [0.65, "rgba(248, 113, 113, 0.85)"], [1.0, "rgb(220, 38, 38)"]]
POSITIVE = [[0.0, "rgba(250, 204, 21, 0)"], [0.25, "rgba(250, 204, 21, 0)"], [0.6, "rgba(249, 115, 22, 0.45)"],
            [1.0, "rgba(220, 38, 38, 0.75)"]]


def saliency_figure(preview: np.ndarray, saliency: np.ndarray, signed: bool, title: str = "",
                    height: int = 220) -> go.Figure:
    """The 28x28 digit in grey with a saliency map over it.

    signed: red for pixels that push towards the digit, blue for those that push away (gradient x
    input); otherwise one warm scale from nothing to the maximum (Grad-CAM).
    """
    s = np.asarray(saliency, dtype=np.float32)
    # Scale to a high percentile of the pixels that count, not the single largest: a few extreme pixels
    # would otherwise leave the rest too pale to see (the hover still gives each pixel's share).
    counted = np.abs(s[s != 0])
    peak = float(np.percentile(counted, 97)) if counted.size else 0.0
    peak = peak or float(np.abs(s).max()) or 1.0
    # The digit dimmed to a dark grey, so both red and blue stay readable on it.
    digit = {"type": "heatmap", "z": np.asarray(preview, dtype=np.float32), "colorscale": "gray", "zmin": 0,
             "zmax": 2.5 * 255, "showscale": False, "hoverinfo": "skip", "name": "digit"}
    share = s / (float(np.abs(s).max()) or 1.0)
    overlay = {"type": "heatmap", "z": s, "customdata": share, "colorscale": SIGNED if signed else POSITIVE,
               "zmin": -peak if signed else 0.0, "zmax": peak, "showscale": False,
               "zsmooth": False if signed else "best",  # pixels are pixels; a 4 x 4 grid is not
               "name": "gradient x input" if signed else "Grad-CAM",
               "hovertemplate": "row %{y}, col %{x}: %{customdata:.0%} of the strongest<extra></extra>"}
    return built([digit, overlay], {**PIXELS, "margin": dict(l=4, r=4, t=32 if title else 4, b=4)}, title, height)


def branch_figure(blocks: Sequence[BranchStrength], height: int = 260) -> go.Figure:
    """Grouped bars: each Inception block's four branches, as a share of the block's response."""
    shades = [model_color("inception"), "#A5B4FC", "#312E81"]
    bars = [{"type": "bar", "x": list(BRANCH_NAMES), "y": [100 * v for v in b.share],
             "name": f"{b.block} ({b.size} x {b.size})", "marker": {"color": shades[i % len(shades)]},
             "customdata": list(b.strength), "text": [f"{100 * v:.0f}%" for v in b.share], "textposition": "outside",
             "cliponaxis": False,
             "hovertemplate": "%{x} branch: %{y:.0f}% of the block (mean change %{customdata:.3f})"
                              "<extra>" + b.block + "</extra>"} for i, b in enumerate(blocks)]
    top = max((100 * v for b in blocks for v in b.share), default=50.0)
    return built(bars, {"legend": dict(orientation="h", yanchor="bottom", y=1.02, x=0, xanchor="left"),
                        "margin": dict(l=48, r=8, t=36, b=36), "hovermode": "closest", "barmode": "group",
                        "bargap": 0.25, "showlegend": True,
                        "xaxis": {"title": {"text": "branch"}, "type": "category", "showgrid": False},
                        "yaxis": {"title": {"text": "share of the block (%)"}, "range": [0, max(50.0, top * 1.2)]}},
                 None, height)
