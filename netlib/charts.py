"""Pure Plotly figure builders for the dashboard: data in, go.Figure out (no streamlit here)."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MAX_POINTS = 1000  # per trace: the browser redraws live charts every second
UIREVISION = "netlib"  # constant, so zoom and legend clicks survive the live refresh

# One look everywhere: a colour per network, and fixed roles for train / test / raw.
COLORS = {
    "inception": "#4F46E5",  # indigo
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


def _figure(title: str, height: int = 340) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, title=title, height=height, uirevision=UIREVISION)
    return fig


def _line_figure(title: str) -> go.Figure:
    """A chart with a legend below it: room at the bottom for the axis title and the legend."""
    fig = _figure(title, 400)
    fig.update_layout(margin=dict(l=56, r=16, t=40, b=110))
    return fig


# ---------------------------------------------------------------- series helpers
def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard's smoothing); weight in [0, 1)."""
    weight = min(max(float(weight), 0.0), 0.999)
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i) if weight > 0 else v)
    return out


def downsample(xs: Sequence, ys: Sequence, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most max_points evenly spaced points, always keeping the last one, as float arrays
    (Plotly validates arrays far faster than lists: this runs every second for a live run)."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if len(xs) <= max_points:
        return xs, ys
    idx = np.unique(np.linspace(0, len(xs) - 1, max_points).round().astype(int))
    return xs[idx], ys[idx]


def event_position(e: dict) -> float:
    """x (fractional epochs) of an event at a batch boundary: batch, lr_change, pause, resume."""
    return e["epoch"] - 1 + e["batch"] / max(e["batches"], 1)


def batch_positions(batches: Sequence[dict], epochs: Sequence[dict], axis: str = "epoch") -> list[float]:
    """x of each batch event: fractional epochs, or seconds since the run started ('time')."""
    if axis == "epoch":
        return [event_position(b) for b in batches]
    # A batch's wall time is the previous epoch's end (which includes its evaluation) plus the
    # seconds into its own epoch.
    ends = {e["epoch"]: e["elapsed"] for e in epochs}
    xs, base = [], 0.0
    for b in batches:
        base = ends.get(b["epoch"] - 1, base if b["epoch"] > 1 else 0.0)
        xs.append(base + b["seconds"])
    return xs


def epoch_positions(epochs: Sequence[dict], axis: str = "epoch") -> list[float]:
    return [e["epoch"] if axis == "epoch" else e["elapsed"] for e in epochs]


def _axis_title(axis: str) -> str:
    return "epoch" if axis == "epoch" else "wall time (s)"


def mark_lr_changes(fig: go.Figure, changes: Sequence[dict]) -> go.Figure:
    """A dashed vertical line where a person changed the learning rate, labelled with the new rate."""
    for e in changes:
        fig.add_vline(x=event_position(e), line=dict(color="#B45309", width=1.5, dash="dash"),
                      annotation=dict(text=f"lr → {e['to']:.3g}", font=dict(size=11, color="#B45309"),
                                      yanchor="top", xanchor="left"))
    return fig


# ---------------------------------------------------------------- one run
def loss_figure(batches: Sequence[dict], epochs: Sequence[dict], smoothing: float = 0.6,
                color: str = COLORS["train"]) -> go.Figure:
    """Per-batch training loss (raw, faint, and smoothed) with per-epoch train and test loss."""
    fig = _line_figure("Loss (cross-entropy per sample)")
    xs = batch_positions(batches, epochs)
    raw = [b["loss"] for b in batches]
    if batches:
        rx, ry = downsample(xs, raw)
        fig.add_scatter(x=rx, y=ry, mode="lines", name="batch loss", line=dict(color=COLORS["raw"], width=1),
                        hoverinfo="skip", showlegend=False)
        sx, sy = downsample(xs, smooth(raw, smoothing))
        fig.add_scatter(x=sx, y=sy, mode="lines", name="train (smoothed)", line=dict(color=color, width=2),
                        hovertemplate="%{y:.4f}")
    if epochs:
        ex = epoch_positions(epochs)
        fig.add_scatter(x=ex, y=[e["train_loss"] for e in epochs], mode="markers", name="train, epoch mean",
                        marker=dict(color=color, size=9, symbol="circle-open", line=dict(width=2)),
                        hovertemplate="%{y:.4f}")
        fig.add_scatter(x=ex, y=[e["test_loss"] for e in epochs], mode="lines+markers", name="test",
                        line=dict(color=COLORS["test"], width=2, dash="dot"), marker=dict(size=8),
                        hovertemplate="%{y:.4f}")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="loss", rangemode="tozero")
    return fig


