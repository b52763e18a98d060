"""The lesion test (netlib.analysis.lesion): which blocks it removes and how, that the model comes back whole,
Residual ×3 against Plain ×3 trained here, `python -m netlib lesion`, and Inspect's Lesion tab."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

import netlib.data
from netlib.analysis.lesion import (NONE, describe, format_table, lesion_test, lesioned, one_block_note,
                                    residual_blocks)
from netlib.charts.lesion import lesion_figure
from netlib.checkpoint import save_checkpoint
from netlib.cli.main import main as cli_main
from netlib.lab import catalogue
from netlib.models import build_model, title
from support import SHIPPED_LESION_GROUP, assert_clean, charts, fresh_app, open_app

SHIPPED_LESION = {m: catalogue.lesion_checkpoint(m) for m in catalogue.LESION_MODELS}
needs_shipped = pytest.mark.skipif(not all(p.is_file() for p in SHIPPED_LESION.values()),
                                   reason="shipped lesion checkpoints not present")


def no_hooks(model) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


# ---------------------------------------------------------------- which blocks, and how one is removed
def test_residual_blocks_are_named_in_forward_order():
    names3 = ["rblock1.0", "rblock1.1", "rblock1.2", "rblock2.0", "rblock2.1", "rblock2.2"]
    assert residual_blocks(build_model("residual", blocks=3)) == names3
    assert residual_blocks(build_model("plain", blocks=3)) == names3
    assert residual_blocks(build_model("residual")) == ["rblock1", "rblock2"]
    assert residual_blocks(build_model("inception")) == [] == residual_blocks(build_model("naive"))


@pytest.mark.parametrize("model", ["residual", "plain"])
def test_a_removed_block_passes_its_input_on(model):
    """Residual keeps only the skip path, relu(x); Plain's block becomes the identity."""
    torch.manual_seed(0)
    net = build_model(model, blocks=2).eval()
    block = dict(net.named_modules())["rblock2.1"]
    x, h = torch.randn(3, 1, 28, 28), torch.randn(3, 32, 4, 4)
    with torch.no_grad():
        whole, block_out = net(x), block(h)
        with lesioned(net, "rblock2.1"):
            cut, replaced = net(x), block(h)
        assert torch.equal(net(x), whole)  # whole again once the block is left
    assert torch.equal(replaced, F.relu(h) if model == "residual" else h)
    assert not torch.equal(replaced, block_out) and not torch.allclose(cut, whole)
    assert no_hooks(net)


def test_lesioned_leaves_no_hook_behind_even_on_error():
    net = build_model("residual", blocks=3)
    with pytest.raises(RuntimeError, match="boom"):
        with lesioned(net, "rblock1.1"):
            assert not no_hooks(net)
            raise RuntimeError("boom")
    assert no_hooks(net)
    with pytest.raises(ValueError, match="not a residual block.*rblock1.0"):
        with lesioned(net, "conv1"):
            pass


def test_lesion_test_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    net = build_model("plain", blocks=3).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.randn(20, 1, 28, 28), torch.arange(20) % 10
    with torch.no_grad():
        out_before = net.eval()(x)
    net.train()
    rows = lesion_test(net, x, y, batch_size=7)
    assert [name for name, _ in rows] == [NONE] + residual_blocks(net)
    assert all(0 <= acc <= 1 for _, acc in rows)
    assert net.training and no_hooks(net)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    with torch.no_grad():
        assert torch.equal(net.eval()(x), out_before)


@pytest.mark.parametrize("model,blocks", [("residual", 3), ("plain", 3), ("residual", 1)])
def test_lesion_test_gives_what_each_lesioned_network_reads(model, blocks):
    """The shared-prefix computation answers exactly as the whole network run once per removed block."""
    torch.manual_seed(1)
    net = build_model(model, blocks=blocks).eval()
    x = torch.randn(60, 1, 28, 28)
    with torch.no_grad():
        y = net(x).argmax(1)  # nothing removed reads 100%; each lesion changes some answers
        expected = [(NONE, 1.0)]
        for name in residual_blocks(net):
            with lesioned(net, name):
                expected.append((name, int((net(x).argmax(1) == y).sum()) / len(y)))
    rows = lesion_test(net, x, y, batch_size=25)
    assert [n for n, _ in rows] == [n for n, _ in expected]
    assert [a for _, a in rows] == [a for _, a in expected]
    assert model == "plain" or any(a < 1.0 for _, a in rows[1:])  # the check has answers to tell apart


