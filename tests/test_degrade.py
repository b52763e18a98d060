"""Upload degradations (netlib.engine.augment.degrade and its four transforms), the recipe's `degrade`
field, and `train --degrade P`: on small synthetic batches, CPU, a few seconds in all."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from netlib.data import MEAN, STD
from netlib.engine.augment import (_field_operator, _lowres_operators, _max3x3, degrade, elastic_distortion,
                                   gaussian_blur, low_resolution, stroke_thickness)
from netlib.recipes import RECIPES, Recipe, resolve_recipe

BLACK, WHITE = (0 - MEAN) / STD, (1 - MEAN) / STD
TRANSFORMS = {"thickness": stroke_thickness, "blur": gaussian_blur, "lowres": low_resolution,
              "elastic": elastic_distortion}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _digits(make_dataset, n: int = 32) -> torch.Tensor:
    return make_dataset(n, 10).train_x


def _strokes(n: int = 8, width: int = 3) -> torch.Tensor:
    """A '+' of white bars `width` px wide on exact black, in the middle of the field."""
    x = torch.full((n, 1, 28, 28), BLACK)
    lo = 14 - width // 2
    x[:, :, 6:22, lo:lo + width] = WHITE
    x[:, :, lo:lo + width, 6:22] = WHITE
    return x


def _ink(x: torch.Tensor) -> torch.Tensor:
    return (x - BLACK).sum(dim=(1, 2, 3))


def _centre(x: torch.Tensor) -> torch.Tensor:
    """N x 2: each image's centre of ink (row, column) in px."""
    w = (x - BLACK)[:, 0]
    i = torch.arange(28, dtype=x.dtype)
    total = w.sum(dim=(1, 2))
    return torch.stack([(w.sum(2) * i).sum(1) / total, (w.sum(1) * i).sum(1) / total], 1)


