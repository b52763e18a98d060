"""Links that open a view: netlib.lab.links parses and encodes every page's URL parameters (round trips,
hostile values), and pages opened with parameters under AppTest show that view or one warning."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_pages._common import PAGES as PAGE_INFO
from netlib.lab import catalogue, links
from netlib.lab.link_values import Context, plain_name, shown
from netlib.models import MODELS, SHOWCASE
from netlib.runs import reader
from support import fresh_app, open_app, untrained_run

RUN = "20260101-000000-residual-fast-001"
OTHER = "20260102-000000-inception-fast-002"
TABS = ["Layers", "Feature maps", "Lesion"]
PAIRS = ["inception vs residual", "residual vs plain", "inception vs naive"]
HOSTILE = ["..", "../..", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "a\x00b", "\x00", "\n", "a\nb",
           "x" * 10_000, "", " ", "~root", "%2e%2e", "run:..", "run:../x", "shipped:/etc/passwd",
           "upload:../../x.pt", "C:\\x", "-1", "3.0", "1e3", "0x10", " 3", "３", "999999999999", "ten",
           "`rm -rf`", ":material/bolt:", "<script>", "nope"]


def context(calls: list | None = None) -> Context:
    def runs():
        if calls is not None:
            calls.append("runs")
        return {RUN: f"/lab/runs/{RUN}", OTHER: f"/lab/runs/{OTHER}"}

    ids = {"residual": ["shipped:residual.pt", f"run:{RUN}"], "inception": ["shipped:inception.pt", f"run:{OTHER}",
                                                                            "upload:mine.pt"]}
    return Context(runs=runs, checkpoints=lambda m: ids.get(m, []), test_size=lambda: 10_000,
                   lessons=lambda: ("one-by-one", "lesion"), options={"inspect_tab": TABS, "cmp_pair": PAIRS})


VIEWS = {  # a non-default view of every page, as session state
    "train": {"model": "plain", "blocks": 3, "train_run": f"/lab/runs/{RUN}"},
    "inspect": {"inspect_model": "inception", "inspect_width": 64, "inspect_ckpt_inception": "upload:mine.pt",
                "inspect_tab": "Feature maps", "inspect_index": 1234},
    "compare": {"cmp_pair": "inception vs naive", "cmp_blocks": 5, "cmp_width": 17, "compare_runs": [OTHER, RUN]},
    "results": {"results_model": "residual", "results_ckpt_residual": f"run:{RUN}", "results_true": 3,
                "results_read": 5},
    "draw": {"draw_ckpt_inception": f"run:{OTHER}", "draw_ckpt_residual": f"run:{RUN}"},
    "lessons": {"lesson": "lesion"},
}


@pytest.mark.parametrize("page", sorted(VIEWS))
def test_a_view_survives_the_round_trip(page):
    ctx = context()
    params = links.encode(page, VIEWS[page], ctx)
    assert params and all(isinstance(v, (str, list)) for v in params.values())
    updates, messages = links.parse(page, params, ctx, {})
    assert messages == []
    default = {"inspect_model": "inception"}  # the first network: left out of the link, as the page starts
    assert updates == {k: v for k, v in VIEWS[page].items() if default.get(k) != v}


def test_the_link_names_runs_and_checkpoints_not_paths_or_indexes():
    ctx = context()
    assert links.encode("train", VIEWS["train"], ctx) == {"network": "plain", "blocks": "3", "run": RUN}
    assert links.encode("inspect", VIEWS["inspect"], ctx) == {
        "width": "64", "checkpoint": "upload:mine.pt", "tab": "Feature maps", "digit": "1234"}
    assert links.encode("compare", VIEWS["compare"], ctx)["run"] == [OTHER, RUN]  # ?run=a&run=b
    assert links.encode("draw", VIEWS["draw"], ctx) == {"inception": f"run:{OTHER}", "residual": f"run:{RUN}"}


def test_defaults_stay_out_of_the_link():
    ctx = context()
    assert links.encode("inspect", {"inspect_model": "inception", "inspect_width": 10, "inspect_tab": "Layers",
                                    "inspect_ckpt_inception": "shipped:inception.pt", "inspect_index": 0}, ctx) == {}
    assert links.encode("compare", {"cmp_pair": PAIRS[0], "cmp_blocks": 3}, ctx) == {}
    assert links.encode("results", {"results_true": None, "results_read": None}, ctx) == {}
    assert links.encode("home", {"model": "plain"}, ctx) == {}


def test_settings_that_do_not_apply_stay_out_and_are_refused():
    ctx = context()
    # blocks are a Residual/Plain setting, width an Inception/Naive one
    assert links.encode("train", {"model": "inception", "blocks": 4, "width": 20}, ctx) == {"width": "20"}
    updates, messages = links.parse("train", {"network": "residual", "width": "20", "blocks": "2"}, ctx)
    assert updates == {"model": "residual", "blocks": 2}
    assert len(messages) == 1 and "width=20" in messages[0] and "Inception and Naive Inception" in messages[0]


def test_a_checkpoint_belongs_to_the_network_of_the_link_or_of_the_session():
    ctx = context()
    assert links.parse("inspect", {"checkpoint": f"run:{RUN}"}, ctx, {"inspect_model": "residual"})[0] == {
        "inspect_ckpt_residual": f"run:{RUN}"}
    updates, messages = links.parse("inspect", {"checkpoint": f"run:{RUN}"}, ctx, {"inspect_model": "inception"})
    assert updates == {} and "not one of the Inception checkpoints" in messages[0]


def test_a_linked_checkpoint_is_kept_by_id_when_the_list_changes():
    updates, _ = links.parse("results", {"network": "residual", "checkpoint": f"run:{RUN}"}, context())
    assert updates["results_ckpt_residual"] == f"run:{RUN}"  # an id, not a place in the list
    newer = Context(checkpoints=lambda m: ["shipped:residual.pt", "run:newer", f"run:{RUN}"])
    assert links.encode("results", updates, newer)["checkpoint"] == f"run:{RUN}"
    assert links.encode("results", updates, Context(checkpoints=lambda m: [f"run:{RUN}"]))["checkpoint"] == f"run:{RUN}"


def test_state_that_the_lab_does_not_list_is_left_out_of_the_link():
    ctx = context()
    assert links.encode("train", {"train_run": "/etc"}, ctx) == {}
    assert links.encode("train", {"train_run": f"/elsewhere/{RUN}"}, ctx) == {}  # same name, not the listed folder
    for stale in ("run:gone", 1):  # a deleted run's checkpoint; a place in the list, as pickers once kept
        assert links.encode("inspect", {"inspect_model": "residual", "inspect_ckpt_residual": stale}, ctx) == {
            "network": "residual"}
    assert links.encode("inspect", {"inspect_index": True}, ctx) == {}
    assert links.encode("compare", {"compare_runs": ["gone", RUN, 5]}, ctx) == {"run": [RUN]}
    assert links.encode("lessons", {"lesson": "no-such-lesson"}, ctx) == {}


@pytest.mark.parametrize("page", sorted(VIEWS))
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:20]))
def test_hostile_values_are_refused_with_a_message(page, value):
    ctx = context()
    for name in {p.name for p in links.PAGES[page].params}:
        updates, messages = links.parse(page, {name: value}, ctx, {})
        assert updates == {}, (page, name, value, updates)
        assert len(messages) == 1 and messages[0].startswith(f"`{name}"), messages


@pytest.mark.parametrize("raw", [5, None, b"..", 3.0, {"a": 1}, ["a", 5], [None], object()],
                         ids=lambda raw: type(raw).__name__ if type(raw) is object else repr(raw))  # stable across workers
def test_wrong_types_are_refused_not_raised(raw):
    updates, messages = links.parse("inspect", {"digit": raw, "network": raw}, context(), {})
    assert updates == {} and len(messages) == 2


def test_unknown_and_streamlit_parameters():
    updates, messages = links.parse("inspect", {"embed": "true", "network": "plain", "../x": "1", "x" * 5000: "y"},
                                    context(), {})
    assert updates == {"inspect_model": "plain"}
    assert len(messages) == 2 and all("not a setting of this page" in m for m in messages)
    assert max(len(m) for m in messages) < 120  # a 5,000-character name is quoted, not repeated
    assert links.parse("no-such-page", {"a": "b"}, context()) == ({}, ["`a`: not a setting of this page"])


def test_a_repeated_parameter_counts_once_and_runs_are_capped():
    ctx = context()
    assert links.parse("train", {"blocks": ["2", "4"], "network": "plain"}, ctx)[0]["blocks"] == 4  # the last
    updates, messages = links.parse("compare", {"run": [RUN, "..", RUN, OTHER]}, ctx)
    assert updates == {"compare_runs": [RUN, OTHER]} and len(messages) == 1
    updates, messages = links.parse("compare", {"run": [RUN] * 40}, ctx)
    assert updates == {"compare_runs": [RUN]} and "only the first" in messages[0]


def test_a_run_maps_to_the_listed_folder_and_listings_load_only_when_needed():
    calls: list = []
    ctx = context(calls)
    assert links.parse("inspect", {"network": "plain", "blocks": "2"}, ctx)[1] == [] and calls == []
    assert links.parse("train", {"run": RUN}, ctx)[0] == {"train_run": f"/lab/runs/{RUN}"}
    links.parse("train", {"run": OTHER}, ctx)
    assert calls == ["runs"]  # read once per context


def test_results_digit_filters_take_any():
    updates, messages = links.parse("results", {"true": "any", "read": "7"}, context())
    assert updates == {"results_true": None, "results_read": 7} and messages == []
    assert links.parse("results", {"read": "10"}, context())[0] == {}


def test_messages_quote_values_safely():
    assert shown("a`b\x00c\nd") == "a?b?c?d"
    assert shown("x" * 100).endswith("…") and len(shown("x" * 100)) == 41
    text = links.summary([f"m{i}" for i in range(9)])
    assert text.count("; ") == 5 and "and 4 more" in text
    with pytest.raises(links.Invalid):
        plain_name("a..b")


def test_the_tables_match_the_lab():
    assert links.MODEL_NAMES == tuple(MODELS) and links.DRAW_MODELS == tuple(SHOWCASE)
    pages = {Path(p.path).stem for p in PAGE_INFO}
    assert pages - {"lessons"} <= set(links.PAGES) <= pages | {"lessons"}


def test_checkpoint_ids_from_the_catalogue(runs_dir):
    run = untrained_run(runs_dir, RUN)
    choices = catalogue.checkpoint_choices("residual", reader.run_index(runs_dir))
    ids = [links.checkpoint_id(c) for c in choices]
    assert f"run:{run.name}" in ids
    if catalogue.shipped_checkpoint("residual").is_file():
        assert ids[0] == "shipped:residual.pt"


# ---------------------------------------------------------------- pages opened with a link (AppTest)
def open_with(page: str, params: dict):
    from streamlit.testing.v1 import AppTest

    from support import APP

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page(f"app_pages/{page}.py")
    at.query_params.update(params)
    return at.run()


def test_inspect_opens_the_linked_view_and_writes_it_back(monkeypatch):
    fresh_app(monkeypatch)
    at = open_with("inspect", {"network": "residual", "blocks": "3", "tab": "Feature maps", "digit": "7"})
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.radio(key="inspect_model").value == "residual"
    assert at.number_input(key="inspect_blocks").value == 3
    assert at.session_state["inspect_tab"] == "Feature maps"
    assert at.number_input(key="inspect_index").value == 7
    assert at.query_params == {"network": "residual", "blocks": "3", "tab": "Feature maps", "digit": "7"}
    at.number_input(key="inspect_blocks").set_value(2).run()  # a widget's rerun: the URL follows the widget
    assert at.number_input(key="inspect_blocks").value == 2 and at.query_params["blocks"] == "2"


def test_hostile_link_opens_the_page_with_one_warning(monkeypatch):
    fresh_app(monkeypatch)
    at = open_with("inspect", {"network": "plain", "blocks": "999", "checkpoint": "run:../../etc/passwd",
                               "digit": "ten", "tab": "x" * 10_000, "evil": "\x00"})
    assert not at.exception and not at.error, [e.value for e in at.error]
    (warning,) = at.warning
    for part in ("blocks=999", "checkpoint=run:../../etc/passwd", "digit=ten", "`tab`", "`evil`"):
        assert part in warning.value
    assert at.radio(key="inspect_model").value == "plain"
    assert at.query_params == {"network": "plain"}  # the refused values are gone from the URL


def test_train_opens_a_linked_run_and_refuses_a_path(monkeypatch, runs_dir):
    fresh_app(monkeypatch)
    run = untrained_run(runs_dir, RUN)
    at = open_with("train", {"run": RUN})
    assert not at.exception and not at.warning
    assert at.session_state["train_run"] == str(run)
    assert any(RUN in m.value for m in at.markdown)
    at = open_with("train", {"run": "../" + RUN})
    assert not at.exception and "not a plain name" in at.warning[0].value
    assert at.query_params == {}  # no live run to attach to, nothing to link


def test_a_page_switch_leaves_the_parameters_behind_and_the_url_follows_the_page(monkeypatch):
    """Streamlit empties the URL on a page switch (and forgets the widgets of a page not shown): the page
    switched to neither applies nor keeps the other page's parameters, and its URL says what it shows."""
    fresh_app(monkeypatch)
    at = open_with("inspect", {"network": "residual", "blocks": "3"})
    at.query_params.clear()  # what the browser does on a page switch (AppTest keeps them)
    at.switch_page("app_pages/draw.py").run()
    assert not at.exception and not at.warning and at.query_params == {}
    at.query_params.clear()
    at.switch_page("app_pages/inspect.py").run()
    shown_now = at.radio(key="inspect_model").value
    assert at.query_params == ({} if shown_now == "inception" else {"network": shown_now})