def accuracy_figure(batches: Sequence[dict], epochs: Sequence[dict], smoothing: float = 0.6,
                    color: str = COLORS["train"]) -> go.Figure:
    """Running training accuracy (smoothed per batch) and per-epoch test accuracy, in percent."""
    fig = _line_figure("Accuracy (%)")
    if batches:
        xs = batch_positions(batches, epochs)
        sx, sy = downsample(xs, smooth([100 * b["acc"] for b in batches], smoothing))
        fig.add_scatter(x=sx, y=sy, mode="lines", name="train (running)", line=dict(color=color, width=2),
                        hovertemplate="%{y:.2f}%")
    if epochs:
        fig.add_scatter(x=epoch_positions(epochs), y=[100 * e["test_acc"] for e in epochs],
                        mode="lines+markers", name="test", line=dict(color=COLORS["test"], width=2, dash="dot"),
                        marker=dict(size=8), hovertemplate="%{y:.2f}%")
    lows = [100 * e["test_acc"] for e in epochs] + [100 * b["acc"] for b in batches[-20:]]
    low = min(lows) if lows else 0
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="accuracy (%)", range=[max(0.0, min(low, 90.0) - 2), 100.5])
    return fig


# ---------------------------------------------------------------- several runs
def compare_figure(series: Sequence[dict], axis: str = "epoch", smoothing: float = 0.8) -> go.Figure:
    """Runs overlaid: test accuracy per epoch (left) and smoothed training loss (right).

    series: dicts with label, color, batches, epochs (the events of one run each).
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("Test accuracy (%)", "Training loss (smoothed)"))
    fig.update_layout(template=TEMPLATE, height=430, uirevision=UIREVISION, hovermode="closest",
                      margin=dict(l=56, r=16, t=40, b=110))
    lowest = 100.0
    for s in series:
        ep, bt = s["epochs"], s["batches"]
        if ep:
            accs = [100 * e["test_acc"] for e in ep]
            lowest = min(lowest, min(accs))
            fig.add_scatter(x=epoch_positions(ep, axis), y=accs, mode="lines+markers", name=s["label"],
                            legendgroup=s["label"], line=dict(color=s["color"], width=2),
                            hovertemplate=s["label"] + "<br>%{x:.3g}: %{y:.2f}%<extra></extra>", row=1, col=1)
        if bt:
            bx, by = downsample(batch_positions(bt, ep, axis), smooth([b["loss"] for b in bt], smoothing), 500)
            fig.add_scatter(x=bx, y=by, mode="lines", name=s["label"], legendgroup=s["label"],
                            showlegend=not ep, line=dict(color=s["color"], width=2),
                            hovertemplate=s["label"] + "<br>%{x:.3g}: %{y:.4f}<extra></extra>", row=1, col=2)
    fig.update_xaxes(title=_axis_title(axis), rangemode="tozero", gridcolor=COLORS["grid"])
    fig.update_yaxes(gridcolor=COLORS["grid"])
    fig.update_yaxes(range=[max(0.0, min(lowest, 95.0) - 1), 100.2], row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    return fig


# ---------------------------------------------------------------- gradient flow
def grad_series(batches: Sequence[dict], layer: int = 0) -> tuple[list[float], list[float]]:
    """(x, gradient norm) of one layer over a run's batch events that recorded gradients."""
    xs, ys = [], []
    for b in batches:
        g = b.get("grad_norm")
        if g and layer < len(g) and g[layer]:
            xs.append(event_position(b))
            ys.append(g[layer])
    return xs, ys


def grad_flow_figure(batches: Sequence[dict], layers: Sequence[str], title: str = "",
                     zrange: Optional[tuple[float, float]] = None, height: Optional[int] = None) -> go.Figure:
    """Every layer's gradient norm over training as a heatmap: layers up the y axis (input at the
    bottom), training progress along x, colour = log10 of the norm. A vanishing gradient shows as a
    dark band along the bottom rows."""
    rows = [b for b in batches if b.get("grad_norm") and len(b["grad_norm"]) == len(layers)]
    title = title or "Gradient flow: log10 of each layer's gradient norm"
    if not rows or not layers:
        fig = _figure(title, 150)
        fig.add_annotation(text="no gradient norms recorded yet", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font=dict(color="#6B7280"))
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    fig = _figure(title, height or 90 + 22 * max(len(layers), 4))
    keep = np.unique(np.linspace(0, len(rows) - 1, min(len(rows), 400)).round().astype(int))
    rows = [rows[i] for i in keep]
    # Bin edges (one more than the columns): each report stands for the training since the previous one,
    # so a single early report is a narrow column from 0, not a unit-wide cell around it.
    xs = [0.0] + [event_position(b) for b in rows]
    z = np.array([[g if g else np.nan for g in b["grad_norm"]] for b in rows], dtype=np.float64).T
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log10(z)
    lo, hi = zrange or (float(np.nanmin(z)), float(np.nanmax(z)))
    fig.add_heatmap(x=xs, y=list(layers), z=z, colorscale="Viridis", zmin=lo, zmax=hi,
                    colorbar=dict(title=dict(text="log10", side="right"), thickness=12),
                    hovertemplate="%{y}<br>‖grad‖ = 10^%{z:.2f}<extra></extra>")
    fig.update_layout(hovermode="closest", margin=dict(l=120, r=16, t=40, b=40))
    fig.update_xaxes(title="epoch", showgrid=False)
    fig.update_yaxes(type="category", showgrid=False, tickfont=dict(size=11))
    return fig