# ---------------------------------------------------------------- every transform
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_keeps_shape_dtype_and_range(name, make_dataset):
    x = _digits(make_dataset)
    out = TRANSFORMS[name](x, _gen())
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert out.min() >= x.min() and out.max() <= x.max()
    assert not torch.equal(out, x)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_is_deterministic_for_a_seed(name, make_dataset):
    x = _digits(make_dataset, 8)
    a, b, c = (TRANSFORMS[name](x, _gen(s)) for s in (3, 3, 4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_p0_returns_the_input_and_draws_nothing(name, make_dataset):
    x = _digits(make_dataset, 8)
    gen = _gen()
    state = gen.get_state()
    assert TRANSFORMS[name](x, gen, p=0.0) is x
    assert torch.equal(gen.get_state(), state)


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_a_share_leaves_the_other_samples_bit_for_bit(name, make_dataset):
    x = _digits(make_dataset, 64)
    out = TRANSFORMS[name](x, _gen(), p=0.5)
    same = (out == x).flatten(1).all(1)
    assert 12 <= int(same.sum()) <= 52  # about half of 64 (binomial: 32 +- 4)


# ---------------------------------------------------------------- what each one does
def test_dilate_adds_ink_and_erode_removes_some():
    x = _strokes()
    thick = stroke_thickness(x, _gen(), thick=1.0)
    thin = stroke_thickness(x, _gen(), thick=0.0)
    assert (_ink(thick) > 1.3 * _ink(x)).all()
    assert (_ink(thin) < 0.9 * _ink(x)).all()
    assert (_ink(thin) > 0.3 * _ink(x)).all()  # thinner, not wiped out (a full 3x3 erosion leaves 1/3 here)
    assert torch.equal(thick.amax(dim=(1, 2, 3)), x.amax(dim=(1, 2, 3)))  # no ink brighter than the pen's


def test_the_pooling_is_max_pool2d_bit_for_bit():
    a = torch.randn(5, 1, 28, 28, generator=_gen())
    assert torch.equal(_max3x3(a), F.max_pool2d(a, 3, stride=1, padding=1))
    assert torch.equal(-_max3x3(-a), -F.max_pool2d(-a, 3, stride=1, padding=1))


def test_blur_lowers_the_peak_and_spreads_the_ink():
    x = _strokes(width=1)
    out = gaussian_blur(x, _gen(), sigma=(0.6, 1.0))
    assert ((out - BLACK).amax(dim=(1, 2, 3)) < 0.9 * (WHITE - BLACK)).all()  # even where the bars cross
    inked = lambda t: ((t - BLACK) > 0.05).sum(dim=(1, 2, 3))
    assert (inked(out) > 1.5 * inked(x)).all()
    torch.testing.assert_close(_ink(out), _ink(x), rtol=0.01, atol=0)  # spread, not lost (far from the edge)


def test_lowres_changes_a_sharp_digit_but_keeps_its_centre(make_dataset):
    x = _strokes(16)
    out = low_resolution(x, _gen())
    assert ((out - x).abs().amax(dim=(1, 2, 3)) > 0.5).all()
    assert ((_centre(out) - _centre(x)).abs() < 1.0).all()
    digits = _digits(make_dataset, 16)
    assert ((_centre(low_resolution(digits, _gen())) - _centre(digits)).abs() < 1.0).all()


@pytest.mark.parametrize("side", [8, 11, 16])
def test_lowres_is_what_interpolate_makes(side):
    ink = torch.rand(4, 1, 28, 28, generator=_gen(), dtype=torch.float64)
    ops = _lowres_operators(tuple(range(8, 17)), torch.device("cpu"), torch.float64)
    small = F.interpolate(ink, size=side, mode="area")
    want = F.interpolate(small, size=28, mode="bilinear", align_corners=False)
    m = ops[side - 8]
    torch.testing.assert_close((m @ ink[:, 0] @ m.T).unsqueeze(1), want)
    assert len(ops) == 9


def test_elastic_moves_pixels_but_keeps_the_ink(make_dataset):
    x = _digits(make_dataset, 32)
    out = elastic_distortion(x, _gen())
    assert ((out - x).abs().amax(dim=(1, 2, 3)) > 0.3).all()
    ratio = _ink(out) / _ink(x)
    assert abs(ratio.mean() - 1) < 0.05
    assert ((ratio > 0.6) & (ratio < 1.6)).all()


def test_the_displacement_field_is_bicubic_interpolation():
    field = torch.rand(6, 16, generator=_gen(), dtype=torch.float64)
    want = F.interpolate(field.view(6, 1, 4, 4), size=(28, 28), mode="bicubic", align_corners=True)
    got = field @ _field_operator(4, torch.device("cpu"), torch.float64)
    torch.testing.assert_close(got.view(6, 1, 28, 28), want)


# ---------------------------------------------------------------- degrade()
def test_degrade_with_all_p0_is_the_input_and_draws_nothing(make_dataset):
    x = _digits(make_dataset, 8)
    gen = _gen()
    state = gen.get_state()
    assert degrade(x, gen) is x
    assert torch.equal(gen.get_state(), state)


def test_degrade_keeps_shape_dtype_range_and_repeats(make_dataset):
    x = _digits(make_dataset, 64)
    kw = dict(thickness=0.5, blur=0.5, lowres=0.5, elastic=0.5)
    a, b = degrade(x, _gen(1), **kw), degrade(x, _gen(1), **kw)
    assert torch.equal(a, b)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.min() >= x.min() and a.max() <= x.max()
    untouched = int((a == x).flatten(1).all(1).sum())
    assert 0 < untouched < 20  # clean digits stay in the mix: 1/16 of them expected (4 of 64)


def test_degrade_refuses_other_shapes():
    with pytest.raises(ValueError, match="28"):
        degrade(torch.zeros(2, 1, 32, 32), _gen(), blur=1.0)


# ---------------------------------------------------------------- the recipe field
def test_no_named_recipe_degrades():
    assert Recipe().degrade == 0.0
    assert all(r.degrade == 0.0 for r in RECIPES.values())


def test_the_field_round_trips_and_old_configs_load():
    r = resolve_recipe("fast", degrade=0.25)
    assert Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    old = {k: v for k, v in RECIPES["fast"].to_dict().items() if k != "degrade"}  # a config.json from before
    assert Recipe.from_dict(old) == RECIPES["fast"]


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, math.inf])
def test_validate_refuses_a_degrade_that_is_no_probability(p):
    with pytest.raises(ValueError, match="degrade"):
        resolve_recipe("fast", degrade=p)


def test_a_run_recorded_before_the_field_compares_with_one_after():
    from netlib.lab.lesson_runs import config_unlike
    from netlib.runs.groups import group_key

    new = {"model": "residual", "recipe_name": "fast", "recipe": RECIPES["fast"].to_dict(), "seed": 0}
    old = {**new, "recipe": {k: v for k, v in new["recipe"].items() if k != "degrade"}, "seed": 1}
    degraded = {**new, "recipe": resolve_recipe("fast", degrade=0.5).to_dict()}
    assert group_key(old) == group_key(new) != group_key(degraded)  # seed groups; one experiment
    assert config_unlike(old, new) == [] and config_unlike(old, degraded) == ["recipe"]  # speed comparisons


# ---------------------------------------------------------------- training with it
def _losses(events):
    return [(e["event"], e.get("loss"), e.get("test_loss")) for e in events if e["event"] in ("batch", "epoch")]


