"""Tests for netlib.models against docs/design.md ("The networks"): stage shapes, parameter counts, init loss, gradients, MACs."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from netlib.data import normalize, synthetic_digits
from netlib.analysis.inspection import layer_table
from netlib.models import InceptionA, MODELS, ResidualBlock, SHOWCASE, build_model, count_parameters

# docs/design.md, the spec tables: (stage, output shape per sample), in forward order.
SPEC_STAGES = {
    "inception": [("conv1", (10, 24, 24)), ("pool1", (10, 12, 12)), ("incep1", (88, 12, 12)),
                  ("conv2", (20, 8, 8)), ("pool2", (20, 4, 4)), ("incep2", (88, 4, 4)),
                  ("flatten", (1408,)), ("fc", (10,))],
    "residual": [("conv1", (16, 24, 24)), ("pool1", (16, 12, 12)), ("rblock1", (16, 12, 12)),
                 ("conv2", (32, 8, 8)), ("pool2", (32, 4, 4)), ("rblock2", (32, 4, 4)),
                 ("flatten", (512,)), ("fc", (10,))],
}
SPEC_PARAMS = {"inception": 97_298, "residual": 41_514}
SPEC_MACS = {"inception": 6.02e6, "residual": 2.01e6}  # forward multiply-adds per sample

NAMES = list(SHOWCASE)


def _batch(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = synthetic_digits(n, seed=seed)
    return normalize(x), y


def test_registry_matches_the_spec():
    assert set(SHOWCASE) == set(SPEC_STAGES)
    assert set(MODELS) == set(SPEC_STAGES) | {"plain", "naive"}


def test_plain_is_residual_without_skips():
    plain, residual = build_model("plain"), build_model("residual")
    assert [n for n, _ in plain.named_parameters()] == [n for n, _ in residual.named_parameters()]
    assert all(not b.skip for b in plain.modules() if isinstance(b, ResidualBlock))
    assert all(b.skip for b in residual.modules() if isinstance(b, ResidualBlock))


@pytest.mark.parametrize("name", ["residual", "plain"])
def test_depth_setting_stacks_blocks_per_stage(name):
    deep = build_model(name, blocks=3)
    assert sum(isinstance(m, ResidualBlock) for m in deep.modules()) == 6
    # each extra block adds two 3x3 convs per stage: 2 * (16*16*9 + 16) + 2 * (32*32*9 + 32) per block
    extra = 2 * (2 * (16 * 16 * 9 + 16) + 2 * (32 * 32 * 9 + 32))
    assert count_parameters(deep) == count_parameters(build_model(name)) + extra
    assert deep(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("blocks", [0, -1, 99])
def test_depth_out_of_range_is_refused(blocks):
    with pytest.raises(ValueError, match="blocks per stage"):
        build_model("residual", blocks=blocks)


@pytest.mark.parametrize("name", NAMES)
def test_stage_output_shapes(name):
    model = build_model(name).eval()
    seen = []
    hooks = [child.register_forward_hook(lambda m, i, o, n=n: seen.append((n, tuple(o.shape))))
             for n, child in model.named_children()]
    try:
        with torch.no_grad():
            out = model(torch.randn(3, 1, 28, 28))
    finally:
        for h in hooks:
            h.remove()
    assert seen == [(stage, (3, *shape)) for stage, shape in SPEC_STAGES[name]]
    assert out.shape == (3, 10)


@pytest.mark.parametrize("name", NAMES)
def test_layer_table_stage_shapes(name):
    rows = [r for r in layer_table(name) if r["depth"] == 0]
    assert [(r["name"], r["output_shape"]) for r in rows] == [
        (stage, [1, *shape]) for stage, shape in SPEC_STAGES[name]]


@pytest.mark.parametrize("name", NAMES)
def test_parameter_count(name):
    assert count_parameters(build_model(name)) == SPEC_PARAMS[name]


@pytest.mark.parametrize("name", NAMES)
def test_layer_table_parameters_add_up_to_the_model(name):
    rows = [r for r in layer_table(name) if r["depth"] == 0]
    assert sum(r["params"] for r in rows) == SPEC_PARAMS[name]


@pytest.mark.parametrize("name", NAMES)
def test_multiply_adds_total(name):
    rows = [r for r in layer_table(name) if r["depth"] == 0]
    assert sum(r["macs"] for r in rows) == pytest.approx(SPEC_MACS[name], abs=0.01e6)


@pytest.mark.parametrize("name", NAMES)
def test_loss_at_init_is_about_ln10(name):
    torch.manual_seed(0)
    model = build_model(name)
    x, y = _batch(256)
    with torch.no_grad():
        loss = F.cross_entropy(model(x), y).item()
    assert abs(loss - math.log(10)) < 0.3, loss


@pytest.mark.parametrize("name", NAMES)
def test_backprop_reaches_the_input(name):
    torch.manual_seed(0)
    model = build_model(name)
    x, y = _batch(32)
    x.requires_grad_(True)
    F.cross_entropy(model(x), y).backward()
    assert x.grad is not None
    assert torch.isfinite(x.grad).all()
    assert x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", NAMES)
def test_every_parameter_gets_a_gradient(name):
    torch.manual_seed(0)
    model = build_model(name)
    x, y = _batch(64)
    F.cross_entropy(model(x), y).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    zero = [n for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() == 0]
    nonfinite = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
    assert (missing, zero, nonfinite) == ([], [], [])


@pytest.mark.parametrize("name", NAMES)
def test_channels_last_gives_the_same_logits(name):
    # Training runs channels_last on CPU (TrainConfig default); it must be the same math.
    torch.manual_seed(0)
    model = build_model(name).eval()
    x, _ = _batch(16)
    with torch.no_grad():
        ref = model(x)
        cl = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(cl, ref, atol=1e-5, rtol=1e-4)


def test_inception_block_fused_1x1_equals_unfused():
    torch.manual_seed(0)
    block = InceptionA(10).eval()
    x = torch.randn(4, 10, 12, 12)
    with torch.no_grad():
        block.fuse_1x1 = True
        fused = block(x)
        block.fuse_1x1 = False
        unfused = block(x)
    assert fused.shape == (4, 88, 12, 12)
    torch.testing.assert_close(fused, unfused, atol=1e-5, rtol=0)


def test_inception_net_fused_equals_unfused():
    torch.manual_seed(0)
    model = build_model("inception").eval()
    x, _ = _batch(8)

    def run(fuse: bool) -> torch.Tensor:
        for m in model.modules():
            if isinstance(m, InceptionA):
                m.fuse_1x1 = fuse
        with torch.no_grad():
            return model(x)

    torch.testing.assert_close(run(True), run(False), atol=1e-5, rtol=0)


def test_inception_block_fused_gradients_reach_each_branch_conv():
    # Training uses the fused path: the three 1x1 convs' own weights must still get their gradients.
    torch.manual_seed(0)
    block = InceptionA(10)
    x = torch.randn(4, 10, 12, 12)
    grads = {}
    for fuse in (True, False):
        block.zero_grad(set_to_none=True)
        block.fuse_1x1 = fuse
        block(x).square().mean().backward()
        grads[fuse] = {n: p.grad.clone() for n, p in block.named_parameters()}
    assert grads[True].keys() == grads[False].keys()
    for n in grads[False]:
        torch.testing.assert_close(grads[True][n], grads[False][n], atol=1e-5, rtol=1e-4, msg=n)


def test_inception_block_output_is_the_branches_concatenated():
    torch.manual_seed(0)
    block = InceptionA(20).eval()
    x = torch.randn(2, 20, 4, 4)
    with torch.no_grad():
        b1 = block.branch1x1(x)
        b5 = block.branch5x5_2(block.branch5x5_1(x))
        b3 = block.branch3x3_3(block.branch3x3_2(block.branch3x3_1(x)))
        bp = block.branch_pool(F.avg_pool2d(x, 3, stride=1, padding=1))
        out = block(x)
    assert [t.shape[1] for t in (b1, b5, b3, bp)] == [16, 24, 24, 24]
    torch.testing.assert_close(out, torch.cat([b1, b5, b3, bp], dim=1), atol=1e-5, rtol=0)


def test_residual_block_is_relu_of_x_plus_y():
    torch.manual_seed(0)
    block = ResidualBlock(16).eval()
    x = torch.randn(2, 16, 12, 12)
    with torch.no_grad():
        y = block.conv2(F.relu(block.conv1(x)))
        torch.testing.assert_close(block(x), F.relu(x + y), atol=1e-6, rtol=0)


def test_residual_block_skip_true_and_false_differ():
    torch.manual_seed(0)
    with_skip = ResidualBlock(16, skip=True).eval()
    without = ResidualBlock(16, skip=False).eval()
    without.load_state_dict(with_skip.state_dict())  # same weights: only the skip differs
    x = torch.randn(2, 16, 12, 12)
    with torch.no_grad():
        a, b = with_skip(x), without(x)
    assert a.shape == b.shape == x.shape
    assert (a - b).abs().max() > 1e-3


def test_residual_net_without_skip_keeps_shapes_and_parameters():
    model = build_model("residual", skip=False)
    assert count_parameters(model) == SPEC_PARAMS["residual"]
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_build_model_rejects_unknown_names():
    with pytest.raises(KeyError, match="vgg"):
        build_model("vgg")
