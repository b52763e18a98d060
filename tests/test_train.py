"""Tests for the training engine (netlib.engine.loop.fit) on synthetic digits: learning, events, stop,
determinism, divergence, schedules. Augmentation and recipe validation are in test_train_recipes.py."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from netlib.data import Dataset
from netlib.models import MODELS
from netlib.engine.loop import fit


def _run(config, data, **kw):
    events = []
    end = fit(config, data, on_event=events.append, **kw)
    return end, events


def _kinds(events):
    return [e["event"] for e in events]


# ---------------------------------------------------------------- learning
@pytest.mark.parametrize("model", list(MODELS))
def test_overfits_one_small_batch(model, make_dataset, make_config):
    small = make_dataset(64, 10)
    one_batch = Dataset(small.train_x, small.train_y, small.train_x, small.train_y)  # test on the same 64
    config = make_config(model, optimizer="adam", lr=3e-3, batch_size=64, epochs=40)  # 25 left plain at 63/64 on seed 0
    end, events = _run(config, one_batch)
    last = [e for e in events if e["event"] == "epoch"][-1]
    assert end["status"] == "done"
    assert last["test_acc"] == 1.0
    assert last["test_loss"] < 0.05, last


def test_loss_goes_down_on_synthetic_digits(synthetic_data, make_config):
    end, events = _run(make_config(epochs=3), synthetic_data)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]
    assert epochs[-1]["test_loss"] < math.log(10) - 0.5


def test_epoch_test_loss_is_the_mean_loss_per_sample(synthetic_data, make_config):
    end, events = _run(make_config(epochs=1), synthetic_data)
    epoch = [e for e in events if e["event"] == "epoch"][-1]
    model = end["model"].eval()
    with torch.no_grad():
        out = model(synthetic_data.test_x)
    expected_loss = F.cross_entropy(out, synthetic_data.test_y).item()
    expected_acc = (out.argmax(1) == synthetic_data.test_y).float().mean().item()
    assert epoch["test_loss"] == pytest.approx(expected_loss, rel=1e-4)
    assert epoch["test_acc"] == pytest.approx(expected_acc, abs=1e-6)


# ---------------------------------------------------------------- events
def test_event_order(synthetic_data, make_config):
    # 320 samples, batch 16: 20 steps per epoch, so several batch events per epoch.
    end, events = _run(make_config(batch_size=16, epochs=3), synthetic_data)
    kinds = _kinds(events)
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("start") == 1 and kinds.count("end") == 1
    assert kinds.count("epoch") == 3
    assert set(kinds[1:-1]) == {"batch", "epoch"}
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2, 3]
    # Each epoch's batch events come before its epoch event and after the previous one.
    current = 1
    for e in events[1:-1]:
        assert e["epoch"] == current
        if e["event"] == "epoch":
            current += 1
        assert e["event"] != "batch" or 1 <= e["batch"] <= e["batches"] == 20
    batches_of_epoch_1 = [e["batch"] for e in events if e["event"] == "batch" and e["epoch"] == 1]
    assert batches_of_epoch_1 == sorted(batches_of_epoch_1) and batches_of_epoch_1[-1] == 20
    assert end is not None and end["event"] == "end" and end["status"] == "done"


def test_epoch_events_carry_metrics(synthetic_data, make_config):
    _, events = _run(make_config(epochs=2), synthetic_data)
    epochs = [e for e in events if e["event"] == "epoch"]
    assert len(epochs) == 2
    for e in epochs:
        for key in ("train_loss", "test_loss"):
            assert isinstance(e[key], float) and math.isfinite(e[key]) and e[key] >= 0
        assert 0.0 <= e["test_acc"] <= 1.0
        assert 0.0 <= e["train_acc"] <= 1.0
        assert e["seconds"] > 0
        assert e["samples_per_s"] > 0
        assert e["samples_per_s"] == pytest.approx(len(synthetic_data.train_x) / e["seconds"])


def test_start_and_end_events_describe_the_run(synthetic_data, make_config):
    end, events = _run(make_config(batch_size=32, epochs=2), synthetic_data)
    start = events[0]
    assert (start["model"], start["samples"], start["test_samples"], start["epochs"],
            start["steps_per_epoch"]) == ("residual", 320, 200, 2, 10)
    last = events[-1]
    assert last["status"] == "done" and last["reason"] == ""
    assert last["epochs_completed"] == 2
    assert last["test_acc"] == events[-2]["test_acc"]


def test_events_are_not_changed_after_they_are_emitted(synthetic_data, make_config):
    # Listeners may keep events (a live chart, a session's history): what they got must stay as sent.
    kept, snapshots = [], []

    def listener(e):
        kept.append(e)
        snapshots.append(json.dumps(e))

    fit(make_config(epochs=1), synthetic_data, on_event=listener)
    assert [json.dumps(e) for e in kept] == snapshots


def test_limit_trains_on_the_first_n_images(synthetic_data, make_config):
    _, events = _run(make_config(limit=96, batch_size=32), synthetic_data)
    assert events[0]["samples"] == 96
    assert events[0]["steps_per_epoch"] == 3


# ---------------------------------------------------------------- stop
def test_stop_within_the_first_epoch(synthetic_data, make_config):
    polls = {"n": 0}

    def should_stop():
        polls["n"] += 1
        return polls["n"] > 3  # three batches run, the fourth poll stops

    trained = []
    end, events = _run(make_config(batch_size=16, epochs=3), synthetic_data, should_stop=should_stop,
                       on_checkpoint=lambda model, e: trained.append(e))
    assert end["status"] == "stopped"
    assert "epoch" not in _kinds(events)
    assert trained == []
    assert _kinds(events)[-1] == "end"
    assert end["epochs_completed"] == 0
    assert polls["n"] == 4  # nothing was polled (or trained) after the stop


def test_stop_in_a_later_epoch_keeps_the_finished_epochs(synthetic_data, make_config):
    seen = []

    def listener(e):
        seen.append(e)

    # 320 / 32 = 10 steps per epoch: stop after 15 batches, in the middle of epoch 2.
    polls = {"n": 0}

    def should_stop():
        polls["n"] += 1
        return polls["n"] > 15

    end = fit(make_config(batch_size=32, epochs=4), synthetic_data, on_event=listener, should_stop=should_stop)
    assert end["status"] == "stopped"
    assert "epoch 2" in end["reason"]
    assert [e["epoch"] for e in seen if e["event"] == "epoch"] == [1]
    after_stop = seen[[i for i, e in enumerate(seen) if e["event"] == "epoch"][0] + 1:]
    assert _kinds(after_stop) == ["end"]  # no batch of epoch 2 reached an event (15 < 20), no epoch event
    assert end["epochs_completed"] == 1


# ---------------------------------------------------------------- determinism
def _losses(events):
    return [(e["event"], e.get("loss"), e.get("train_loss"), e.get("test_loss"), e.get("test_acc"))
            for e in events if e["event"] in ("batch", "epoch")]


def test_same_seed_gives_identical_losses(synthetic_data, make_config):
    # augment=True so the seeded generator's shuffling and affine draws are covered too.
    config = make_config(batch_size=16, epochs=2, augment=True, seed=7)
    _, a = _run(config, synthetic_data)
    _, b = _run(config, synthetic_data)
    assert _losses(a) == _losses(b)
    assert len(_losses(a)) >= 4


def test_different_seed_gives_different_losses(synthetic_data, make_config):
    _, a = _run(make_config(batch_size=16, epochs=1, seed=1), synthetic_data)
    _, b = _run(make_config(batch_size=16, epochs=1, seed=2), synthetic_data)
    assert _losses(a) != _losses(b)


# ---------------------------------------------------------------- divergence
def test_divergence_is_reported_not_raised(make_dataset, make_config):
    end, events = _run(make_config(optimizer="sgd", lr=10, batch_size=64, epochs=3), make_dataset(512, 100))
    assert end["status"] == "diverged"
    assert "learning rate" in end["reason"]
    assert "10" in end["reason"]  # says which lr it was
    assert _kinds(events)[-1] == "end" and events[-1]["status"] == "diverged"
    assert "epoch" not in _kinds(events)  # no epoch was reported with a non-finite loss


# ---------------------------------------------------------------- learning-rate schedules
@pytest.mark.parametrize("warmup,total_steps", [(None, 3), (None, 4), (None, 5), (0.25, 4), (0.5, 2), (0.1, 10)])
def test_onecycle_runs_with_very_few_steps(warmup, total_steps, make_dataset, make_config):
    # `train --limit 512 --epochs 1` with the default recipe (batch 128, onecycle) is 4 steps in all;
    # warmup * steps == 1 leaves OneCycleLR a warm-up phase of zero length.
    data = make_dataset(32 * total_steps, 50)
    config = make_config(optimizer="adamw", lr=3e-3, schedule="onecycle", warmup=warmup, batch_size=32, epochs=1)
    end, _ = _run(config, data)
    assert end["status"] == "done"


def test_onecycle_peaks_at_the_recipe_lr(make_dataset, make_config):
    data = make_dataset(32 * 20, 50)  # 20 steps per epoch, batch events every 10
    config = make_config(optimizer="adamw", lr=2e-3, schedule="onecycle", batch_size=32, epochs=2)
    _, events = _run(config, data)
    lrs = [e["lr"] for e in events if e["event"] == "batch"]
    assert max(lrs) <= 2e-3 * (1 + 1e-6)
    assert lrs[-1] < 2e-3 / 10  # annealed by the end


# ---------------------------------------------------------------- augmentation
def test_training_with_augmentation_runs(synthetic_data, make_config):
    end, events = _run(make_config(augment=True, epochs=1), synthetic_data)
    assert end["status"] == "done"
    epoch = [e for e in events if e["event"] == "epoch"][0]
    assert math.isfinite(epoch["train_loss"])
