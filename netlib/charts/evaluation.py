"""Pure Plotly builders for the Results page: the confusion matrix and per-class accuracy (no streamlit)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .style import COLORS, figure

RIGHT = "#D1FAE5"  # the diagonal (read correctly): one pale green, so the errors stand out
# off-diagonal counts: none = near white; one error already a clear pink; the most a strong red
ERRORS = [[0.0, "#F9FAFB"], [1e-6, "#FECACA"], [1.0, "#F87171"]]  # dark text stays readable on all


def confusion_figure(confusion: np.ndarray, title: str = "Confusion matrix", height: int = 460) -> go.Figure:
    """10 x 10 counts as a heatmap, rows = true digit (top to bottom), columns = digit read.

    The diagonal holds ~1,000 per digit and the errors a handful, so one colour scale over all cells
    would show only the diagonal: the errors get a red scale of their own, the diagonal one pale green,
    and every non-zero cell shows its count.
    """
    c = np.asarray(confusion, dtype=np.int64)
    n = c.shape[0]
    digits = [str(d) for d in range(n)]
    diag = np.eye(n, dtype=bool)
    totals = np.maximum(c.sum(axis=1, keepdims=True), 1)
    share = 100 * c / totals
    custom = np.dstack([c, share])
    errors = np.where(diag, np.nan, c).astype(float)
    right = np.where(diag, 1.0, np.nan)
    fig = figure(title, height)
    hover = "true %{y}, read %{x}: %{customdata[0]:,} (%{customdata[1]:.2f}% of the %{y}s)<extra></extra>"
    fig.add_heatmap(z=right, x=digits, y=digits, colorscale=[[0, RIGHT], [1, RIGHT]], showscale=False,
                    customdata=custom, hovertemplate=hover, xgap=1, ygap=1, name="read correctly")
    top = np.nanmax(errors) if n > 1 else 1.0
    fig.add_heatmap(z=errors, x=digits, y=digits, colorscale=ERRORS, zmin=0, zmax=max(top, 1.0),
                    customdata=custom, hovertemplate=hover, xgap=1, ygap=1, name="misread",
                    colorbar=dict(title=dict(text="errors", side="right"), thickness=12, len=0.8))
    fig.add_heatmap(z=np.zeros(c.shape), x=digits, y=digits, text=np.where(c == 0, "", c.astype(str)),
                    texttemplate="%{text}", textfont=dict(size=11, color=COLORS["text"]), showscale=False,
                    colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], hoverinfo="skip",
                    name="counts")
    fig.update_xaxes(title="digit read", type="category", side="bottom", showgrid=False, ticks="")
    fig.update_yaxes(title="true digit", type="category", autorange="reversed", showgrid=False, ticks="",
                     scaleanchor="x", constrain="domain")
    fig.update_layout(hovermode="closest", margin=dict(l=56, r=16, t=40, b=48), plot_bgcolor="white")
    return fig


def per_class_figure(per_class: Sequence[float], color: str = COLORS["train"],
                     title: str = "Accuracy per digit", height: int = 460) -> go.Figure:
    """Ten bars, the accuracy (%) on each true digit; the y axis starts near the worst, so small
    differences between 98% and 100% are visible, and the worst digit is drawn in full colour."""
    acc = np.asarray(per_class, dtype=float) * 100
    digits = [str(d) for d in range(len(acc))]
    finite = acc[np.isfinite(acc)]
    worst = int(np.nanargmin(acc)) if finite.size else -1
    low = max(0.0, np.floor(finite.min() - 0.5)) if finite.size else 0.0
    colors = [color if d == worst else "#A5B4FC" for d in range(len(acc))]
    fig = figure(title, height)
    fig.add_bar(x=digits, y=np.nan_to_num(acc, nan=0.0), marker_color=colors,
                text=["—" if not np.isfinite(a) else f"{a:.1f}" for a in acc], textposition="outside",
                cliponaxis=False, hovertemplate="digit %{x}: %{y:.2f}% read correctly<extra></extra>")
    fig.update_xaxes(title="true digit", type="category", showgrid=False)
    # The axis ends at 100%: nothing is read more than always; the bars' numbers sit above it, in the margin.
    fig.update_yaxes(title="read correctly (%)", range=[low, 100])
    fig.update_layout(hovermode="closest", showlegend=False, bargap=0.25, margin=dict(l=56, r=16, t=56, b=48))
    return fig
