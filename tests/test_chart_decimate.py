"""Live charts stay small: decimated line series and the evenly spaced gradient heatmap."""

import math

import numpy as np
import pytest

from netlib.charts.training import MAX_COLUMNS, decimate, grad_columns, grad_flow_figure, loss_figure


def _series(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return np.arange(n) / 47.0, rng.normal(1.0, 0.1, n)


def test_a_short_series_is_returned_as_it_is():
    xs, ys = _series(50)
    dx, dy = decimate(xs, ys, 400)
    assert np.allclose(dx, xs) and np.allclose(dy, ys)


@pytest.mark.parametrize("n,cap", [(401, 400), (1000, 400), (5000, 400), (10000, 300), (999, 4), (10, 5)])
def test_length_is_bounded_and_the_first_and_last_points_stay(n, cap):
    xs, ys = _series(n)
    dx, dy = decimate(xs, ys, cap)
    assert len(dx) == len(dy) <= max(cap, 4) if n > cap else len(dx) == n
    assert dx[0] == pytest.approx(xs[0]) and dy[0] == pytest.approx(ys[0], rel=1e-6)
    assert dx[-1] == pytest.approx(xs[-1]) and dy[-1] == pytest.approx(ys[-1], rel=1e-6)
    assert np.all(np.diff(dx) > 0)  # in x order, no point twice


def test_the_extremes_survive_a_spike_and_a_dip():
    xs, ys = _series(5000)
    ys[1234], ys[3210] = 9.0, -7.0  # one spike, one dip: an even thinning would drop both
    _, dy = decimate(xs, ys, 400)
    assert dy.max() == pytest.approx(9.0) and dy.min() == pytest.approx(-7.0)


def test_a_nan_does_not_break_it():
    xs, ys = _series(2000)
    ys[500] = math.nan
    dx, dy = decimate(xs, ys, 400)
    assert len(dx) <= 400 and dy[-1] == pytest.approx(ys[-1], rel=1e-6)


def test_a_live_loss_chart_carries_a_bounded_series():
    batches = [{"epoch": 1 + i // 47, "batch": 10 * (i % 47 + 1), "batches": 470, "loss": 1.0 / (i + 1),
                "acc": 0.5} for i in range(3000)]
    fig = loss_figure(batches, [], 0.6)
    assert all(len(t.x) <= 400 for t in fig.data)
    assert fig.data[0].y[-1] == pytest.approx(batches[-1]["loss"], rel=1e-5)  # the newest point is drawn


def _reports(n: int, layers: int = 3, per_epoch: int = 47, batches: int = 469) -> list[dict]:
    out = []
    for i in range(n):
        epoch, k = 1 + i // per_epoch, i % per_epoch + 1
        batch = min(10 * k, batches) if k < per_epoch else batches  # an epoch's last report is shorter
        out.append({"epoch": epoch, "batch": batch, "batches": batches,
                    "grad_norm": [10.0 ** (-j - i / 1000) for j in range(layers)]})
    return out


def test_heatmap_columns_are_even_bounded_and_never_empty():
    for n in (1, 5, 47, 200, 201, 2345):
        dx, z = grad_columns(_reports(n))
        assert z.shape[0] == 3 and z.shape[1] <= MAX_COLUMNS
        assert not np.isnan(z).any()  # every column holds at least one report
        last = _reports(n)[-1]
        assert z.shape[1] * dx >= last["epoch"] - 1 + last["batch"] / last["batches"] - 1e-9


def test_heatmap_cells_are_the_mean_log10_and_columns_keep_their_place_while_a_run_streams():
    dx, z = grad_columns(_reports(190), max_columns=100)  # 190 reports: 2 per column
    rows = _reports(190)
    assert z[1][0] == pytest.approx(np.mean([math.log10(rows[i]["grad_norm"][1]) for i in (0, 1)]), rel=1e-5)
    dx2, z2 = grad_columns(_reports(194), max_columns=100)
    assert dx2 == pytest.approx(dx) and np.allclose(z2[:, :94], z[:, :94])  # more reports: the drawn columns stay


def test_heatmap_is_drawn_pixel_per_cell():
    heat = grad_flow_figure(_reports(100), ["a", "b", "c"]).data[0]
    assert heat.zsmooth == "fast" and heat.x0 == pytest.approx(heat.dx / 2)
