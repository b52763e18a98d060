"""Naive Inception, --width, and what the 1x1 convs cost: counts against hand-computed values, notes that
say what is true at each width, the CLI's checks, and the pages' width inputs."""

from __future__ import annotations

import json

import pytest
import torch

from netlib.analysis import cost
from netlib.analysis.inspection import layer_table, model_cost
from netlib.checkpoint import load_checkpoint, save_checkpoint
from netlib.cli.main import main
from netlib.models import build_model, count_parameters, shape_kwargs
from netlib.runs import summary
from support import assert_clean, fresh_app, open_app

# Hand-computed: per block with c channels in, per output position, Inception (with the 1x1 convs)
# does 16c + 16c + 16*24*25 + 16c + 16*24*9 + 24*24*9 + 24c = 72c + 18240 multiply-adds, Naive
# 16c + 24*25c + 24*9c + 24*24*9 + 24c = 856c + 5184. Whole networks at width W (blocks at 12x12 and 4x4,
# conv1 W*25*24*24, conv2 2W*88*25*8*8, fc 1408*10): Inception 308,672 W + 2,932,480 mult-adds and
# 4,644 W + 50,858 parameters; Naive 446,656 W + 843,520 and 6,996 W + 24,682.
HAND = {  # width: (Inception params, Inception macs, Naive params, Naive macs)
    10: (97_298, 6_019_200, 94_642, 5_310_080),
    17: (129_806, 8_179_904, 143_614, 8_436_672),
    64: (348_074, 22_687_488, 472_426, 29_429_504),
}


@pytest.mark.parametrize("width", sorted(HAND))
def test_counts_match_the_hand_computed_values(width):
    ip, im, np_, nm = HAND[width]
    kw = shape_kwargs("inception", width=width)
    assert count_parameters(build_model("inception", **kw)) == ip
    assert count_parameters(build_model("naive", **kw)) == np_
    assert model_cost("inception", **kw) == {"params": ip, "macs": im}
    assert model_cost("naive", **kw) == {"params": np_, "macs": nm}


def test_block_costs_match_the_issue_figures_and_the_hooked_table():
    assert cost.block_cost(10, True, 12).total_macs == 2_730_240
    assert cost.block_cost(10, False, 12).total_macs == 1_979_136
    assert cost.block_cost(20, True, 4).total_macs == 314_880
    assert cost.block_cost(20, False, 4).total_macs == 356_864
    for model, reduce in (("inception", True), ("naive", False)):
        for width in (3, 10, 64):
            rows = {r["name"]: r for r in layer_table(model, **shape_kwargs(model, width=width))}
            for name, in_ch, size in cost.network_blocks(width):
                block = cost.block_cost(in_ch, reduce, size)
                assert (rows[name]["params"], rows[name]["macs"]) == (block.total_params, block.total_macs)


def test_break_even_and_savings_at_scale():
    assert cost.crossover_width() == pytest.approx(13056 / 784)  # 72c + 18240 = 856c + 5184
    ratio = lambda c: cost.block_cost(c, False).total_macs / cost.block_cost(c, True).total_macs
    assert ratio(64) == pytest.approx(2.62, abs=0.01) and ratio(192) == pytest.approx(5.29, abs=0.01)
    assert ratio(16) < 1 < ratio(17)


@pytest.mark.parametrize("in_ch", [1, 5, 10, 16, 17, 20, 64, 192, 256])
def test_notes_say_what_is_true_at_each_width(in_ch):
    note = cost.one_by_one_note(in_ch)
    dearer = cost.block_cost(in_ch, True).total_macs > cost.block_cost(in_ch, False).total_macs
    assert ("more with them" in note) == dearer and ("less with them" in note) == (not dearer)
    assert ("widen" in note) == (in_ch < 16) and ("narrow" in note) == (in_ch > 16)
    assert "cut" not in note


def test_the_layer_table_never_says_cuts_where_channels_grow():
    notes = {r["name"]: r["note"] for r in layer_table("inception")}
    assert notes["incep1.branch5x5_1"].startswith("1x1 conv widens channels 10 -> 16")
    assert notes["incep2.branch3x3_1"].startswith("1x1 conv narrows channels 20 -> 16")
    assert "38% more" in notes["incep1"] and "12% less" in notes["incep2"]
    assert not any("cut" in n for n in notes.values())
    assert not any("branch5x5_1" in r["name"] for r in layer_table("naive"))


def test_shape_kwargs_checks_and_omits_defaults():
    assert shape_kwargs("inception", width=10) == {} and shape_kwargs("naive", width=64) == {"width": 64}
    assert shape_kwargs("plain", blocks=3) == {"blocks": 3}
    for args in (("residual", None, 10), ("inception", 2, None), ("naive", None, 0), ("naive", None, 257),
                 ("naive", None, "ten"), ("naive", None, True), ("plain", 9, None)):
        with pytest.raises(ValueError):
            shape_kwargs(*args)


