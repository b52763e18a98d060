"""Tests for netlib.analysis.evaluation (confusion matrix, per-class accuracy, misread digits) and
`python -m netlib evaluate`. Checkpoint uploads (netlib.lab.uploads) are in test_evaluation_uploads.py."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from netlib.cli.main import main as cli_main
from netlib.data import normalize
from netlib.charts.evaluation import confusion_figure, per_class_figure
from netlib.analysis.evaluation import (confusion_matrix, evaluate, format_report, per_class_accuracy,
                                        summarize)
from support import SHIPPED_BY_MODEL as SHIPPED


class FixedLogits(nn.Module):
    """A fake network: the logits of sample i are the first 10 pixels of its input's top row, so a test
    chooses every answer by hand. Records (in a class-level list: evaluate works on a copy of the
    model) each forward pass's batch size and whether gradients were on."""

    calls: list = []

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        type(self).calls.append((len(x), torch.is_grad_enabled()))
        return x[:, 0, 0, :10] * self.scale


def inputs(logits) -> torch.Tensor:
    """N x 1 x 28 x 28 float inputs carrying the given N x 10 logits."""
    logits = torch.as_tensor(logits, dtype=torch.float32)
    x = torch.zeros(len(logits), 1, 28, 28)
    x[:, 0, 0, :10] = logits
    return x


def one_hot_logits(answers, confidence) -> list[list[float]]:
    """Logits whose argmax is answers[i] with softmax probability confidence[i] (the rest shared evenly)."""
    out = []
    for a, p in zip(answers, confidence):
        rest = (1 - p) / 9
        row = [float(np.log(rest))] * 10
        row[a] = float(np.log(p))
        out.append(row)
    return out


# ---------------------------------------------------------------- the computations
def test_confusion_matrix_counts_rows_true_columns_read():
    c = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], classes=3)
    assert c.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert c.dtype.kind == "i" and c.sum() == 6


def test_per_class_accuracy_is_diagonal_over_row_and_nan_for_an_absent_class():
    acc = per_class_accuracy(np.array([[3, 1, 0], [0, 0, 0], [1, 0, 4]]))
    assert acc[0] == pytest.approx(0.75) and acc[2] == pytest.approx(0.8)
    assert np.isnan(acc[1])


def test_evaluate_a_fixed_network_gives_hand_computed_answers():
    labels = [3, 3, 5, 7, 0, 1]
    answers = [3, 8, 5, 1, 0, 9]  # three wrong: #1 (3->8), #3 (7->1), #5 (1->9)
    confidence = [0.9, 0.6, 0.7, 0.95, 0.5, 0.8]
    ev = evaluate(FixedLogits(), inputs(one_hot_logits(answers, confidence)), labels, batch_size=4)
    assert ev.predictions.tolist() == answers
    assert ev.accuracy == pytest.approx(3 / 6)
    assert ev.wrong == 3 and ev.count == 6
    assert ev.misclassified.tolist() == [3, 5, 1]  # most confident wrong answer first: 0.95, 0.8, 0.6
    assert ev.confusion.sum() == 6 and ev.confusion.shape == (10, 10)
    assert ev.confusion[3, 3] == 1 and ev.confusion[3, 8] == 1 and ev.confusion[7, 1] == 1
    assert ev.confusion.sum(axis=1).tolist() == np.bincount(labels, minlength=10).tolist()
    assert ev.per_class[3] == pytest.approx(0.5) and ev.per_class[7] == 0 and ev.per_class[5] == 1
    assert np.isnan(ev.per_class[2])  # no 2 in this set
    np.testing.assert_allclose(ev.top_probs[:, 0], confidence, rtol=1e-5)
    assert ev.top_digits[:, 0].tolist() == answers


def test_top3_are_sorted_and_their_probabilities_are_right():
    logits = torch.full((1, 10), -5.0)
    logits[0, 4], logits[0, 9], logits[0, 7] = 2.0, 3.0, 1.0
    ev = evaluate(FixedLogits(), inputs(logits), [4])
    probs = torch.softmax(logits, dim=1)[0]
    assert ev.top_digits[0].tolist() == [9, 4, 7]
    np.testing.assert_allclose(ev.top_probs[0], probs[[9, 4, 7]].numpy(), rtol=1e-6)
    assert ev.true_probs[0] == pytest.approx(float(probs[4]))
    assert ev.misclassified.tolist() == [0]


def test_equal_confidence_mistakes_keep_test_set_order():
    logits = torch.full((4, 10), -1e4)
    logits[torch.arange(4), torch.tensor([1, 2, 3, 4])] = 10.0  # every answer exactly 100% sure
    ev = evaluate(FixedLogits(), inputs(logits), [0, 0, 0, 0])
    assert (ev.top_probs[:, 0] == 1.0).all()
    assert ev.misclassified.tolist() == [0, 1, 2, 3]


def test_batching_does_not_change_the_answers_and_gradients_stay_off():
    rng = np.random.default_rng(0)
    logits, labels = rng.normal(size=(23, 10)), rng.integers(0, 10, 23)
    class Net(FixedLogits):
        calls = []

    net = Net()
    net.train()
    whole = evaluate(net, inputs(logits), labels, batch_size=100)
    parts = evaluate(net, inputs(logits), labels, batch_size=5)
    assert [n for n, _ in Net.calls] == [23, 5, 5, 5, 5, 3]
    assert not any(grad for _, grad in Net.calls)
    assert net.training and net.scale.grad is None  # the caller's model is left as it was
    np.testing.assert_array_equal(whole.confusion, parts.confusion)
    np.testing.assert_array_equal(whole.misclassified, parts.misclassified)
    np.testing.assert_allclose(whole.top_probs, parts.top_probs, rtol=1e-6)


