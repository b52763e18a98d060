"""The Train and Compare pages' steering and gradient-flow views under AppTest: pause, resume, a new
learning rate, +1 epoch, the gradient heatmap and the Residual-vs-Plain pair."""

from __future__ import annotations

import pytest

from netlib.charts.style import COLORS
from netlib.lab import catalogue, launch
from netlib.runs import queue
from netlib.runs.control import read_control
from netlib.runs.reader import list_runs, read_run
from support import assert_clean, charts
from pages_support import fake_run, lab, open_page, start_tiny_run, values, wait_for  # noqa: F401
from test_queue import free, occupy


def train_pair(at, runs, pair: str, limit: int, recipe: str = "", **sizes):
    """Compare's Train both for `pair` (sizes: blocks/width) on `limit` images, 1 epoch, until both are
    done; the page rerun and checked clean."""
    at.selectbox(key="cmp_pair").set_value(pair).run()
    for name, value in sizes.items():
        at.number_input(key=f"cmp_{name}").set_value(value)
    if recipe:
        at.selectbox(key="cmp_recipe").set_value(recipe).run()
    at.number_input(key="cmp_epochs").set_value(1)
    at.number_input(key="cmp_limit").set_value(limit).run()
    at.button(key="train_both").click().run()
    wait_for(at, lambda a: len(list_runs(runs)) == 2 and all(r.status == "done" for r in list_runs(runs)),
             timeout=240)
    at.run()
    assert_clean(at)
    return at


@pytest.mark.process
def test_train_page_pauses_resumes_and_sets_the_learning_rate(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "30000")
    at = open_page("app_pages/train.py")
    start_tiny_run(at, epochs=20, limit=30000, batch=32)
    wait_for(at, lambda a: any(b.key == "pause" for b in a.button) and bool(charts(a)))
    (run,) = list_runs(lab)

    at.button(key="pause").click().run()
    assert read_control(run.dir)["paused"] is True
    # the page drawn after the run holds (a render just before it holds still says "Pausing...")
    wait_for(at, lambda a: read_run(run.dir).status == "paused" and any(b.key == "resume" for b in a.button),
             timeout=60)
    held = len(read_run(run.dir).batches)

    lr_box = at.number_input(key=f"steer_lr_{run.name}")
    lr_box.set_value(0.0005).run()
    at.button(key="set_lr").click().run()
    assert read_control(run.dir) == {"paused": True, "lr": 0.0005}
    at.button(key="resume").click().run()
    assert read_control(run.dir)["paused"] is False

    def changed(a):
        info = read_run(run.dir)
        return any(e["event"] == "lr_change" for e in info.events) and len(info.batches) > held
    wait_for(at, changed, timeout=60)
    info = read_run(run.dir)
    kinds = [e["event"] for e in info.events]
    assert kinds.count("pause") == 1 and kinds.count("resume") == 1
    assert all(b["lr"] == 0.0005 for b in info.batches[held:])
    # live, not stuck at "none yet": the charts may be reused for up to 2 s (CHARTS_S), so within a few
    def gradients_shown(a):
        data = charts(a).get("grad_chart", {}).get("data")
        return bool(data) and data[0]["type"] == "heatmap"
    wait_for(at, gradients_shown, timeout=15)
    shapes = charts(at)["loss_chart"]["layout"].get("shapes", [])
    assert any(s.get("type") == "line" for s in shapes)  # the lr change is marked on the chart
    at.button(key="lr_schedule").click().run()
    assert read_control(run.dir) == {"paused": False, "lr": None}
    wait_for(at, lambda a: sum(e["event"] == "lr_change" for e in read_run(run.dir).events) == 2, timeout=60)
    back = [e for e in read_run(run.dir).events if e["event"] == "lr_change"][-1]
    assert back["schedule"] and back["to"] != 0.0005
    assert not any(b.key == "lr_schedule" for b in at.button)
    at.button(key="stop").click().run()
    wait_for(at, lambda a: read_run(run.dir).status == "stopped", timeout=60)


@pytest.mark.process
def test_train_page_shows_gradient_flow_and_extends_a_finished_run(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "2000")
    at = open_page("app_pages/train.py")
    start_tiny_run(at, epochs=1, limit=2000)
    wait_for(at, lambda a: bool(a.success) or bool(a.error))
    assert_clean(at)
    heat = charts(at)["grad_chart"]["data"][0]
    assert heat["type"] == "heatmap" and heat["y"][0] == "conv1" and heat["y"][-1] == "fc"

    at.button(key="extend").click().run()
    (run,) = list_runs(lab)

    def extended(a):
        info = read_run(run.dir)
        return info.status == "done" and len(info.epochs) == 2 and bool(a.success)
    wait_for(at, extended, timeout=120)
    assert_clean(at)
    assert "after 2 epoch(s)" in at.success[0].value
    assert any("2 epochs (1 + 1 more)" in m.value for m in at.markdown), [m.value for m in at.markdown][:6]  # the header
    assert [e["epoch"] for e in read_run(run.dir).epochs] == [1, 2]