def test_lessons_opens_the_linked_lesson_and_names_an_unknown_one(monkeypatch):
    fresh_app(monkeypatch)
    at = open_with("lessons", {"lesson": "lesion"})
    assert not at.exception and not at.warning and at.radio(key="lesson").value == "lesion"
    assert at.query_params == {"lesson": "lesion"}
    at = open_with("lessons", {"lesson": "no-such-lesson"})
    assert not at.exception and "lesson=no-such-lesson`: no such lesson" in at.warning[0].value


@pytest.mark.skipif(not catalogue.shipped_checkpoint("residual").is_file(), reason="shipped checkpoint not present")
def test_results_opens_with_the_linked_filters(monkeypatch):
    fresh_app(monkeypatch)
    at = open_with("results", {"network": "residual", "checkpoint": "shipped:residual.pt", "true": "3", "read": "5"})
    assert not at.exception and not at.warning and not at.error
    assert at.radio(key="results_model").value == "residual"
    assert at.selectbox(key="results_true").value == 3 and at.selectbox(key="results_read").value == 5
    assert at.query_params == {"network": "residual", "true": "3", "read": "5"}  # the shipped one is the default


def test_compare_overlays_the_linked_runs(monkeypatch, runs_dir):
    fresh_app(monkeypatch)
    untrained_run(runs_dir, RUN)
    untrained_run(runs_dir, OTHER, "inception")
    at = open_with("compare", {"run": [RUN, "../" + OTHER], "pair": "residual vs plain"})
    assert not at.exception and not at.error
    assert "run=../" + OTHER in at.warning[0].value
    assert at.multiselect(key="compare_runs").value == [RUN]
    assert at.query_params == {"pair": "residual vs plain", "run": RUN}


def test_the_lesion_tab_keeps_its_checkpoint_in_the_link(monkeypatch):
    from netlib.lab import catalogue

    fresh_app(monkeypatch)
    choices = catalogue.checkpoint_choices("residual", [])
    shipped3 = catalogue.choice_id(choices, catalogue.lesion_checkpoint("residual"))
    at = open_with("inspect", {"network": "residual", "tab": "Lesion"})
    assert not at.exception and not at.warning
    assert at.session_state["lesion_ckpt_residual"] == shipped3  # the default: not written to the link
    assert "lesion" not in at.query_params
    other = next(links.checkpoint_id(c) for c in choices if links.checkpoint_id(c) != shipped3)
    at.selectbox(key="lesion_ckpt_residual").set_value(other).run()
    assert at.query_params["lesion"] == other
    again = open_with("inspect", dict(at.query_params))
    assert not again.warning and again.session_state["lesion_ckpt_residual"] == other
    assert open_with("inspect", {"network": "inception", "lesion": "shipped:plain-3.pt"}).warning