def test_uint8_images_are_normalised_like_training():
    seen = []

    class Spy(FixedLogits):
        def forward(self, x):
            seen.append(x.clone())
            return torch.zeros(len(x), 10)

    images = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    evaluate(Spy(), images, [0, 1, 2])
    torch.testing.assert_close(seen[0], normalize(images))


def test_misread_filters_by_true_digit_and_by_reading():
    labels = [7, 7, 7, 2, 1]
    answers = [1, 2, 1, 7, 7]
    ev = evaluate(FixedLogits(), inputs(one_hot_logits(answers, [0.6, 0.9, 0.7, 0.8, 0.5])), labels)
    assert ev.misread().tolist() == [1, 3, 2, 0, 4]
    assert ev.misread(true=7).tolist() == [1, 2, 0]
    assert ev.misread(true=7, read=1).tolist() == [2, 0]
    assert ev.misread(read=7).tolist() == [3, 4]
    assert ev.misread(true=3).tolist() == []


def test_summary_is_json_and_the_report_shows_the_matrix():
    ev = summarize([0, 1, 1], torch.eye(10)[[0, 1, 0]], seconds=0.5)
    data = json.loads(json.dumps(ev.to_dict()))
    assert data["accuracy"] == pytest.approx(2 / 3) and data["wrong"] == 1
    assert data["confusion"][1][0] == 1 and data["per_class"][2] is None
    assert data["most_confident_mistakes"] == [{"index": 2, "label": 1, "read": 0, "probability": 1.0}]
    text = format_report(ev)
    assert "66.67%" in text and "1 of 3 wrong" in text and "rows: true digit" in text


def test_confusion_figure_shows_every_count_and_errors_on_their_own_scale():
    c = np.diag([980, 1130, 1000, 1000, 980, 890, 950, 1020, 970, 1000])
    c[7, 2], c[4, 9] = 4, 1
    spec = json.loads(confusion_figure(c).to_json())
    texts = [t for t in spec["data"] if t.get("texttemplate")]
    assert texts and texts[0]["text"][7][2] == "4" and texts[0]["text"][0][0] == "980" and texts[0]["text"][0][1] == ""
    errors = [t for t in spec["data"] if t.get("name") == "misread"][0]
    assert errors["zmax"] == 4  # scaled to the worst mistake, not to the ~1,000s on the diagonal
    assert spec["layout"]["yaxis"]["autorange"] == "reversed"  # digit 0 at the top
    bars = json.loads(per_class_figure(np.full(10, 0.99)).to_json())["data"][0]
    assert len(bars["x"]) == 10


@pytest.mark.slow
@pytest.mark.parametrize("model", ["residual", "inception"])
def test_shipped_checkpoint_accuracy_matches_its_record(model):
    """On all 10,000 MNIST test digits the evaluation gives the accuracy training recorded."""
    from netlib.analysis.evaluation import evaluate_checkpoint

    if not SHIPPED[model].is_file():
        pytest.skip("shipped checkpoint not present")
    ev, meta = evaluate_checkpoint(SHIPPED[model])
    print(f"{model}: {ev.count} digits in {ev.seconds:.2f} s ({torch.get_num_threads()} thread(s))")
    assert ev.count == 10_000 and ev.confusion.sum() == 10_000
    assert ev.accuracy == pytest.approx(meta["metrics"]["test_acc"], abs=1e-4)
    assert ev.wrong == round(10_000 * (1 - ev.accuracy))
    assert (ev.top_probs[ev.misclassified, 0] >= ev.true_probs[ev.misclassified]).all()
    assert np.all(np.diff(ev.top_probs[ev.misclassified, 0]) <= 0)


# ---------------------------------------------------------------- the command line
@pytest.mark.parametrize("argv, says", [
    (["evaluate"], "--checkpoint"),
    (["evaluate", "--checkpoint", "x.pt", "--threads", "0"], "greater than 0"),
    (["evaluate", "--checkpoint", "x.pt", "--bogus"], "--bogus"),
])
def test_cli_evaluate_bad_arguments_exit_2_with_one_line(argv, says, capsys):
    assert cli_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("netlib: error:") and "\n" not in err and says in err


def test_cli_evaluate_refuses_a_missing_or_broken_checkpoint(tmp_path, capsys):
    assert cli_main(["evaluate", "--checkpoint", str(tmp_path / "nope.pt")]) == 1
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    assert cli_main(["evaluate", "--checkpoint", str(tmp_path / "bad.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no such checkpoint" in err[0] and "bad.pt" in err[1]


@pytest.mark.slow
def test_cli_evaluate_json(capsys):
    if not SHIPPED["residual"].is_file():
        pytest.skip("shipped checkpoint not present")
    assert cli_main(["evaluate", "--checkpoint", str(SHIPPED["residual"]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "residual" and out["samples"] == 10_000
    assert sum(map(sum, out["confusion"])) == 10_000 and len(out["per_class"]) == 10
