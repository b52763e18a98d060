"""Figures of the Lessons page: repeats of one run across seeds, training speed beside multiply-adds."""

from __future__ import annotations

from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import COLORS, RUN_PALETTE, TEMPLATE, UIREVISION, line_figure


def seed_curves_figure(curves: dict, first: int, second: int) -> go.Figure:
    """Test accuracy (%) per epoch, one line per seed, with the epochs `first` to `second` shaded."""
    fig = line_figure("Test accuracy per epoch, one line per seed (%)")
    lows = []
    for i, (seed, accs) in enumerate(sorted(curves.items())):
        ys = [100 * a for a in accs]
        lows += ys[1:]  # epoch 1 sits far below the rest: the y range shows the later epochs' spread
        fig.add_scatter(x=list(range(1, len(ys) + 1)), y=ys, mode="lines+markers", name=f"seed {seed}",
                        line=dict(color=RUN_PALETTE[i % len(RUN_PALETTE)], width=2), marker=dict(size=7),
                        hovertemplate=f"seed {seed}<br>epoch %{{x}}: %{{y:.2f}}%<extra></extra>")
    fig.add_vrect(x0=first, x1=second, fillcolor=COLORS["raw"], line_width=0, layer="below",
                  annotation=dict(text=f"epoch {first} → {second}", font=dict(size=11), yanchor="top"))
    if lows:
        fig.update_yaxes(range=[min(lows) - 0.3, max(100 * a for c in curves.values() for a in c) + 0.2])
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title="epoch", dtick=1)
    fig.update_yaxes(title="test accuracy (%)")
    return fig


def speed_figure(rows: Sequence[dict], colors: dict) -> go.Figure:
    """Two bars per network: measured samples/s, and multiply-adds per digit (millions), side by side.

    rows: dicts with network, model, samples_per_s, macs."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("Measured training speed (samples/s)", "Multiply-adds per digit (M)"))
    fig.update_layout(template=TEMPLATE, height=320, uirevision=UIREVISION, showlegend=False,
                      hovermode="closest", margin=dict(l=56, r=16, t=40, b=40))
    names = [r["network"] for r in rows]
    bar_colors = [colors.get(r["model"], RUN_PALETTE[-1]) for r in rows]
    fig.add_bar(x=names, y=[r["samples_per_s"] or 0 for r in rows], marker_color=bar_colors,
                text=[f"{r['samples_per_s']:,.0f}" if r["samples_per_s"] else "—" for r in rows],
                hovertemplate="%{x}: %{y:,.0f} samples/s<extra></extra>", row=1, col=1)
    fig.add_bar(x=names, y=[(r["macs"] or 0) / 1e6 for r in rows], marker_color=bar_colors,
                text=[f"{r['macs'] / 1e6:.2f}" if r["macs"] else "—" for r in rows],
                hovertemplate="%{x}: %{y:.2f} M<extra></extra>", row=1, col=2)
    return fig

