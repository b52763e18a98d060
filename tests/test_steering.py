"""Gradient flow recording, pause/resume, learning-rate changes and +1 epoch, in the engine and the run dir."""

from __future__ import annotations

import json
import time

import pytest
import torch
import torch.nn.functional as F

from netlib.data import Dataset, normalize, synthetic_digits
from netlib.models import build_model
from netlib.recipes import resolve_recipe
from netlib.lab.launch import start_run
from netlib.runs.control import read_control, request_stop, steer_run
from netlib.runs.files import CONTROL, TRAIN_STATE
from netlib.runs.reader import read_events, read_status
from netlib.runs.writer import RunWriter
from netlib.engine.loop import TrainConfig, fit
from netlib.engine.state import grad_layers
from netlib.engine.steering import Steering


@pytest.fixture(scope="module")
def data() -> Dataset:
    (tx, ty), (vx, vy) = synthetic_digits(640, seed=1), synthetic_digits(200, seed=2)
    return Dataset(normalize(tx), ty, normalize(vx), vy)


def config(model="residual", recipe="seed", **overrides) -> TrainConfig:
    kwargs = overrides.pop("model_kwargs", {})
    record = overrides.pop("record_grads", True)
    limit = overrides.pop("limit", None)
    return TrainConfig(model=model, recipe_name=recipe, recipe=resolve_recipe(recipe, model, **overrides),
                       model_kwargs=kwargs, threads=1, record_grads=record, limit=limit)


def events_of(cfg, data, **kw) -> list[dict]:
    events = []
    fit(cfg, data, on_event=events.append, **kw)
    return events


def polls(*answers: Steering, then: Steering = Steering()):
    """A steer() that gives these answers, one per batch boundary, then `then` forever."""
    it = iter(answers)
    return lambda: next(it, then)


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


# ---------------------------------------------------------------- steering in the engine
def test_learning_rate_change_applies_at_the_next_batch_and_is_logged(data):
    # seed recipe: constant lr 0.01; batch boundaries are polled before each of the 10 batches
    steer = polls(*[Steering()] * 3, then=Steering(lr=0.002))
    events = events_of(config(epochs=1, batch_size=64), data, steer=steer)
    changes = [e for e in events if e["event"] == "lr_change"]
    assert len(changes) == 1
    assert changes[0]["from"] == pytest.approx(0.01) and changes[0]["to"] == 0.002
    assert (changes[0]["epoch"], changes[0]["batch"]) == (1, 3)
    assert events.index(changes[0]) < next(i for i, e in enumerate(events) if e["event"] == "batch")
    assert [e["lr"] for e in events if e["event"] == "batch"] == [0.002]


def test_a_set_learning_rate_replaces_the_schedule(data):
    steer = polls(Steering(), then=Steering(lr=0.0007))
    events = events_of(config(recipe="fast", epochs=2, batch_size=64), data, steer=steer)
    lrs = [e["lr"] for e in events if e["event"] in ("batch", "epoch")]
    assert lrs and all(lr == 0.0007 for lr in lrs)


def test_back_to_schedule_rejoins_the_schedule_where_it_has_got_to(data):
    """OneCycle: set a rate for a while, then go back; from then on every batch's rate is the rate an
    unsteered run has at that batch (the schedule kept counting underneath)."""
    cfg = config(recipe="fast", epochs=2, batch_size=32)  # 20 batches per epoch, reports at 10 and 20
    plain = [(e["epoch"], e["batch"], e["lr"]) for e in events_of(cfg, data) if e["event"] == "batch"]
    steer = polls(Steering(), *[Steering(lr=0.0001)] * 12, then=Steering())  # batches 2-13 held at 1e-4
    events = events_of(cfg, data, steer=steer)
    changes = [e for e in events if e["event"] == "lr_change"]
    assert [(c["to"] == 0.0001, c["schedule"]) for c in changes] == [(True, False), (False, True)]
    steered = [(e["epoch"], e["batch"], e["lr"]) for e in events if e["event"] == "batch"]
    assert steered[0][2] == 0.0001  # batch 10: still held
    assert steered[1:] == pytest.approx(plain[1:])  # from batch 20 on: exactly the schedule's rates
    assert changes[1]["to"] == pytest.approx(dict(((e, b), lr) for e, b, lr in plain)[(1, 10)], rel=0.5)


def test_pause_holds_training_and_resume_goes_on(data):
    waited = []

    def steer():
        waited.append(time.perf_counter())
        return Steering(paused=2 <= len(waited) <= 31)  # paused for 30 polls of 0.1 s

    events = events_of(config(epochs=1, batch_size=64, limit=320), data, steer=steer)
    kinds = [e["event"] for e in events]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1
    pause, resume = events[kinds.index("pause")], events[kinds.index("resume")]
    assert (pause["epoch"], pause["batch"]) == (1, 1)
    assert resume["paused_seconds"] >= 2.9
    epoch = next(e for e in events if e["event"] == "epoch")
    # 5 batches of 64 train in well under the 3 s paused, which the epoch's time leaves out
    assert epoch["seconds"] < resume["paused_seconds"] - 1.5
    assert epoch["samples_per_s"] > 320 / 1.5
    assert events[-1]["status"] == "done"


