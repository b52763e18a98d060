"""netlib.analysis.explain (saliency, Grad-CAM, Inception branches, doubt) and the scribble/blob detection in
netlib.analysis.preprocess, on the shipped checkpoints and on digits drawn the way people draw them."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

from netlib.charts import explain as explain_charts
from netlib.lab import catalogue
from netlib.checkpoint import load_checkpoint
from netlib.analysis.explain import BRANCH_NAMES, _upsample, _walk, doubt, explain, last_conv_stage
from netlib.models import SHOWCASE, build_model
from netlib.analysis.preprocess import BLOB_HINT, SCRIBBLE_HINT, prepare
from netlib.data import MEAN, STD
from netlib.analysis.strokes import DIGIT_VARIANTS, Style, draw_paths, drawn_digit_set, render

SHIPPED = {m: catalogue.shipped_checkpoint(m) for m in SHOWCASE}
needs_shipped = pytest.mark.skipif(not all(p.is_file() for p in SHIPPED.values()),
                                   reason="shipped checkpoints not present")
BACKGROUND = -MEAN / STD  # an empty pixel, normalised


@pytest.fixture(scope="module")
def nets() -> dict:
    if not all(p.is_file() for p in SHIPPED.values()):
        pytest.skip("shipped checkpoints not present")
    return {m: load_checkpoint(p)[0] for m, p in SHIPPED.items()}


def digit(d: int, **style) -> torch.Tensor:
    return prepare(render(d, Style(**style))).tensor


def fresh(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name).eval()


# ---------------------------------------------------------------- shapes and the shared model
@pytest.mark.parametrize("name", ["inception", "residual", "plain"])
def test_maps_are_28x28_finite_and_grad_cam_is_non_negative(name):
    e = explain(fresh(name), digit(5))
    for m in (e.gradient_x_input, e.grad_cam):
        assert m.shape == (28, 28) and m.dtype == np.float32 and np.isfinite(m).all()
    assert (e.grad_cam >= 0).all() and e.grad_cam.max() > 0
    assert e.cam_layer == {"inception": "incep2"}.get(name, "rblock2") == last_conv_stage(fresh(name))
    assert e.probs.shape == (10,) and abs(float(e.probs.sum()) - 1) < 1e-5 and e.target == int(e.probs.argmax())


def test_the_shared_model_is_left_exactly_as_it_was():
    model = fresh("inception")
    model.fc.weight.requires_grad_(False)  # an unusual setting must survive too
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    x = digit(2)
    explain(model, x)
    explain(model, x, 3, "incep1")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags
    assert all(p.grad is None for p in model.parameters())
    assert not model.training and model.incep1.fuse_1x1 and model.incep2.fuse_1x1
    assert not any(m._forward_hooks or m._forward_pre_hooks or m._backward_hooks for m in model.modules())
    assert not x.requires_grad and torch.is_grad_enabled()


def test_one_digit_at_a_time():
    with pytest.raises(ValueError, match="one digit"):
        explain(fresh("residual"), torch.zeros(2, 1, 28, 28))


# ---------------------------------------------------------------- gradient x input means something
def test_gradient_x_input_is_zero_on_the_empty_background():
    x = digit(7)
    sal = explain(fresh("residual"), x).gradient_x_input
    empty = (x[0, 0] <= BACKGROUND + 1e-6).numpy()
    assert empty.sum() > 400 and (sal[empty] == 0).all() and np.abs(sal[~empty]).max() > 0


@needs_shipped
@pytest.mark.parametrize("name", SHOWCASE)
def test_removing_the_most_salient_ink_hurts_more_than_removing_random_ink(nets, name):
    """Erase the top fifth of the ink by gradient x input, or the same number of random ink pixels."""
    net, rng = nets[name], np.random.default_rng(0)
    wins, drops_top, drops_random = 0, [], []
    for d in range(10):
        x = digit(d)
        e = explain(net, x)
        ink = np.flatnonzero((x[0, 0] > BACKGROUND + 1e-6).numpy().ravel())
        k = len(ink) // 5

        def score_without(pixels) -> float:
            y = x.clone().view(-1)
            y[pixels] = BACKGROUND
            with torch.no_grad():
                return float(net(y.view(1, 1, 28, 28))[0, e.target])

        with torch.no_grad():
            base = float(net(x)[0, e.target])
        top = base - score_without(np.argsort(-e.gradient_x_input.ravel())[:k])
        rand = base - np.mean([score_without(rng.choice(ink, k, replace=False)) for _ in range(5)])
        wins += top > rand
        drops_top.append(top)
        drops_random.append(rand)
    assert wins >= 9, (drops_top, drops_random)
    assert np.mean(drops_top) > 1.5 * np.mean(drops_random)


@needs_shipped
def test_explaining_another_digit_gives_another_map(nets):
    x = digit(4)
    a, b = (explain(nets["residual"], x, d).gradient_x_input for d in (4, 9))
    assert not np.allclose(a, b)


# ---------------------------------------------------------------- Grad-CAM lands where the cells look
def test_grid_cells_map_to_the_pixels_at_their_receptive_field_centres():
    x = torch.zeros(1, 1, 28, 28)
    geometry = {}
    for name in ("incep1", "incep2"):
        geometry[name] = _walk(fresh("inception"), x, name)[3]
    assert geometry == {"incep1": (2.0, 2.5), "incep2": (4.0, 7.5)}
    assert _walk(fresh("residual"), x, "rblock2")[3] == (4.0, 7.5)
    cell = np.zeros((4, 4), np.float32)
    cell[1, 2] = 1.0  # centred at pixel (row 11.5, col 15.5)
    up = _upsample(cell, 4.0, 7.5)
    assert up.shape == (28, 28)
    rows, cols = np.unravel_index(np.flatnonzero(up == up.max()), up.shape)
    assert set(rows) == {11, 12} and set(cols) == {15, 16}
    assert np.allclose(_upsample(np.ones((4, 4), np.float32), 4.0, 7.5), 1.0)  # edges held, not faded


@needs_shipped
def test_grad_cam_sits_on_the_digit(nets):
    """A digit drawn small keeps its evidence near the centre of the field, where the ink is."""
    for name in SHOWCASE:
        x = digit(0)
        cam = explain(nets[name], x).grad_cam
        near_ink = torch.nn.functional.max_pool2d((x > BACKGROUND + 1e-6).float(), 7, 1, 3)[0, 0].numpy() > 0
        assert cam[near_ink].mean() > cam[~near_ink].mean()


# ---------------------------------------------------------------- Inception's branches
def test_branch_strengths_are_four_shares_per_block_that_follow_the_input():
    model = fresh("inception")
    one, eight = explain(model, digit(1)).branches, explain(model, digit(8)).branches
    assert [b.block for b in one] == ["incep1", "incep2"] and [b.size for b in one] == [12, 4]
    for b in one + eight:
        assert len(b.strength) == len(b.share) == len(BRANCH_NAMES) == 4
        assert min(b.strength) >= 0 and min(b.share) >= 0 and abs(sum(b.share) - 1) < 1e-6
    assert not np.allclose([b.strength for b in one], [b.strength for b in eight])
    assert explain(fresh("residual"), digit(1)).branches == []


def test_charts_overlay_the_map_on_the_digit():
    e = explain(fresh("inception"), digit(3))
    preview = prepare(render(3, Style())).preview
    signed = explain_charts.saliency_figure(preview, e.gradient_x_input, True, "why 3")
    assert [t.type for t in signed.data] == ["heatmap", "heatmap"]
    assert signed.data[1].zmin == -signed.data[1].zmax
    cam = explain_charts.saliency_figure(preview, e.grad_cam, False)
    assert cam.data[1].zmin == 0
    bars = explain_charts.branch_figure(e.branches)
    assert [list(t.x) for t in bars.data] == [list(BRANCH_NAMES)] * 2


@needs_shipped
def test_explaining_both_networks_is_fast(nets):
    x = digit(6)
    for net in nets.values():
        explain(net, x)  # warm
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        for net in nets.values():
            explain(net, x)
        times.append(time.perf_counter() - t0)
    assert np.median(times) < 0.5, times  # tens of ms idle; 0.5 s allows a loaded machine


# ---------------------------------------------------------------- doubt in words
def test_doubt_is_silent_when_both_are_sure_and_agree():
    sure = [0.0] * 10
    sure[3] = 1.0
    assert doubt({"inception": sure, "residual": sure}) == ""


def test_doubt_names_the_two_likeliest_digits():
    p = [0.0] * 10
    p[4], p[9], p[7] = 0.41, 0.38, 0.21
    sure = [0.0] * 10
    sure[4] = 1.0
    note = doubt({"inception": p, "residual": sure})
    assert note == "Inception is not sure: 41% — maybe 4 or 9."


def test_doubt_says_when_the_networks_disagree():
    a, b = [0.0] * 10, [0.0] * 10
    a[1], b[7] = 0.9, 0.8
    a[7], b[1] = 0.1, 0.2
    assert doubt({"inception": a, "residual": b}) == \
        "The networks disagree: Inception reads 1 (90%), Residual reads 7 (80%)."


# ---------------------------------------------------------------- scribbles and blobs
def scribble(rng: np.random.Generator, canvas: int = 280) -> Image.Image:
    """5-14 random strokes over the whole canvas, each through 3-8 random points, brush 10-40 px."""
    strokes = []
    for _ in range(int(rng.integers(5, 15))):
        pts = rng.uniform(0.03, 0.97, size=(int(rng.integers(3, 9)), 2)) * canvas
        strokes.append([tuple(a + (b - a) * t) for a, b in zip(pts[:-1], pts[1:]) for t in np.linspace(0, 1, 30)])
    return draw_paths(strokes, Style(width=float(rng.uniform(10, 40)), polarity="transparent"))


def zigzag(rng: np.random.Generator, turns: int, canvas: int = 280) -> Image.Image:
    """Back and forth across the canvas, top to bottom: scribbling something out."""
    ys = np.sort(rng.uniform(0.05, 0.95, turns)) * canvas
    xs = np.where(np.arange(turns) % 2, rng.uniform(0.75, 0.97, turns), rng.uniform(0.03, 0.25, turns)) * canvas
    return draw_paths([list(zip(xs, ys))], Style(width=float(rng.uniform(8, 30)), polarity="transparent"))


def test_drawn_digits_are_not_taken_for_scribbles():
    flagged = [(d, s) for image, d, s in drawn_digit_set(50, seed=3) if prepare(image).scribble]
    assert flagged == []


def test_bold_and_large_digits_are_not_taken_for_scribbles():
    """Every form of every digit at the brush's widest, from small to filling the canvas."""
    for box in (0.4, 0.6, 0.85, 0.95):
        for d, forms in DIGIT_VARIANTS.items():
            for v in range(len(forms)):
                p = prepare(render(d, Style(box=box, width=40, variant=v)))
                assert not p.scribble, (box, d, v, p.hint)