def test_training_with_degrade_is_seeded_and_changes_the_batches(make_dataset, make_config):
    from netlib.engine.loop import fit

    data = make_dataset(96, 50)
    runs = {}
    for key, p in (("a", 0.5), ("b", 0.5), ("plain", 0.0)):
        events = []
        end = fit(make_config(batch_size=32, degrade=p, augment=True, seed=3), data, on_event=events.append)
        assert end["status"] == "done"
        runs[key] = _losses(events)
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["plain"]


def test_train_degrade_option_end_to_end(tmp_path, capsys):
    from netlib.cli.main import main
    from netlib.cli.parser import build_parser
    from netlib.engine.setup import train_config
    from netlib.request import RunRequest, from_arguments

    args = build_parser().parse_args(["train", "--model", "residual", "--degrade", "0.5"])
    assert train_config(from_arguments(args)).recipe.degrade == 0.5
    assert train_config(RunRequest(model="residual")).recipe.degrade == 0.0
    run = tmp_path / "run"
    code = main(["train", "--model", "residual", "--degrade", "0.5", "--synthetic", "64", "--epochs", "1",
                 "--batch-size", "32", "--device", "cpu", "--run-dir", str(run), "--quiet"])  # fast's 128 > 64
    assert code == 0, capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["recipe"]["degrade"] == 0.5
    assert json.loads((run / "status.json").read_text())["status"] == "done"
    assert main(["train", "--model", "residual", "--degrade", "2"]) == 2
    assert "probability" in capsys.readouterr().err


def test_a_queued_run_keeps_its_degrade():
    from netlib.request import RunRequest
    from netlib.runs.command import options_from_argv

    options = options_from_argv(["--model", "residual", "--degrade", "0.5"])  # queued before run requests
    assert options["degrade"] == 0.5
    req = RunRequest(**options)
    assert RunRequest.from_dict(req.to_dict()) == req


# ---------------------------------------------------------------- per kind
def test_per_kind_degrade_parses_to_one_canonical_spelling():
    from netlib.recipes import degrade_probabilities, parse_degrade

    assert parse_degrade("0.25") == 0.25
    assert parse_degrade(" lowres=0.25, blur=0.1 ") == parse_degrade("blur=0.1,lowres=0.25") == "blur=0.1,lowres=0.25"
    assert parse_degrade("lowres=0") == 0.0  # nothing left to apply
    assert degrade_probabilities("blur=0.1,lowres=0.25") == {"thickness": 0.0, "blur": 0.1, "lowres": 0.25,
                                                             "elastic": 0.0}
    assert degrade_probabilities(0.3) == dict.fromkeys(("thickness", "blur", "lowres", "elastic"), 0.3)
    for bad, why in (("fog=0.1", "unknown degradation 'fog'"), ("blur=2", "blur must be a probability"),
                     ("blur=x", "blur must be"), ("1.5", "degrade must be"), ("nan", "degrade must be")):
        with pytest.raises(ValueError, match=why):
            parse_degrade(bad)
    with pytest.raises(ValueError, match="lowres"):
        resolve_recipe("fast", degrade="lowres=3")


def test_per_kind_degrade_applies_only_the_kinds_named(make_dataset, monkeypatch, make_config):
    import netlib.engine.loop as loop

    seen = []
    monkeypatch.setattr(loop, "degrade", lambda x, gen, **probs: seen.append(probs) or x)
    loop.fit(make_config(batch_size=32, degrade="lowres=0.2,elastic=0.1", seed=3), make_dataset(64, 20),
             on_event=lambda e: None)
    assert seen and all(p == {"thickness": 0.0, "blur": 0.0, "lowres": 0.2, "elastic": 0.1} for p in seen)


def test_per_kind_degrade_through_the_cli_and_the_queue(tmp_path, capsys):
    from netlib.cli.main import main
    from netlib.request import RunRequest
    from netlib.runs.command import options_from_argv

    run = tmp_path / "run"
    code = main(["train", "--model", "residual", "--degrade", "lowres=0.25,blur=0.1", "--synthetic", "64",
                 "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--run-dir", str(run), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["recipe"]["degrade"] == "blur=0.1,lowres=0.25"
    options = options_from_argv(["--model", "residual", "--degrade", "lowres=0.25,blur=0.1"])
    assert options["degrade"] == "blur=0.1,lowres=0.25"
    assert RunRequest.from_dict(RunRequest(**options).to_dict()).degrade == "blur=0.1,lowres=0.25"
    assert main(["train", "--model", "residual", "--degrade", "fog=0.1"]) == 2
    assert "unknown degradation" in capsys.readouterr().err