def test_stop_while_paused_ends_the_run_stopped(data):
    asked = {"n": 0}

    def should_stop():
        asked["n"] += 1
        return asked["n"] > 4

    events = events_of(config(epochs=3, batch_size=64), data, steer=lambda: Steering(paused=True),
                       should_stop=should_stop)
    assert events[-1]["status"] == "stopped"
    assert not any(e["event"] == "batch" for e in events)


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


# ---------------------------------------------------------------- the run directory's side
def test_steer_run_can_go_back_to_the_schedule(tmp_path):
    steer_run(tmp_path, lr=0.003, paused=True)
    assert steer_run(tmp_path, schedule=True) == {"paused": True, "lr": None}


def test_steer_run_writes_control_and_the_writer_reads_it(tmp_path):
    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})
    assert writer.steering() == Steering()
    steer_run(writer.dir, paused=True)
    assert writer.steering() == Steering(paused=True)
    steer_run(writer.dir, lr=0.003)
    assert writer.steering() == Steering(paused=True, lr=0.003)
    steer_run(writer.dir, paused=False)
    assert writer.steering() == Steering(paused=False, lr=0.003)
    writer.close()


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "fast"])
def test_steer_run_refuses_a_bad_learning_rate(tmp_path, bad):
    with pytest.raises(ValueError, match="learning rate"):
        steer_run(tmp_path, lr=bad)
    assert not (tmp_path / CONTROL).exists()


def test_garbage_control_file_means_no_steering(tmp_path):
    (tmp_path / CONTROL).write_text('{"paused": "yes", "lr": -4}')
    assert read_control(tmp_path) == {"paused": False, "lr": None}
    (tmp_path / CONTROL).write_text("[1, 2")
    assert read_control(tmp_path) == {}


def test_pause_events_set_the_status_and_a_dead_paused_run_is_interrupted(tmp_path):
    writer = RunWriter(tmp_path / "r", {"model": "residual", "recipe_name": "fast", "recipe": {}})
    writer.on_event({"event": "pause", "epoch": 1, "batch": 3})
    assert read_status(writer.dir)["status"] == "paused"
    writer.on_event({"event": "resume", "epoch": 1, "batch": 3, "paused_seconds": 1.0})
    assert read_status(writer.dir)["status"] == "running"
    writer.on_event({"event": "pause", "epoch": 1, "batch": 3})
    writer.close()
    status = json.loads((writer.dir / "status.json").read_text())
    status["pid"] = 2 ** 22 + 7  # no such process
    (writer.dir / "status.json").write_text(json.dumps(status))
    assert read_status(writer.dir)["status"] == "interrupted"


def test_a_new_process_on_a_run_clears_old_steering(tmp_path):
    steer_run(tmp_path, paused=True, lr=0.5)
    writer = RunWriter(tmp_path, {"model": "residual"}, extending=True)
    assert writer.steering() == Steering()
    assert not (tmp_path / "config.json").exists()  # extending keeps the run's config as it was
    writer.close()


def _wait_for(predicate, timeout=120.0, what="condition"):
    t = time.time()
    while time.time() - t < timeout:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_real_run_pauses_changes_lr_resumes_and_extends(tmp_path):
    run = tmp_path / "run"
    args = ["--model", "residual", "--recipe", "seed", "--epochs", "2", "--batch-size", "32",
            "--synthetic", "3000", "--seed", "0", "--device", "cpu"]
    proc = start_run(run, args, threads=1)
    _wait_for(lambda: any(e["event"] == "batch" for e in read_events(run / "metrics.jsonl")),
              what="first batch")
    steer_run(run, paused=True)
    _wait_for(lambda: (read_status(run) or {}).get("status") == "paused", what="paused status")
    held = len(read_events(run / "metrics.jsonl"))
    time.sleep(1.0)
    assert len(read_events(run / "metrics.jsonl")) == held  # nothing trains while paused
    steer_run(run, lr=0.004)
    steer_run(run, paused=False)
    assert proc.wait(timeout=300) == 0
    events = read_events(run / "metrics.jsonl")
    kinds = [e["event"] for e in events]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1 and kinds.count("lr_change") == 1
    after = events[kinds.index("lr_change"):]
    assert all(e["lr"] == 0.004 for e in after if e["event"] == "batch")
    assert read_status(run)["status"] == "done" and (run / TRAIN_STATE).is_file()

    proc = start_run(run, ["--extend", str(run), "--epochs", "1"], threads=1)
    assert proc.wait(timeout=300) == 0, (run / "process.log").read_text()
    epochs = [e["epoch"] for e in read_events(run / "metrics.jsonl") if e["event"] == "epoch"]
    assert epochs == [1, 2, 3]
    assert read_status(run)["status"] == "done" and read_status(run)["epoch"] == 3
    assert json.loads((run / "config.json").read_text())["recipe"]["epochs"] == 2  # config kept


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


@pytest.mark.slow
def test_request_stop_still_stops_a_paused_process(tmp_path):
    run = tmp_path / "run"
    proc = start_run(run, ["--model", "residual", "--recipe", "seed", "--epochs", "50", "--synthetic", "500",
                           "--device", "cpu"], threads=1)
    _wait_for(lambda: (read_status(run) or {}).get("status") == "running", what="running status")
    steer_run(run, paused=True)
    _wait_for(lambda: (read_status(run) or {}).get("status") == "paused", what="paused status")
    request_stop(run)
    assert proc.wait(timeout=60) == 0
    assert read_status(run)["status"] == "stopped"


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