def test_networks_without_residual_blocks_are_refused():
    for model in ("inception", "naive"):
        with pytest.raises(ValueError, match="Residual and Plain"):
            lesion_test(build_model(model), torch.zeros(2, 1, 28, 28), [0, 1])
    with pytest.raises(ValueError, match="as many labels"):
        lesion_test(build_model("residual"), torch.zeros(2, 1, 28, 28), [0])


def test_one_block_per_stage_is_explained():
    assert "half" in one_block_note(1) and one_block_note(3) is None


# ---------------------------------------------------------------- Residual ×3 against Plain ×3, trained here
@pytest.fixture(scope="module")
def trained(make_dataset):
    """Residual ×3 and Plain ×3 trained with the same recipe on 1,000 synthetic digits (~3 s each).

    Plain ×3 needs Adam at a constant 1e-3 and a few hundred steps to leave chance on so little data;
    seed 3 trains it to ~100% (seeds 0-4 measured: 0.63-1.0)."""
    from netlib.engine.loop import TrainConfig, fit
    from netlib.recipes import resolve_recipe

    data = make_dataset(1000, 300)
    out = {}
    for model in ("residual", "plain"):
        recipe = resolve_recipe("fast", model, optimizer="adam", lr=1e-3, schedule="constant", batch_size=16,
                                epochs=6, augment=False, ema=0.0)
        end = fit(TrainConfig(model=model, recipe_name="fast", recipe=recipe, model_kwargs={"blocks": 3},
                              seed=3, record_grads=False), data)
        assert end["status"] == "done", end
        out[model] = end["model"]
    return out, data


@pytest.mark.slow  # two networks trained 750 steps each
def test_residual_survives_a_lesion_and_plain_does_not(trained):
    models, data = trained
    rows = {m: lesion_test(net, data.test_x, data.test_y) for m, net in models.items()}
    drops = {m: [r[0][1] - acc for _, acc in r[1:]] for m, r in rows.items()}
    print({m: format_table(r) for m, r in rows.items()})
    assert rows["plain"][0][1] > 0.9 and rows["residual"][0][1] > 0.9  # both trained
    mean = {m: sum(d) / len(d) for m, d in drops.items()}
    assert mean["residual"] < mean["plain"]
    assert max(drops["residual"]) < 0.05 and mean["plain"] > 0.3
    assert "at most" in describe("Residual ×3", rows["residual"])
    assert "falls from" in describe("Plain ×3", rows["plain"])
    fig = json.loads(lesion_figure([("Residual ×3", "residual", rows["residual"]),
                                    ("Plain ×3", "plain", rows["plain"])]).to_json())
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    assert [t["name"] for t in bars] == ["Residual ×3", "Plain ×3"]
    assert bars[0]["marker"]["pattern"]["shape"][0] == "/"  # "none" stands apart
    assert fig["layout"]["yaxis"]["range"][0] == 0  # Plain's fall needs the whole axis
    assert len([s for s in fig["layout"]["shapes"] if s["line"]["dash"] == "dash"]) == 2


# ---------------------------------------------------------------- the command line
@pytest.fixture
def synthetic_mnist(monkeypatch, make_dataset):
    """load_mnist answers with 300 synthetic test digits: the command runs without MNIST."""
    from netlib.data import synthetic_digits

    monkeypatch.setattr(netlib.data, "load_mnist", lambda train, data_dir=None: synthetic_digits(300, seed=101))


def test_cli_lesion_json_one_line_per_block(trained, synthetic_mnist, tmp_path, capsys):
    models, data = trained
    path = tmp_path / "plain-3.pt"
    save_checkpoint(path, models["plain"], "plain", {"blocks": 3}, {}, {})
    assert cli_main(["lesion", "--checkpoint", str(path), "--json", "--limit", "250"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["block"] for r in lines] == [NONE] + residual_blocks(models["plain"])
    expected = lesion_test(models["plain"], netlib.data.normalize(netlib.data.load_mnist(False)[0][:250]),
                           netlib.data.load_mnist(False)[1][:250])
    assert [r["test_acc"] for r in lines] == [round(acc, 6) for _, acc in expected]
    assert cli_main(["lesion", "--checkpoint", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Plain ×3 on 300 MNIST test digits" in out and "rblock2.2" in out and "vs none" in out


def test_cli_lesion_refuses_with_one_line(tmp_path, synthetic_mnist, capsys):
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "nope.pt")]) == 1
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "bad.pt")]) == 1
    save_checkpoint(tmp_path / "inception.pt", build_model("inception"), "inception", {}, {}, {})
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "inception.pt")]) == 2
    save_checkpoint(tmp_path / "residual.pt", build_model("residual"), "residual", {}, {}, {})
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "residual.pt"), "--limit", "301"]) == 2
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "residual.pt"), "--limit", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 5 and all(line.startswith("netlib: error:") for line in err)
    assert "no such checkpoint" in err[0] and "bad.pt" in err[1]
    assert "Residual and Plain" in err[2] and "Inception has none" in err[2] and "300" in err[3]


