"""+1 epoch: resuming from the saved train state equals training straight through, and the run dir's side
of an extension (one at a time, a failed one leaves the run as it was, the abandoned partial epoch dropped)."""

from __future__ import annotations

import pytest

from netlib.runs.files import TRAIN_STATE
from netlib.runs.reader import read_status
from netlib.runs.writer import RunWriter
from netlib.engine.loop import fit
from steering_support import config, data, events_of  # noqa: F401  (data: a module fixture)


# ---------------------------------------------------------------- +1 epoch
def test_two_epochs_then_one_more_equals_three_epochs(data):
    """With a constant schedule, resuming from the saved train state is exact: same losses, same weights."""
    straight = events_of(config(epochs=3, batch_size=64), data)
    states = []
    first = events_of(config(epochs=2, batch_size=64), data, on_train_state=states.append)
    more = []
    result = fit(config(epochs=1, batch_size=64), data, on_event=more.append, resume=states[-1])
    epochs = [e for e in first + more if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    assert more[0]["first_epoch"] == 3 and more[0]["epochs"] == 3
    want = [e["train_loss"] for e in straight if e["event"] == "epoch"]
    assert [e["train_loss"] for e in epochs] == pytest.approx(want, rel=1e-6)
    assert result["epochs_completed"] == 3


def test_fast_recipe_resume_restores_moving_average_and_optimizer(data):
    """AdamW + EMA + augmentation at a constant rate: 2 epochs then 1 more equals 3 straight, so the
    moving average, its step count, Adam's moments and the generator all came back."""
    cfg = lambda epochs: config(recipe="fast", epochs=epochs, batch_size=64, schedule="constant")  # noqa: E731
    straight = [e for e in events_of(cfg(3), data) if e["event"] == "epoch"]
    states = []
    events_of(cfg(2), data, on_train_state=states.append)
    more = [e for e in events_of(cfg(1), data, resume=states[-1]) if e["event"] == "epoch"]
    assert more[0]["epoch"] == 3
    assert more[0]["train_loss"] == pytest.approx(straight[2]["train_loss"], rel=1e-6)
    assert more[0]["test_loss"] == pytest.approx(straight[2]["test_loss"], rel=1e-6)
    assert more[0]["elapsed"] > states[-1]["elapsed"]  # the run's clock goes on


def test_resume_trains_on_at_the_saved_learning_rate(data):
    states = []
    events_of(config(recipe="fast", epochs=2, batch_size=64), data, on_train_state=states.append)
    final_lr = states[-1]["lr"]
    more = events_of(config(recipe="fast", epochs=1, batch_size=64), data, resume=states[-1])
    assert all(e["lr"] == pytest.approx(final_lr) for e in more if e["event"] == "batch")
    first_loss = next(e for e in more if e["event"] == "batch")["loss"]
    assert first_loss < 2.0  # trained weights, not a fresh network at ln(10) = 2.3


def test_a_second_extension_of_the_same_run_is_refused(tmp_path):
    from netlib.runs.files import EXTEND_LOCK, RunBusy

    run = tmp_path / "r"
    RunWriter(run, {"model": "residual"}).close()
    first = RunWriter(run, {"model": "residual"}, extending=True)
    with pytest.raises(RunBusy, match="already being extended"):
        RunWriter(run, {"model": "residual"}, extending=True)
    first.close()
    assert not (run / EXTEND_LOCK).exists()
    RunWriter(run, {"model": "residual"}, extending=True).close()  # free again
    (run / EXTEND_LOCK).write_text(str(2 ** 22 + 7))  # left by a killed extension: not a holder
    RunWriter(run, {"model": "residual"}, extending=True).close()


def test_an_extension_that_trains_nothing_leaves_the_run_as_it_was(tmp_path):
    run = tmp_path / "r"
    w = RunWriter(run, {"model": "residual"})
    w.on_event({"event": "epoch", "epoch": 2, "epochs": 2, "test_acc": 0.9})
    w.on_event({"event": "end", "status": "done", "reason": "", "epochs_completed": 2})
    w.close()
    ext = RunWriter(run, {"model": "residual"}, extending=True)
    assert read_status(run)["status"] == "running" and read_status(run)["epoch"] == 2
    ext.fail("cannot load MNIST")
    ext.close()
    status = read_status(run)
    assert status["status"] == "done" and status["epoch"] == 2
    assert status["reason"] == "+1 epoch failed: cannot load MNIST"


def test_extended_run_drops_the_abandoned_partial_epoch(tmp_path):
    from netlib.runs.reader import read_run

    run = tmp_path / "r"
    w = RunWriter(run, {"model": "residual"})
    w.on_event({"event": "start", "first_epoch": 1, "epochs": 5})
    w.on_event({"event": "batch", "epoch": 1, "batch": 10, "batches": 20, "lr": 0.1})
    w.on_event({"event": "epoch", "epoch": 1, "epochs": 5, "lr": 0.1})
    w.on_event({"event": "lr_change", "epoch": 2, "batch": 3, "batches": 20, "from": 0.1, "to": 9.0})
    w.on_event({"event": "batch", "epoch": 2, "batch": 10, "batches": 20, "lr": 9.0})
    w.on_event({"event": "end", "status": "diverged", "reason": "loss became nan"})
    w.close()
    ext = RunWriter(run, {"model": "residual"}, extending=True)
    ext.on_event({"event": "start", "first_epoch": 2, "epochs": 2, "lr": 0.01})
    ext.on_event({"event": "batch", "epoch": 2, "batch": 10, "batches": 20, "lr": 0.01})
    ext.close()
    info = read_run(run)
    assert [(b["epoch"], b["lr"]) for b in info.batches] == [(1, 0.1), (2, 0.01)]
    assert not any(e["event"] == "lr_change" for e in info.events)


def test_extending_a_live_run_is_refused(tmp_path):
    from netlib.cli.main import main

    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})  # status running, pid = this process
    assert main(["train", "--extend", str(writer.dir)]) == 2
    writer.close()


