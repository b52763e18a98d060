"""Figures of training: loss and accuracy of one run, several runs compared, gradient flow."""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import COLORS, TEMPLATE, UIREVISION, figure, line_figure, log_ticks, tick_text

MAX_POINTS = 400  # per trace: live charts are redrawn every 2 s (min/max keep its shape at this width)
MAX_COLUMNS = 200  # of the gradient heatmap


# ---------------------------------------------------------------- series helpers
def smooth(values: Sequence[float], weight: float) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard's smoothing); weight in [0, 1)."""
    weight = min(max(float(weight), 0.0), 0.999)
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i) if weight > 0 else v)
    return out


def decimate(xs: Sequence, ys: Sequence, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most max_points (>= 4) points of a series, in x order, as float32 arrays: the first and the
    last point always, and of the points between, split into (max_points - 2) // 2 equal runs, each
    run's lowest and highest. A spike or a dip survives (an even thinning would drop it), and the
    browser draws and the websocket carries a bounded series however long the run."""
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    n = len(xs)
    if n <= max_points:
        return xs.astype(np.float32), ys.astype(np.float32)
    runs = max(1, (max(max_points, 4) - 2) // 2)
    inner = np.arange(1, n - 1)
    run = (np.arange(n - 2) * runs) // (n - 2)  # the run of each inner point: equal runs, in order
    order = inner[np.lexsort((ys[inner], run))]  # by run, then by value (a NaN sorts last)
    ends = np.cumsum(np.bincount(run, minlength=runs))
    starts = ends - np.bincount(run, minlength=runs)
    keep = np.unique(np.concatenate(([0, n - 1], order[starts], order[ends - 1])))
    return xs[keep].astype(np.float32), ys[keep].astype(np.float32)


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
    fig = line_figure("Loss (cross-entropy per sample)")
    xs = batch_positions(batches, epochs)
    raw = [b["loss"] for b in batches]
    if batches:
        rx, ry = decimate(xs, raw)
        fig.add_scatter(x=rx, y=ry, mode="lines", name="batch loss", line=dict(color=COLORS["raw"], width=1),
                        hoverinfo="skip", showlegend=False)
        sx, sy = decimate(xs, smooth(raw, smoothing))
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
    fig = line_figure("Accuracy (%)")
    if batches:
        xs = batch_positions(batches, epochs)
        sx, sy = decimate(xs, smooth([100 * b["acc"] for b in batches], smoothing))
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

    series: dicts with label, color, batches, epochs (the events of one run each); or, for a group of
    seeds, label, color, band and runs (see _add_group).
    """
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("Test accuracy (%)", "Training loss (smoothed)"))
    fig.update_layout(template=TEMPLATE, height=430, uirevision=UIREVISION, hovermode="closest",
                      margin=dict(l=56, r=16, t=40, b=110))
    lowest = 100.0
    for s in series:
        if s.get("band"):  # a group of seeds: one band, its mean on top, each run's loss
            lowest = min(lowest, _add_group(fig, s, axis, smoothing))
            continue
        ep, bt = s["epochs"], s["batches"]
        if ep:
            accs = [100 * e["test_acc"] for e in ep]
            lowest = min(lowest, min(accs))
            fig.add_scatter(x=epoch_positions(ep, axis), y=accs, mode="lines+markers", name=s["label"],
                            legendgroup=s["label"], line=dict(color=s["color"], width=2),
                            hovertemplate=s["label"] + "<br>%{x:.3g}: %{y:.2f}%<extra></extra>", row=1, col=1)
        if bt:
            bx, by = decimate(batch_positions(bt, ep, axis), smooth([b["loss"] for b in bt], smoothing), 500)
            fig.add_scatter(x=bx, y=by, mode="lines", name=s["label"], legendgroup=s["label"],
                            showlegend=not ep, line=dict(color=s["color"], width=2),
                            hovertemplate=s["label"] + "<br>%{x:.3g}: %{y:.4f}<extra></extra>", row=1, col=2)
    fig.update_xaxes(title="epoch" if axis == "epoch" else "wall time (s)", rangemode="tozero", gridcolor=COLORS["grid"])
    fig.update_yaxes(gridcolor=COLORS["grid"])
    fig.update_yaxes(range=[max(0.0, min(lowest, 95.0) - 1), 100.2], row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    return fig


def _fill(color: str, alpha: float = 0.18) -> str:
    """'#4F46E5' -> 'rgba(79, 70, 229, 0.18)': the band in its line's colour, see-through."""
    h = color.lstrip("#")
    if len(h) != 6:
        return f"rgba(100, 116, 139, {alpha})"
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


def _add_group(fig: go.Figure, s: dict, axis: str, smoothing: float) -> float:
    """A group's band (lower edge, then upper filled to it), its mean line, and its runs' losses (thin,
    one legend entry). s["band"]: x, mean, lower, upper (percent), n (runs per point), what (the band's
    words). Returns the lowest accuracy drawn."""
    b, label, color = s["band"], s["label"], s["color"]
    if b["x"]:
        fig.add_scatter(x=b["x"], y=b["lower"], mode="lines", line=dict(width=0, color=color), name=label + " (band)",
                        legendgroup=label, showlegend=False, hoverinfo="skip", row=1, col=1)
        fig.add_scatter(x=b["x"], y=b["upper"], mode="lines", line=dict(width=0, color=color), fill="tonexty",
                        fillcolor=_fill(color), name=b["what"], legendgroup=label, showlegend=False,
                        hoverinfo="skip", row=1, col=1)
        fig.add_scatter(x=b["x"], y=b["mean"], mode="lines+markers", name=label, legendgroup=label,
                        line=dict(color=color, width=2.5), customdata=b["n"],
                        hovertemplate=label + "<br>%{x:.3g}: mean %{y:.2f}% of %{customdata} runs<extra></extra>",
                        row=1, col=1)
    for i, run in enumerate(s.get("runs", [])):
        if run["batches"]:
            ys = smooth([e["loss"] for e in run["batches"]], smoothing)
            bx, by = decimate(batch_positions(run["batches"], run["epochs"], axis), ys, 300)
            fig.add_scatter(x=bx, y=by, mode="lines", name=label, legendgroup=label,
                            showlegend=not b["x"] and i == 0, line=dict(color=color, width=1), opacity=0.6,
                            hovertemplate=label + "<br>%{x:.3g}: %{y:.4f}<extra></extra>", row=1, col=2)
    return min(b["lower"], default=100.0)


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


def grad_columns(rows: Sequence[dict], max_columns: int = MAX_COLUMNS) -> tuple[float, np.ndarray]:
    """The heatmap's cells: (column width in epochs, z) with z[layer][column] the log10 gradient norm.

    Columns are evenly spaced from 0, as wide as the widest report (each report stands for the training
    since the previous one; an epoch's last is shorter), so none is empty; or, once there would be more than max_columns, as wide as 2, 4, 8... reports, a
    cell then being the mean log10 (geometric mean) of its reports. The width only ever doubles, so
    the columns already drawn keep their place while a run streams. NaN where nothing was recorded.
    """
    xs = np.array([event_position(b) for b in rows], dtype=np.float64)
    gaps = np.diff(np.concatenate(([0.0], xs)))
    dx = float(gaps.max()) if gaps.max() > 0 else 1.0  # the widest report: no column is left empty
    while xs[-1] / dx > max_columns:
        dx *= 2
    columns = max(1, int(np.ceil(xs[-1] / dx - 1e-9)))
    col = np.clip(np.ceil(xs / dx - 1e-9).astype(int) - 1, 0, columns - 1)  # a report ends its column
    with np.errstate(divide="ignore", invalid="ignore"):
        norms = np.array([[g if g else np.nan for g in b["grad_norm"]] for b in rows], dtype=np.float64)
        logs = np.log10(norms)
    sums = np.zeros((columns, logs.shape[1]))
    counts = np.zeros((columns, logs.shape[1]))
    seen = np.isfinite(logs)
    np.add.at(sums, col, np.where(seen, logs, 0.0))
    np.add.at(counts, col, seen)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (sums / counts).T
    return dx, z.astype(np.float32)


def grad_flow_figure(batches: Sequence[dict], layers: Sequence[str], title: str = "",
                     zrange: Optional[tuple[float, float]] = None, height: Optional[int] = None) -> go.Figure:
    """Every layer's gradient norm over training as a heatmap: layers up the y axis (input at the
    bottom), training progress along x, colour = log10 of the norm. A vanishing gradient shows as a
    dark band along the bottom rows."""
    rows = [b for b in batches if b.get("grad_norm") and len(b["grad_norm"]) == len(layers)]
    title = title or "Gradient flow: log10 of each layer's gradient norm"
    if not rows or not layers:
        fig = figure(title, 150)
        fig.add_annotation(text="no gradient norms recorded yet", showarrow=False, xref="paper", yref="paper",
                           x=0.5, y=0.5, font=dict(color="#6B7280"))
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    fig = figure(title, height or 90 + 22 * max(len(layers), 4))
    dx, z = grad_columns(rows)
    lo, hi = zrange or (float(np.nanmin(z)), float(np.nanmax(z)))
    # Evenly spaced columns (x0, dx) let Plotly paint one pixel per cell and scale the image; uneven
    # bin edges made it paint every cell at screen size and PNG-encode the result on every refresh.
    fig.add_heatmap(x0=dx / 2, dx=dx, y=list(layers), z=z, colorscale="Viridis", zmin=lo, zmax=hi,
                    zsmooth="fast", colorbar=dict(title=dict(text="log10", side="right"), thickness=12),
                    hovertemplate="%{y}<br>‖grad‖ = 10^%{z:.2f}<extra></extra>")
    fig.update_layout(hovermode="closest", margin=dict(l=120, r=16, t=40, b=40))
    fig.update_xaxes(title="epoch", showgrid=False)
    fig.update_yaxes(type="category", showgrid=False, tickfont=dict(size=11))
    return fig


def first_layer_grad_figure(series: Sequence[dict]) -> go.Figure:
    """The gradient norm reaching each run's first layer (log scale): the vanishing-gradient lesson in
    one chart. series: dicts with label, color, batches."""
    fig = line_figure("Gradient reaching the first layer (log scale)")
    seen: list[float] = []
    for s in series:
        xs, ys = grad_series(s["batches"], 0)
        seen += ys
        if xs:
            fig.add_scatter(x=xs, y=ys, mode="lines", name=s["label"], line=dict(color=s["color"], width=2),
                            hovertemplate=s["label"] + "<br>epoch %{x:.2f}: %{y:.2e}<extra></extra>")
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    values = log_ticks(min(seen), max(seen)) if seen else []
    fig.update_yaxes(title="‖grad‖ of the first conv's weights", type="log",
                     **({"tickvals": values, "ticktext": [tick_text(v) for v in values]} if values else {}))
    return fig

