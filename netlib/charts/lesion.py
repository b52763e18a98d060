"""The lesion test as a bar chart: test accuracy with each residual block removed, one or two networks."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go

from . import style

NONE = "none"  # the row with nothing removed (netlib.analysis.lesion.NONE; charts stay torch-free)


def lesion_figure(series: Sequence[tuple[str, str, Sequence[tuple[str, float]]]],
                  title: str = "Test accuracy with one block removed", height: int = 380) -> go.Figure:
    """series: (label, model, rows) per network, rows as lesion_test returns them ("none" first).

    Two networks share the x axis (the block names), bars side by side: Residual's bars stay at its
    dashed line, Plain's fall. The "none" bar is hatched so it reads as the reference, not a lesion.
    """
    fig = style.figure(title, height)
    order: list[str] = []
    for _, _, rows in series:
        order += [name for name, _ in rows if name not in order]
    for label, model, rows in series:
        color = style.model_color(model)
        full = 100 * rows[0][1]
        names = [name for name, _ in rows]
        accs = [100 * acc for _, acc in rows]
        fig.add_bar(x=names, y=accs, name=label, marker_color=color, legendgroup=label,
                    marker_pattern=dict(shape=["/" if n == NONE else "" for n in names], fillmode="overlay",
                                        fgcolor="white", solidity=0.3),
                    text=[f"{a:.2f}" for a in accs], textposition="auto", insidetextanchor="end",
                    customdata=[[a - full] for a in accs],
                    hovertemplate=f"{label}, %{{x}} removed: %{{y:.2f}}% (%{{customdata[0]:+.2f}} points)"
                                  "<extra></extra>")
        fig.add_hline(y=full, line_dash="dash", line_color=color, line_width=1.5)
        # a shape has no legend entry: an empty dashed trace names the line in the legend instead
        fig.add_scatter(x=[None], y=[None], mode="lines", line=dict(color=color, dash="dash", width=1.5),
                        name=f"{label} with every block: {full:.2f}%", legendgroup=label, hoverinfo="skip")
    low = min(100 * acc for _, _, rows in series for _, acc in rows)
    # all bars high (one Residual network): zoom in so tenths of a point show; otherwise from 0
    bottom = 0.0 if low < 50 else max(0.0, float(int(low)) - 1.0)
    fig.update_xaxes(title="block removed", type="category", categoryorder="array", categoryarray=order)
    fig.update_yaxes(title="test accuracy (%)", range=[bottom, 100])
    fig.update_layout(barmode="group", hovermode="closest", bargap=0.25,
                      margin=dict(l=56, r=16, t=40, b=110))
    return fig
