"""Fine-tuning as a run request: from a checkpoint, on a handwriting set's training digits, with MNIST replay;
the held-out digits tested every epoch and never trained on; what changed, measured; bad sets refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from netlib.checkpoint import load_checkpoint
from netlib.data import normalize
from netlib.engine.finetune import MIN_STEPS, Tuning, plan
from netlib.engine.loop import fit
from netlib.engine.setup import train_config
from netlib.handwriting import tuning
from netlib.handwriting.changes import compute
from netlib.handwriting.data import with_set
from netlib.handwriting.sets import (EXAMPLE_SET, SetError, add_example, create_set, handwriting_dir, load_set,
                                     write_set)
from netlib.request import RequestError, RunRequest
from netlib.runs.labels import tuned_words

SHIPPED = "checkpoints/residual.pt"


def fine_tuning(repo_root, variant="last", **options):
    req = tuning.request("residual", repo_root / SHIPPED, EXAMPLE_SET, variant, device="cpu", epochs=1, **options)
    return train_config(req)


def test_a_fine_tuning_request_flows_through_the_request_and_its_command_line(repo_root):
    req = tuning.request("residual", repo_root / SHIPPED, EXAMPLE_SET, "replay")
    again = RunRequest.from_dict(req.to_dict())
    assert again == req and again.tune == "all" and again.replay == tuning.REPLAY
    words = req.command()
    assert words[words.index("--handwriting") + 1] == EXAMPLE_SET and "--start-from" in words
    assert tuning.variant_of(req.to_dict()) == "replay"


def test_a_last_layer_run_with_replay_is_labelled_with_its_replay(repo_root):
    req = tuning.request("residual", repo_root / SHIPPED, EXAMPLE_SET, "last", replay=0.5).to_dict()
    assert tuning.label(req).startswith("last layer only with MNIST replay on ")
    assert tuning.variant_of(req) not in ("last", "all", "replay")  # not counted as one of the lesson's three
    assert tuned_words({"request": req}).endswith("(last layer only with MNIST replay)")  # listings, Train


@pytest.mark.parametrize("options, message", [
    ({"tune": "all"}, "goes with --start-from"),
    ({"replay": 0.5}, "goes with --start-from"),
    ({"start_from": SHIPPED}, "needs both"),
    ({"handwriting": EXAMPLE_SET}, "needs both"),
    ({"start_from": "checkpoints/inception.pt", "handwriting": EXAMPLE_SET}, "checkpoint of inception"),
])
def test_a_fine_tuning_request_that_cannot_train_is_refused_in_one_line(repo_root, monkeypatch, options, message):
    monkeypatch.chdir(repo_root)
    with pytest.raises(ValueError, match=message) as e:
        plan(RunRequest(model="residual", **options))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("value", [-0.1, 0.95, "half", True])
def test_replay_outside_0_to_0_9_is_refused(value):
    with pytest.raises(RequestError, match="replay"):
        RunRequest(model="residual", replay=value)


def test_fine_tuning_reports_the_held_out_accuracy_before_each_epoch_and_at_the_end(repo_root, synthetic_data):
    config = fine_tuning(repo_root, "replay")
    assert config.recipe.ema == 0.0 and config.finetune["tune"] == "all"
    events = []
    end = fit(config, with_set(synthetic_data, config.finetune), on_event=events.append)
    start = events[0]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert start["finetune"]["set_train"] == 50 and start["finetune"]["set_held_out"] == 10
    assert start["finetune"]["set_per_batch"] + start["finetune"]["replay_per_batch"] == config.recipe.batch_size
    model, _ = load_checkpoint(repo_root / SHIPPED)
    s = load_set(None, EXAMPLE_SET)
    with torch.no_grad():
        read = model(normalize(s.test_images)).argmax(1)
    assert start["held_out_acc_before"] == pytest.approx((read.numpy() == s.test_labels).mean())
    assert 0.0 <= epochs[-1]["held_out_acc"] <= 1.0 and end["held_out_acc"] == epochs[-1]["held_out_acc"]


def test_last_layer_only_changes_the_final_layer_and_nothing_else(repo_root, synthetic_data):
    config = fine_tuning(repo_root, "last")
    end = fit(config, with_set(synthetic_data, config.finetune))
    before, _ = load_checkpoint(repo_root / SHIPPED)
    after = {k: v.contiguous() for k, v in end["model"].state_dict().items()}
    moved = sorted(k for k, v in before.state_dict().items() if not torch.equal(v, after[k]))
    assert moved == ["fc.bias", "fc.weight"]


def test_the_held_out_digits_are_never_in_a_training_batch(repo_root, synthetic_data):
    config = fine_tuning(repo_root, "all", replay=0.5)
    data = with_set(synthetic_data, config.finetune)
    t = Tuning(config.finetune, data, load_checkpoint(repo_root / SHIPPED)[0], "residual", torch.device("cpu"))
    steps = t.steps(32)
    assert (t.k, t.r) == (16, 16) and steps == MIN_STEPS  # half MNIST; 50 digits would be 4 steps
    order = t.order(torch.Generator().manual_seed(0))
    seen = torch.cat([t.batch(order, i)[0][:t.k] for i in range(steps)]).flatten(1)
    held = data.held_x.flatten(1)
    assert not any(torch.equal(h, x) for h in held for x in seen)
    train_seen = {tuple(x.tolist()) for x in seen}
    assert len(train_seen) == len(data.set_y)  # every training digit, at least once an epoch


def small_set(root, labels):
    create_set(root, "tiny")
    for i, y in enumerate(labels):
        a = np.zeros((28, 28), np.uint8)
        a[5:23, 8 + i % 8:12 + i % 8] = 255
        add_example(root, "tiny", a, y)


@pytest.mark.parametrize("labels, message", [
    ([], "empty"), ([3, 3, 3], "only 3s"), ([1, 2], "too small to hold a digit out")])
def test_a_set_it_cannot_learn_from_is_refused_before_it_is_queued_and_the_set_is_kept(
        repo_root, synthetic_data, labels, message):
    root = handwriting_dir()
    small_set(root, labels)
    with pytest.raises(SetError, match=message) as e:
        tuning.request("residual", repo_root / SHIPPED, "tiny", "last")
    assert "\n" not in str(e.value)
    with pytest.raises(SetError, match=message):
        with_set(synthetic_data, {"handwriting": "tiny"})
    assert len(load_set(root, "tiny")) == len(labels)


@pytest.mark.parametrize("labels, held, message", [
    ([1, 2, 3], [True] * 3, "no digit left to train on"),
    ([3, 3, 7], [False, False, True], "trains on 3s only"),
])
def test_an_imported_split_it_cannot_learn_from_is_refused_before_it_is_queued(
        repo_root, synthetic_data, labels, held, message):
    images = np.zeros((len(labels), 28, 28), np.uint8)
    images[:, 5:23, 10:14] = 255
    write_set(handwriting_dir(), "imported", images, labels, held)  # as a zip's set.json gave the split
    with pytest.raises(SetError, match=message) as e:
        tuning.request("residual", repo_root / SHIPPED, "imported", "all")
    assert "\n" not in str(e.value)
    with pytest.raises(SetError, match=message):
        with_set(synthetic_data, {"handwriting": "imported"})


def test_what_changed_counts_the_set_digits_read_differently(repo_root, synthetic_data):
    before, _ = load_checkpoint(repo_root / SHIPPED)
    s = load_set(None, EXAMPLE_SET)
    same = compute(before, before, s, synthetic_data.test_x, synthetic_data.test_y)
    assert same["changed"] == [] and same["mnist"]["before"] == same["mnist"]["after"]
    assert same["held_out"]["n"] == 10 and same["held_out"]["per_digit"]["count"] == [1] * 10
    other, _ = load_checkpoint(repo_root / "checkpoints/inception.pt")
    diff = compute(before, other, s, synthetic_data.test_x, synthetic_data.test_y)
    assert diff["changed"], "two networks read the example writer's digits differently"
    for c in diff["changed"]:
        assert c["before"] != c["after"] and c["label"] == s.labels[c["index"]]


def test_a_run_stopped_before_its_first_epoch_writes_no_changes(repo_root, synthetic_data, tmp_path):
    from netlib.handwriting.changes import read_changes
    from netlib.runs.training import train_into
    from netlib.runs.writer import RunWriter

    config = fine_tuning(repo_root, "all")
    writer = RunWriter(tmp_path / "run", config.to_dict())
    end = train_into(writer, config, with_set(synthetic_data, config.finetune), should_stop=lambda: True)
    assert end["status"] == "stopped" and end["epochs_completed"] == 0
    assert read_changes(tmp_path / "run") is None  # nothing to compare: no checkpoint was saved
