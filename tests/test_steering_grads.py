"""Gradient flow: one gradient norm per layer recorded with the batch events, the deep plain network's
starved first layer, depth (--blocks) from the command line, and the gradient heatmap and lr-change marker
charts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from netlib.data import normalize, synthetic_digits
from netlib.models import build_model
from netlib.engine.state import grad_layers
from steering_support import config, data, events_of  # noqa: F401  (data: a module fixture)


# ---------------------------------------------------------------- gradient flow
def test_grad_layers_are_every_conv_and_linear_input_first():
    names = [n for n, _ in grad_layers(build_model("residual"))]
    assert names == ["conv1", "rblock1.conv1", "rblock1.conv2", "conv2", "rblock2.conv1", "rblock2.conv2", "fc"]
    inception = [n for n, _ in grad_layers(build_model("inception"))]
    assert len(inception) == 2 + 2 * 7 + 1 and inception[0] == "conv1" and inception[-1] == "fc"


@pytest.mark.parametrize("model", ["residual", "inception", "plain"])
def test_batch_events_carry_one_gradient_norm_per_layer(data, model):
    events = events_of(config(model, epochs=1, batch_size=64), data)
    layers = events[0]["grad_layers"]
    batches = [e for e in events if e["event"] == "batch"]
    assert batches and all(len(e["grad_norm"]) == len(layers) for e in batches)
    assert all(g is not None and g > 0 for e in batches for g in e["grad_norm"])


def test_recorded_norm_is_the_norm_of_that_batchs_gradient(data):
    """Train exactly BATCH_EVENT_EVERY batches; redo the last one by hand and compare its gradient."""
    cfg = config("residual", epochs=1, batch_size=64, limit=640)  # 10 batches: one report, at batch 10
    events = events_of(cfg, data)
    recorded = [e for e in events if e["event"] == "batch"][-1]["grad_norm"]

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    net = build_model("residual").to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=cfg.recipe.lr, momentum=cfg.recipe.momentum)
    perm = torch.randperm(640, generator=gen)
    for step in range(10):
        idx = perm[step * 64:(step + 1) * 64]
        opt.zero_grad()
        F.cross_entropy(net(data.train_x[idx].contiguous(memory_format=torch.channels_last)),
                        data.train_y[idx]).backward()
        if step < 9:
            opt.step()
    by_hand = [p.grad.norm().item() for _, p in grad_layers(net)]
    assert recorded == pytest.approx(by_hand, rel=1e-4)


def test_gradient_recording_can_be_switched_off(data):
    events = events_of(config(epochs=1, record_grads=False), data)
    assert events[0]["grad_layers"] == []
    assert not any("grad_norm" in e for e in events if e["event"] == "batch")


def test_deep_plain_network_starves_its_first_layer_of_gradient():
    """The lesson the Compare page shows, at initialisation: without skips the first layer's
    gradient is orders of magnitude smaller than with them."""
    x, y = synthetic_digits(128, seed=3)
    first = {}
    for model in ("residual", "plain"):
        torch.manual_seed(0)
        net = build_model(model, blocks=3)
        F.cross_entropy(net(normalize(x)), y).backward()
        first[model] = grad_layers(net)[0][1].grad.norm().item()
    assert first["residual"] > 100 * first["plain"]


# ---------------------------------------------------------------- depth from the command line
def test_cli_blocks_reach_the_checkpoint(tmp_path):
    from netlib.checkpoint import load_checkpoint
    from netlib.cli.main import main

    run = tmp_path / "deep"
    assert main(["train", "--model", "plain", "--blocks", "2", "--synthetic", "300", "--epochs", "1",
                 "--batch-size", "100", "--threads", "1", "--device", "cpu", "--run-dir", str(run), "--quiet"]) == 0
    model, meta = load_checkpoint(run / "checkpoint.pt", expect_model="plain")
    assert meta["model_kwargs"] == {"blocks": 2}
    assert sum(1 for m in model.modules() if type(m).__name__ == "ResidualBlock") == 4


@pytest.mark.parametrize("argv", [["--model", "inception", "--blocks", "2"], ["--model", "plain", "--blocks", "99"],
                                  ["--model", "residual", "--blocks", "0"]])
def test_cli_refuses_a_bad_depth_in_one_line(argv, capsys):
    from netlib.cli.main import main

    assert main(["train", *argv, "--synthetic", "100"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# ---------------------------------------------------------------- the charts
def test_gradient_heatmap_is_log10_with_the_input_layer_first_and_gaps_for_missing_norms():
    from netlib.charts.training import grad_flow_figure

    batches = [{"epoch": 1, "batch": 10, "batches": 20, "grad_norm": [1e-6, 0.1, 10.0]},
               {"epoch": 1, "batch": 20, "batches": 20, "grad_norm": [None, 1.0, 100.0]}]
    heat = grad_flow_figure(batches, ["conv1", "conv2", "fc"]).data[0]
    assert list(heat.y) == ["conv1", "conv2", "fc"]  # Plotly draws the first category at the bottom
    assert (heat.x0, heat.dx) == (0.25, 0.5)  # even columns: each report covers the batches since the last
    assert heat.z[0][0] == pytest.approx(-6) and heat.z[2][1] == pytest.approx(2)
    assert heat.z[0][1] != heat.z[0][1]  # NaN: a gap, not a made-up value
    assert grad_flow_figure([], ["conv1"]).data == ()


def test_lr_change_marker_sits_where_the_change_happened():
    from netlib.charts.training import loss_figure, mark_lr_changes

    fig = mark_lr_changes(loss_figure([], []), [{"epoch": 2, "batch": 5, "batches": 20, "to": 0.002}])
    (line,) = fig.layout.shapes
    assert line.x0 == line.x1 == pytest.approx(1.25)
    assert "0.002" in fig.layout.annotations[0].text