def test_plus_one_epoch_after_onecycle_shows_the_rate_it_will_use_and_why(lab):
    """A onecycle run ended at 0.000007665: the box holds a rate that can move the network, and the
    page says which rate it is and why, before the click."""
    run = fake_run(lab, "20250101-000000-residual-fast-001")
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text().replace('"lr": 0.001', '"lr": 7.665e-06'))
    (run / "train_state.pt").write_bytes(b"state")  # what makes a run extendable; not read by the page
    at = open_page("app_pages/train.py")
    at.session_state["train_run"] = str(run)
    at.run()
    assert_clean(at)
    assert at.number_input(key=f"extend_lr_{run.name}").value == pytest.approx(5e-4)
    said = " ".join(c.value for c in at.caption)
    assert "0.0005" in said and "7.665e-06" in said, said


def test_a_plus_one_epoch_waiting_for_slots_shows_its_place_and_cancels(lab, monkeypatch):
    """+1 epoch while every CPU slot is taken: the page says it is queued and where, with Cancel; the run
    stays as it was, and after Cancel +1 epoch is offered again."""
    monkeypatch.setenv(queue.SLOTS_ENV, "2")
    run = fake_run(lab, "20250101-000000-residual-fast-001")
    (run / "train_state.pt").write_bytes(b"state")  # what makes a run extendable; not read by the page
    before = (run / "status.json").read_bytes()
    holder = occupy(lab)
    try:
        at = open_page("app_pages/train.py")
        at.session_state["train_run"] = str(run)
        at.run()
        at.button(key="extend").click().run()
        assert_clean(at)
        assert any("+1 epoch queued, position 1" in i.value for i in at.info), [i.value for i in at.info]
        assert any(run.name in m.value and "+1 epoch queued, position 1" in m.value for m in at.sidebar.markdown)
        assert not any(b.key == "extend" for b in at.button)
        at.button(key=f"q_cancel_{run.name}").click().run()
        assert_clean(at)
        assert queue.position(run) is None and any(b.key == "extend" for b in at.button)
        assert (run / "status.json").read_bytes() == before
    finally:
        free(holder)


@pytest.mark.process
def test_train_page_depth_setting_reaches_the_run(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "1000")
    at = open_page("app_pages/train.py")
    at.selectbox(key="model").set_value("plain").run()
    at.number_input(key="blocks").set_value(3).run()
    start_tiny_run(at, epochs=1, limit=1000, model="plain")
    wait_for(at, lambda a: bool(a.success) or bool(a.error))
    (run,) = list_runs(lab)
    assert run.config["model"] == "plain" and run.config["model_kwargs"] == {"blocks": 3}
    assert any("Plain ×3" in m.value for m in at.markdown)


def test_train_page_has_no_depth_setting_for_inception():
    at = open_page("app_pages/train.py")
    at.selectbox(key="model").set_value("inception").run()
    assert not any(n.key == "blocks" for n in at.number_input)


@pytest.mark.slow
def test_compare_trains_residual_against_plain_and_shows_first_layer_gradients(lab, monkeypatch):
    monkeypatch.setenv(launch.SYNTHETIC_ENV, "2000")
    at = train_pair(open_page("app_pages/compare.py"), lab, "residual vs plain", 2000, recipe="seed",
                    blocks=3)
    runs = {r.config["model"]: r for r in list_runs(lab)}
    assert set(runs) == {"residual", "plain"}
    assert all(r.config["model_kwargs"] == {"blocks": 3} for r in runs.values())
    spec = charts(at)["grad_first_chart"]
    finals = {t["name"].split(" ")[0]: values(t["y"])[-1] for t in spec["data"]}
    assert finals["Residual"] > 10 * finals["Plain"]


def test_home_tells_the_skip_connection_story_from_the_shipped_recording():
    story = catalogue.recorded_story(COLORS)
    assert [s["model"] for s in story] == ["residual", "plain"]
    at = open_page("app_pages/home.py")
    assert_clean(at)
    spec = charts(at)["story_grads"]
    assert [t["name"] for t in spec["data"]] == ["residual ×3", "plain ×3"]
    metrics = {m.label: m.value for m in at.metric}
    residual = float(metrics["Residual ×3, recorded run"].rstrip("%"))
    plain = float(metrics["Plain ×3, recorded run"].rstrip("%"))
    assert residual > 97 and plain < 50  # the recording shows the lesson
    text = next(m.value for m in at.markdown if "smaller** than Residual" in m.value)
    ratio = float(text.split("about **")[1].split("x")[0].replace(",", ""))
    assert ratio >= 10  # issue 6's target: at least 10x after the first epoch
