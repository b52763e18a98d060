"""The Results page under streamlit.testing (AppTest): where a network fails, the hand-over of a misread
digit to Inspect, downloads and checkpoint uploads; and the Inspect page for the "plain" network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from netlib.lab import catalogue
from netlib.checkpoint import FORMAT, VERSION
from netlib.lab.uploads import UPLOADS_ENV
from support import APP, SHIPPED, assert_clean, charts, fresh_app, open_app, untrained_run

needs_shipped = pytest.mark.skipif(not all(p.is_file() for p in SHIPPED), reason="shipped checkpoints not present")


@pytest.fixture(autouse=True)
def lab(tmp_path, monkeypatch):
    """A fresh runs folder, a fresh uploads folder, one torch thread, empty Streamlit caches."""
    fresh_app(monkeypatch)
    runs = tmp_path / "runs"
    monkeypatch.setenv("NETLIB_RUNS_DIR", str(runs))
    monkeypatch.setenv(UPLOADS_ENV, str(tmp_path / "uploads"))
    threads = torch.get_num_threads()
    yield runs
    torch.set_num_threads(threads)


@pytest.fixture
def uploads(tmp_path) -> Path:
    return tmp_path / "uploads"


def open_page(page: str, timeout: float = 120) -> AppTest:
    return open_app(page, timeout)


def gallery_buttons(at: AppTest) -> list[int]:
    return [int(b.key.rsplit("_", 1)[1]) for b in at.button if (b.key or "").startswith("results_inspect_")]


def fake_run(root: Path, name: str, model: str = "residual") -> Path:
    """A finished run with a (random-weight) checkpoint, written the way the engine writes one."""
    return untrained_run(root, name, model)


# ---------------------------------------------------------------- where it fails
@needs_shipped
@pytest.mark.slow
@pytest.mark.parametrize("model", ["residual", "inception"])
def test_results_shows_where_a_shipped_checkpoint_fails(model):
    at = open_page("app_pages/results.py")
    at.radio(key="results_model").set_value(model).run()
    assert_clean(at)
    assert at.title[0].value == "Results"
    assert at.selectbox(key=f"results_ckpt_{model}").value == f"shipped:{model}.pt"
    metrics = {m.label: m.value for m in at.metric}
    recorded = torch.load(catalogue.shipped_checkpoint(model), weights_only=True)["metrics"]["test_acc"]
    assert metrics["test accuracy"] == f"{100 * recorded:.2f}%"
    wrong = round(10_000 * (1 - recorded))
    assert metrics["misread"] == f"{wrong:,} of 10,000"
    found = charts(at)
    counts = [t for t in found["results_confusion"]["data"] if t.get("texttemplate")][0]["text"]
    assert sum(int(v or 0) for row in counts for v in row) == 10_000
    assert len(found["results_per_class"]["data"][0]["x"]) == 10
    shown = gallery_buttons(at)
    assert 6 <= len(shown) <= 30 and len(set(shown)) == len(shown)  # a first page of the misread digits
    assert len(at.get("image")) == len(shown)  # the digits' pictures
    assert at.get("image")[0].captions == [f"test digit #{shown[0]}"]
    assert any("true" in m.value and "→ read" in m.value for m in at.markdown)
    names = [d.proto.label for d in at.get("download_button")]
    assert any(f"{model}.pt" in n for n in names) and any(f"{model}.metrics.jsonl" in n for n in names)


@needs_shipped
def test_gallery_filters_by_true_digit_and_reading():
    from netlib.data import load_mnist

    labels = load_mnist(False)[1]
    at = open_page("app_pages/results.py")
    everything = gallery_buttons(at)
    at.selectbox(key="results_true").set_value(9).run()
    assert_clean(at)
    nines = gallery_buttons(at)
    assert nines and all(int(labels[i]) == 9 for i in nines) and set(nines) != set(everything)
    at.selectbox(key="results_read").set_value(9).run()  # a 9 read as 9 is no mistake
    assert not gallery_buttons(at)
    assert any("No misread" in i.value for i in at.info)


@needs_shipped
def test_show_more_adds_the_next_mistakes_in_order():
    at = open_page("app_pages/results.py")
    first = gallery_buttons(at)
    at.button(key="results_more").click().run()
    assert_clean(at)
    more = gallery_buttons(at)
    assert len(more) == 2 * len(first) and more[:len(first)] == first  # the same first ones, then the next
    wrong = int(at.metric[1].value.split()[0].replace(",", ""))
    assert wrong > len(more)  # so the button is still offered, for as many again
    assert at.button(key="results_more").label == f"Show {len(first)} more"


@needs_shipped
def test_inspect_button_hands_the_digit_to_inspect():
    at = open_page("app_pages/results.py")
    at.radio(key="results_model").set_value("residual").run()
    first = gallery_buttons(at)[0]
    at.button(key=f"results_inspect_{first}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    if at.title[0].value != "Inspect":  # AppTest did not follow st.switch_page: go there as a browser would
        assert at.session_state["inspect_request"] == {
            "model": "residual", "checkpoint": str(catalogue.shipped_checkpoint("residual")), "index": first}
        at.switch_page("app_pages/inspect.py").run()
    assert_clean(at)
    assert at.title[0].value == "Inspect"
    assert at.radio(key="inspect_model").value == "residual"  # not Inspect's default (inception)
    assert at.selectbox(key="inspect_ckpt_residual").value == "shipped:residual.pt"
    assert at.number_input(key="inspect_index").value == first
    assert at.session_state["inspect_tab"] == "Feature maps"
    assert "inspect_request" not in at.session_state  # read once
    from netlib.data import load_mnist

    label = int(load_mnist(False)[1][first])
    assert f"label {label}" in json.dumps(charts(at)["inspect_digit"]["layout"]["title"])
    assert any(f"#{first}" in link.proto.label for link in at.get("page_link"))


def test_inspect_ignores_a_request_for_a_checkpoint_it_does_not_list(lab, tmp_path, tiny_checkpoint):
    """Session state cannot point Inspect at an arbitrary file: only a checkpoint its picker lists."""
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.session_state["inspect_request"] = {"model": "inception", "checkpoint": str(tiny_checkpoint),
                                           "index": 5}
    at.switch_page("app_pages/inspect.py").run()
    assert_clean(at)
    assert at.radio(key="inspect_model").value == "inception"
    assert at.number_input(key="inspect_index").value == 5
    if SHIPPED[0].is_file():
        assert at.selectbox(key="inspect_ckpt_inception").value == "shipped:inception.pt"  # not the file asked for


# ---------------------------------------------------------------- fresh install, runs, no MNIST
def test_results_without_any_checkpoint_says_so_and_offers_the_upload(monkeypatch, lab):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(lab / "no-shipped"))
    at = open_page("app_pages/results.py")
    assert_clean(at)
    assert any("No trained inception checkpoint" in w.value for w in at.warning)
    assert at.file_uploader(key="results_upload") is not None
    assert not at.get("download_button")


def test_results_for_a_finished_run_offers_its_checkpoint_and_metrics(monkeypatch, lab):
    monkeypatch.setenv(catalogue.CHECKPOINT_DIR_ENV, str(lab / "no-shipped"))
    run = fake_run(lab, "20250101-000000-inception-fast-001", "inception")
    at = open_page("app_pages/results.py")
    at.radio(key="results_model").set_value("inception").run()
    assert_clean(at)
    assert "results_confusion" in charts(at)
    assert len(gallery_buttons(at)) == 12  # random weights misread almost everything: a full first page
    names = [d.proto.label for d in at.get("download_button")]
    assert any(f"{run.name}.pt" in n for n in names) and any(f"{run.name}.metrics.jsonl" in n for n in names)


def test_results_without_mnist_says_so_and_uses_drawn_digits(monkeypatch):
    import netlib.data
    from netlib.mnist import DataError

    def no_mnist(*a, **k):
        raise DataError("MNIST is not here (test)")

    monkeypatch.setattr(netlib.data, "load_mnist", no_mnist)
    at = open_page("app_pages/results.py")
    assert not at.exception and not at.error
    assert any("MNIST's test set is not available" in w.value for w in at.warning)
    if SHIPPED[1].is_file():
        assert {m.label: m.value for m in at.metric}["misread"].endswith("of 100")


# ---------------------------------------------------------------- uploads
def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="results_upload").upload(name, data, "application/octet-stream")
    return at.run()


def test_a_good_upload_is_stored_selected_and_offered_by_every_picker(uploads, tiny_checkpoint):
    at = open_page("app_pages/results.py")
    upload(at, "friend's net.pt", tiny_checkpoint.read_bytes())
    assert_clean(at)
    stored = uploads / "friend-s-net.pt"
    assert stored.read_bytes() == tiny_checkpoint.read_bytes()
    assert any("uploaded friend-s-net.pt" in s.value for s in at.success)
    picker = at.selectbox(key="results_ckpt_residual")
    assert picker.value == "upload:friend-s-net.pt" and picker.options[picker.index] == "uploaded friend-s-net.pt"
    assert "results_confusion" in charts(at)
    assert any("friend-s-net.pt" in d.proto.label for d in at.get("download_button"))

    for page, key in [("app_pages/draw.py", "draw_ckpt_residual"), ("app_pages/inspect.py", "inspect_ckpt_residual")]:
        at.switch_page(page).run()
        if page == "app_pages/inspect.py":
            at.radio(key="inspect_model").set_value("residual").run()
        assert_clean(at)
        assert "uploaded friend-s-net.pt" in at.selectbox(key=key).options, page


@pytest.mark.parametrize("kind", ["garbage", "truncated", "code"])
def test_a_refused_upload_is_a_clear_error_and_writes_nothing(kind, uploads, tiny_checkpoint, tmp_path):
    marker = tmp_path / "marker"
    if kind == "garbage":
        data = b"this is not a checkpoint at all"
    elif kind == "truncated":
        data = tiny_checkpoint.read_bytes()[:5000]
    else:
        class Evil:
            def __reduce__(self):
                return exec, (f"open({str(marker)!r}, 'w').write('ran')",)

        torch.save({"format": FORMAT, "version": VERSION, "model": "residual", "x": Evil()}, tmp_path / "e.pt")
        data = (tmp_path / "e.pt").read_bytes()
    at = open_page("app_pages/results.py")
    upload(at, "bad.pt", data)
    assert not at.exception, [e.value for e in at.exception]
    (err,) = at.error
    assert err.value.startswith("Refused: bad.pt:") and "Traceback" not in err.value
    assert ("would call" in err.value) if kind == "code" else ("not a readable checkpoint" in err.value)
    assert not marker.exists()
    assert not uploads.exists() or not any(uploads.iterdir())
    at.run()  # the uploader still holds the file: it is not processed again, the message stays
    assert len(at.error) == 1


def test_an_uploaded_checkpoint_can_be_removed(uploads, tiny_checkpoint):
    at = open_page("app_pages/results.py")
    upload(at, "net.pt", tiny_checkpoint.read_bytes())
    at.button(key="results_remove").click().run()
    assert not at.exception
    assert not (uploads / "net.pt").exists()


# ---------------------------------------------------------------- inspect: the plain network
def test_inspect_renders_the_plain_network():
    at = open_page("app_pages/inspect.py")
    at.radio(key="inspect_model").set_value("plain").run()
    assert_clean(at)
    rows = at.dataframe[0].value
    assert rows[rows["layer"] == "flatten"].iloc[0]["output shape"] == "512"
    assert any("512" in m.value for m in at.markdown)
    assert len([k for k in charts(at) if k.startswith("fmap_plain_")]) == 8