def test_cli_lesion_explains_one_block_per_stage(tmp_path, synthetic_mnist, capsys):
    save_checkpoint(tmp_path / "residual.pt", build_model("residual"), "residual", {}, {}, {})
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "residual.pt"), "--limit", "50"]) == 0
    assert one_block_note(1) in capsys.readouterr().out
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "residual.pt"), "--limit", "50", "--json"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line)["block"] for line in out.splitlines()] == [NONE, "rblock1", "rblock2"]
    assert err.startswith("netlib: note:") and one_block_note(1) in err
    save_checkpoint(tmp_path / "plain.pt", build_model("plain", blocks=2), "plain", {"blocks": 2}, {}, {})
    assert cli_main(["lesion", "--checkpoint", str(tmp_path / "plain.pt"), "--limit", "50"]) == 0
    assert one_block_note(1) not in capsys.readouterr().out


# ---------------------------------------------------------------- the shipped checkpoints, real MNIST
@needs_shipped
@pytest.mark.slow
def test_cli_lesion_on_the_shipped_checkpoints_shows_the_lesson(capsys):
    """On the first 2,000 test digits (all 10,000 are read once, by the Inspect tab's test below)."""
    rows = {}
    for model, path in SHIPPED_LESION.items():
        assert cli_main(["lesion", "--checkpoint", str(path), "--limit", "2000", "--json"]) == 0
        rows[model] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [r["block"] for r in rows[model]] == [NONE] + [f"rblock{s}.{i}" for s in (1, 2) for i in range(3)]
    residual, plain = ([r["test_acc"] for r in rows[m]] for m in ("residual", "plain"))
    assert residual[0] > 0.99 and plain[0] > 0.97
    assert min(residual[1:]) > residual[0] - 0.01  # every lesion costs Residual ×3 under a point
    assert max(plain[1:]) < 0.5  # any lesion breaks Plain ×3


@needs_shipped
@pytest.mark.slow
@SHIPPED_LESION_GROUP  # the lesion rows are computed once for both (the server-wide memo)
def test_inspect_lesion_tab_on_the_shipped_checkpoints(monkeypatch, tmp_path):
    fresh_app(monkeypatch)
    at = open_app("app_pages/inspect.py", 180)
    at.radio(key="inspect_model").set_value("inception").run()
    assert any("applies to the Residual and Plain" in i.value for i in at.info)
    at.radio(key="inspect_model").set_value("residual").run()
    assert_clean(at)
    picker = at.selectbox(key="lesion_ckpt_residual")
    assert "lesion/residual-3.pt" in picker.options[picker.index]  # starts on the ×3 checkpoint
    at.button(key="lesion_run_residual").click().run(timeout=180)
    assert_clean(at)
    sentences = [m.value for m in at.markdown if "block" in m.value and "%" in m.value]
    assert any(s.startswith("Removing any one block costs Residual ×3") for s in sentences)
    assert any(s.startswith("Plain ×3 falls from") for s in sentences)
    spec = charts(at)["lesion_chart"]
    assert [t["name"] for t in spec["data"] if t["type"] == "bar"] == ["Residual ×3", "Plain ×3"]
    assert any("with every block" in t["name"] for t in spec["data"] if t["type"] == "scatter")
    table = at.dataframe[-1].value
    assert list(table["block removed"]) == [NONE] + [f"rblock{s}.{i}" for s in (1, 2) for i in range(3)]
    for model, path in SHIPPED_LESION.items():  # all 10,000 digits, nothing removed: the accuracy recorded
        recorded = torch.load(path, weights_only=True)["metrics"]["test_acc"]
        column = f"{title(model)} ×3: test accuracy"
        assert table[column].iloc[0] == pytest.approx(100 * recorded, abs=0.006), column
        assert (table[column].iloc[1:] < 50).all() if model == "plain" else (table[column].iloc[1:] > 98).all()
    picker.set_value("shipped:residual.pt").run()  # one block per stage: the note says why there is little to see
    assert any("half" in i.value for i in at.info)