@pytest.mark.parametrize("argv", [["--width", "0"], ["--width", "257"], ["--width", "ten"],
                                  ["--model", "residual", "--width", "12"],
                                  ["--model", "naive", "--blocks", "2"]])
def test_cli_refuses_bad_sizes_in_one_line(argv, capsys, tmp_path):
    full = (["train", "--model", "naive", *argv] if argv[0] == "--width" else ["train", *argv]) + \
        ["--synthetic", "50", "--epochs", "1"]
    assert main(full) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netlib: error:") and "\n" not in err
    assert "--width" in err or "--blocks" in err  # refused for the size, not for something else
    assert main(["summary", "--model", "residual", "--width", "12"]) == 2


def test_summary_prints_the_comparison(capsys):
    assert main(["summary", "--model", "naive", "--width", "64", "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    layers = [r for r in lines if r["kind"] == "layer"]
    costs = {r["name"]: r for r in lines if r["kind"] == "1x1 cost"}
    assert sum(r["params"] for r in layers if r["depth"] == 0) == HAND[64][2]
    assert costs["incep1.block"]["macs_inception"] < costs["incep1.block"]["macs_naive"]
    assert "62% less" in costs["incep1.block"]["note"]
    assert main(["summary", "--model", "inception"]) == 0
    assert "widen 10 to 16 channels: this block costs 38% more" in capsys.readouterr().out


def test_width_travels_through_training_and_checkpoints(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--model", "naive", "--width", "6", "--synthetic", "200", "--epochs", "1",
                 "--batch-size", "50", "--run-dir", str(run), "--quiet", "--no-grads"]) == 0
    model, meta = load_checkpoint(run / "checkpoint.pt")
    assert meta["model"] == "naive" and meta["model_kwargs"] == {"width": 6}
    assert model.conv1.out_channels == 6 and not hasattr(model.incep1, "branch5x5_1")
    save_checkpoint(tmp_path / "c.pt", model, "naive", {"width": 6}, {}, {})
    again, _ = load_checkpoint(tmp_path / "c.pt")
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(again(x), model(x))


def test_cost_against_time_says_what_was_measured():
    same = {"threads": 1, "recipe_values": {"lr": 0.003}, "limit": 5000, "device": "cpu"}
    rows = [{"network_label": "Inception", "macs": 6_019_200, "s_per_epoch": 10.0, **same},
            {"network_label": "Naive Inception", "macs": 5_310_080, "s_per_epoch": 11.0, **same}]
    text = summary.cost_against_time(rows)
    assert text.startswith("Naive Inception does 12% fewer multiply-adds") and "10% more time" in text
    rows[1]["s_per_epoch"] = 8.0
    assert "20% less time" in summary.cost_against_time(rows)
    rows[1]["s_per_epoch"] = 10.1
    assert "about the same time" in summary.cost_against_time(rows)
    for key, value, word in (("threads", 2, "threads"), ("limit", None, "training images"),
                             ("recipe_values", {"lr": 0.005}, "recipe"), ("device", "cuda", "device")):
        unlike = [rows[0], {**rows[1], key: value}]
        said = summary.cost_against_time(unlike)
        assert f"different conditions ({word})" in said and "fewer" not in said
    assert summary.cost_against_time(rows[:1]) is None


def test_pages_offer_width_only_where_it_applies(monkeypatch):
    fresh_app(monkeypatch)
    at = open_app("app_pages/train.py")
    at.selectbox(key="model").set_value("naive").run()
    assert_clean(at)
    assert any(n.key == "width" for n in at.number_input) and not any(n.key == "blocks" for n in at.number_input)
    at.selectbox(key="model").set_value("residual").run()
    assert not any(n.key == "width" for n in at.number_input)
    at = open_app("app_pages/inspect.py")
    at.radio(key="inspect_model").set_value("inception").run()
    at.number_input(key="inspect_width").set_value(64).run()
    assert_clean(at)
    said = " ".join(m.value for m in at.markdown)
    assert "narrow 64 to 16 channels" in said and "widen" not in said


@pytest.mark.slow
def test_compare_trains_inception_against_naive_at_one_width(tmp_path, monkeypatch):
    from netlib.lab import launch
    from netlib.runs.reader import list_runs
    from test_pages_steering import train_pair

    fresh_app(monkeypatch)
    runs = tmp_path / "runs"
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(runs))
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "600")
    at = train_pair(open_app("app_pages/compare.py"), runs, "inception vs naive", 600, width=24)
    found = {r.config["model"]: r.config["model_kwargs"] for r in list_runs(runs)}
    assert found == {"inception": {"width": 24}, "naive": {"width": 24}}
    said = " ".join(m.value for m in at.markdown)
    # at width 24 the 1x1 convs save work, so Naive is the dearer one: the sentence names Inception first
    assert "Inception w24 does" in said and "fewer multiply-adds per digit than Naive Inception w24" in said