def test_scribbles_get_a_hint():
    rng = np.random.default_rng(7)
    hits = [prepare(scribble(rng)) for _ in range(40)]
    assert sum(p.scribble for p in hits) >= 36  # 94% of 300 such scribbles
    # a thick scribble may fill in to a blob: either hint will do
    assert {p.hint for p in hits if p.scribble} <= {SCRIBBLE_HINT, BLOB_HINT} and not any(p.blank for p in hits)
    assert all(prepare(zigzag(rng, turns)).scribble for turns in (16, 20, 24, 30))


@pytest.mark.parametrize("width", [6, 18, 40])
def test_a_dot_gets_a_hint(width):
    p = prepare(draw_paths([[(100.0, 170.0)]], Style(width=width)))
    assert p.blank or (p.scribble and p.hint == BLOB_HINT)


@needs_shipped
def test_scribbles_never_get_a_confident_unanimous_answer(nets):
    """What slips past the detector mostly gets the page's low-confidence warning instead."""
    rng = np.random.default_rng(8)
    fooled = 0
    for _ in range(40):
        p = prepare(scribble(rng))
        if not p.scribble:
            with torch.no_grad():
                probs = {m: torch.softmax(n(p.tensor), 1)[0].tolist() for m, n in nets.items()}
            fooled += not doubt(probs)
    assert fooled <= 2