def first_layer_grad_figure(series: Sequence[dict]) -> go.Figure:
    """The gradient norm reaching each run's first layer (log scale): the vanishing-gradient lesson in
    one chart. series: dicts with label, color, batches."""
    fig = _line_figure("Gradient reaching the first layer (log scale)")
    for s in series:
        xs, ys = grad_series(s["batches"], 0)
        if xs:
            fig.add_scatter(x=xs, y=ys, mode="lines", name=s["label"], line=dict(color=s["color"], width=2),
                            hovertemplate=s["label"] + "<br>epoch %{x:.2f}: %{y:.2e}<extra></extra>")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="‖grad‖ of the first conv's weights", type="log", exponentformat="power")
    return fig


# ---------------------------------------------------------------- predictions
def probability_figure(probs: Sequence[float], color: str = COLORS["train"], title: str = "",
                       height: int = 260) -> go.Figure:
    """Ten bars, one per digit, the most likely one in full colour."""
    probs = [float(p) for p in probs]
    best = int(np.argmax(probs)) if probs and max(probs) > 0 else -1
    colors = [color if i == best else "#CBD5E1" for i in range(len(probs))]
    fig = _figure(title, height)
    fig.add_bar(x=[str(i) for i in range(len(probs))], y=[100 * p for p in probs], marker_color=colors,
                text=[f"{100 * p:.0f}%" if p >= 0.01 else "" for p in probs], textposition="outside",
                cliponaxis=False, hovertemplate="digit %{x}: %{y:.2f}%<extra></extra>")
    fig.update_layout(hovermode="closest", showlegend=False, bargap=0.25,
                      margin=dict(l=40, r=8, t=40 if title else 16, b=36))
    fig.update_xaxes(title="digit", type="category", showgrid=False)
    fig.update_yaxes(title="probability (%)", range=[0, 112], dtick=25)
    return fig


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


def feature_map_figure(maps: np.ndarray, title: str, groups: Optional[Sequence[tuple[str, int]]] = None,
                       cols: Optional[int] = None, width_hint: int = 320) -> go.Figure:
    """A stage's output as one tiled image.

    maps: C x H x W (conv stages) or a vector (flatten, fc). groups: (label, channels) runs of
    channels to name, e.g. Inception's four branches, each on rows of its own. width_hint: the
    expected width in pixels, to size the figure's height to the image.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 1:
        return _vector_figure(maps, title)
    c, h, w = maps.shape
    if cols is None:
        # groups: the largest column count dividing every group, so each fills whole rows
        cols = math.gcd(*[n for _, n in groups]) if groups else max(1, math.ceil(math.sqrt(c * h / w)))
        if not groups and cols * w < 60:
            cols = min(c, cols + 2)
    img, idx, starts = tile(maps, cols, groups=groups)
    left = 36 if groups else 8
    plot_w = width_hint - left - 8
    fig = _figure(title, int(36 + 8 + min(520, max(60, plot_w * img.shape[0] / img.shape[1]))))
    fig.add_heatmap(z=img, customdata=idx, colorscale="Viridis", showscale=False, zmin=0, zmax=1,
                    hovertemplate="channel %{customdata}<br>activation %{z:.2f} (of its max)<extra></extra>")
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(hovermode="closest", margin=dict(l=left, r=8, t=36, b=8))
    if groups:
        for (label, row), (_, n) in zip(starts, groups):
            rows = math.ceil(n / cols)
            fig.add_annotation(x=-1, y=(row + rows / 2) * (h + 1) - 1, text=label, showarrow=False,
                               xanchor="right", font=dict(size=11, color="#4B5563"))
    return fig


def _vector_figure(v: np.ndarray, title: str) -> go.Figure:
    """A flat vector: 10 logits as bars, a long feature vector as a strip of rows of 64."""
    if v.size <= 16:
        fig = _figure(title, 220)
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
    fig = _figure(title, int(56 + 7 * rows))
    fig.add_heatmap(z=z.reshape(rows, width), customdata=idx, colorscale="Viridis", showscale=False,
                    hovertemplate="feature %{customdata}: %{z:.3f}<extra></extra>")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(hovermode="closest", margin=dict(l=8, r=8, t=36, b=8))
    return fig


def digit_figure(image: np.ndarray, title: str = "", height: int = 220) -> go.Figure:
    """A 28x28 grey image, pixel-exact, white ink on black."""
    fig = _figure(title, height)
    fig.add_heatmap(z=np.asarray(image, dtype=np.float32), colorscale="gray", showscale=False,
                    hovertemplate="row %{y}, col %{x}: %{z:.0f}<extra></extra>")
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(hovermode="closest", margin=dict(l=4, r=4, t=32 if title else 4, b=4))
    return fig
