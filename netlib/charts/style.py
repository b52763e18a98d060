"""One look for every chart: colours per network and role, the Plotly template, empty figures."""

from __future__ import annotations

import math

import plotly.graph_objects as go

UIREVISION = "netlib"  # constant, so zoom and legend clicks survive the live refresh

# One look everywhere: a colour per network, and fixed roles for train / test / raw.
COLORS = {
    "inception": "#4F46E5",  # indigo
    "naive": "#0891B2",  # cyan: Inception without its 1x1 convs
    "residual": "#EA580C",  # orange
    "plain": "#64748B",  # slate: the residual network without its skips
    "train": "#4F46E5",
    "test": "#059669",  # emerald
    "raw": "rgba(100, 116, 139, 0.28)",  # slate, faint
    "grid": "#E5E7EB",
    "text": "#1F2937",
}
RUN_PALETTE = ["#4F46E5", "#EA580C", "#059669", "#DB2777", "#0891B2", "#CA8A04", "#7C3AED", "#65A30D"]
FONT = "Inter, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font=dict(family=FONT, size=13, color=COLORS["text"]),
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="white",
        colorway=RUN_PALETTE,
        margin=dict(l=56, r=16, t=40, b=40),
        hovermode="x unified",
        # below the plot: narrow columns have no room for a legend beside the title
        legend=dict(orientation="h", yanchor="top", y=-0.24, xanchor="left", x=0, bgcolor="rgba(0,0,0,0)"),
        xaxis=dict(gridcolor=COLORS["grid"], zeroline=False, linecolor="#9CA3AF", ticks="outside"),
        yaxis=dict(gridcolor=COLORS["grid"], zeroline=False, linecolor="#9CA3AF", ticks="outside"),
        title=dict(x=0, xanchor="left", font=dict(size=15)),
    )
)


def model_color(model: str) -> str:
    return COLORS.get(model, RUN_PALETTE[-1])


def figure(title: str, height: int = 340) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, title=title, height=height, uirevision=UIREVISION)
    return fig


def built(data: list[dict], layout: dict, title: str | None = "", height: int = 340) -> go.Figure:
    """The figure of figure(title, height) with these traces and layout, made in one step. Plotly
    validates every call that changes a figure, so building one up call by call (add_*, update_*) costs
    four to six times as much: the Draw page, which builds six figures on every stroke, uses this.
    title None: no title at all (the template's place for one stays empty)."""
    head = {"template": TEMPLATE, **({} if title is None else {"title": {"text": title}}), "height": height,
            "uirevision": UIREVISION}
    return go.Figure({"data": data, "layout": {**head, **layout}})


def line_figure(title: str) -> go.Figure:
    """A chart with a legend below it: room at the bottom for the axis title and the legend."""
    fig = figure(title, 400)
    fig.update_layout(margin=dict(l=56, r=16, t=40, b=110))
    return fig


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log axis from low to high: the powers of ten, with 2 and 5 times them where the
    data spans under two decades. Plotly's own labelled its minor ticks with a lone digit ('3' for 0.3)."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if last - first <= 2 else (1,)
    values = [m * 10.0 ** k for k in range(first, last + 1) for m in steps]
    inside = [v for v in values if low / 1.0001 <= v <= high * 1.0001]
    below, above = [v for v in values if v < low], [v for v in values if v > high]
    return ([below[-1]] if below else []) + inside + ([above[0]] if above else [])


def tick_text(value: float) -> str:
    """A tick's whole value: '0.3', '20', '2·10⁻⁵'."""
    if 1e-3 <= value < 1e5:
        return f"{value:.6g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    power = f"10<sup>{int(exponent)}</sup>"
    return power if mantissa == "1" else f"{mantissa}·{power}"
