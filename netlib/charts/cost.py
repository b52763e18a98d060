"""The cost of an Inception block against its input width, with and without the 1x1 convs."""

from __future__ import annotations

import plotly.graph_objects as go

from ..analysis.cost import GOOGLENET_WIDTH, block_cost, crossover_width
from ..models import MAX_WIDTH
from . import style


def block_cost_figure(marks: dict[str, int], height: int = 380) -> go.Figure:
    """Multiply-adds per output position of one block for input widths 1-MAX_WIDTH (log-log), Inception
    against Naive; marks: {label: input width} drawn as dotted lines (the network's own blocks), plus
    the break-even and GoogLeNet's first block."""
    right = max(MAX_WIDTH, *marks.values())  # the second block reads 2 x width: up to 512 channels
    widths = sorted(set(range(1, 17)) | set(range(16, right + 1, 4)) | set(marks.values())
                    | {GOOGLENET_WIDTH, right})
    fig = style.figure("One Inception block: multiply-adds per output position", height)
    for reduce, name, color in ((True, "Inception (with the 1x1 convs)", style.model_color("inception")),
                                (False, "Naive (without them)", style.model_color("naive"))):
        fig.add_trace(go.Scatter(x=widths, y=[block_cost(w, reduce).total_macs for w in widths], name=name,
                                 mode="lines", line=dict(color=color, width=2.5),
                                 hovertemplate="%{y:,} mult-adds at %{x} channels in<extra>" + name + "</extra>"))
    cross = crossover_width()
    top = max(block_cost(right, False).total_macs, block_cost(right, True).total_macs)
    low = min(block_cost(1, False).total_macs, block_cost(1, True).total_macs)
    lines = [(cross, f"break-even ≈ {cross:.1f}", "dash"), (GOOGLENET_WIDTH, f"GoogLeNet 3a: {GOOGLENET_WIDTH}", "dot")]
    lines += [(w, f"{label}: {w}", "dot") for label, w in marks.items()]
    # Marks as traces, not shapes or annotations: those take log10 coordinates on a log axis. Labels
    # sit at staggered heights (in log space) so neighbouring marks do not overprint each other.
    for i, (x, text, dash) in enumerate(sorted(lines)):
        y_text = low * (top / low) ** (0.95 - 0.22 * (i % 4))
        fig.add_trace(go.Scatter(x=[x, x, x], y=[low, y_text, top], mode="lines+text", text=["", text, ""],
                                 textposition="middle left" if x > 100 else "middle right",
                                 textfont=dict(size=11, color="#374151"),
                                 line=dict(color="#6B7280", dash=dash, width=1), showlegend=False,
                                 hoverinfo="skip"))
    fig.update_xaxes(type="log", title="channels into the block",
                     tickvals=[2 ** k for k in range(right.bit_length())],
                     ticktext=[str(2 ** k) for k in range(right.bit_length())])
    fig.update_yaxes(type="log", title="multiply-adds per position", dtick=1)
    fig.update_layout(hovermode="closest", margin=dict(l=56, r=16, t=40, b=100))
    return fig