def test_extending_a_run_without_train_state_is_refused(tmp_path, capsys):
    from netlib.cli.main import main

    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})
    writer.on_event({"event": "end", "status": "stopped", "reason": "stopped by request"})
    writer.close()
    assert main(["train", "--extend", str(writer.dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train state" in err[0]


@pytest.mark.parametrize("content", [b"", b"\0" * 4096, b"not a torch file\n"])
def test_extending_a_run_with_a_damaged_train_state_exits_1_in_one_line(content, tmp_path, capsys):
    """A damaged train_state.pt is an unusable file like a damaged checkpoint (exit 1), whatever its size:
    a growing file read before it passes the size bound must end the same way as one read after."""
    from netlib.cli.main import main

    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})
    writer.on_event({"event": "end", "status": "stopped", "reason": "stopped by request"})
    writer.close()
    (writer.dir / TRAIN_STATE).write_bytes(content)
    assert main(["train", "--extend", str(writer.dir)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("netlib: error: cannot read") and TRAIN_STATE in err[0], err
    assert "weights_only" not in err[0] and len(err[0]) < 250, err  # torch's advice is not passed on


# ---------------------------------------------------------------- the rate +1 epoch proposes
def test_plus_one_epoch_after_a_decayed_schedule_proposes_a_rate_that_moves_the_network():
    """OneCycle ends at its peak / 1000 (0.005 -> 0.000005): an epoch at that rate moves nothing, so +1
    epoch proposes a tenth of the peak, and says why; a constant schedule goes on at its own rate."""
    from netlib.lab.steering import extension_rate

    onecycle = {"recipe": {"schedule": "onecycle", "lr": 0.005}}
    proposal = extension_rate(onecycle, ended_at=7.665e-6)
    assert proposal.lr == pytest.approx(5e-4)
    assert "0.005" in proposal.why and "7.665e-06" in proposal.why and "tenth" in proposal.why
    assert extension_rate(onecycle, ended_at=0.004).lr == pytest.approx(0.004)  # stopped near the peak
    assert extension_rate({"recipe": {"schedule": "constant", "lr": 0.01}}, ended_at=0.01).lr == 0.01
    assert extension_rate({}, ended_at=None).lr > 0  # a config.json without a recipe still gets a rate
