"""Text from a run folder shows literally on the pages: a model, a recipe, a failure reason or a folder name
holding markdown link or image syntax is escaped in the sidebar (live and queued runs) and on Compare."""

from __future__ import annotations

import json
import re

from app_pages._escape import code, literal
from netlib.runs import queue
from netlib.runs.files import CONFIG, QUEUED, STATUS, write_json
from pages_support import fake_run, lab, open_page  # noqa: F401  (lab: autouse, a fresh runs folder and caches)

LINK, IMAGE = "[click](http://evil.example/x)", "![x](http://example.com/a.png)"
RUNNING = "20250101-000001-a`b` [c](d)"  # a copied-in folder's name: a backtick, link syntax
FAILED = "20250101-000002-residual-fast-002"
REASON = f"the training process ended: {LINK} {IMAGE}"  # as a last line of process.log can say
# A live link or image: '](' or '![' whose brackets are not escaped, or a bare URL (GFM links those).
LIVE = re.compile(r"(?<!\\)!\[|(?<!\\)\]\(|https?://")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)")  # nothing inside one is markdown


def hostile(run_dir) -> None:
    """The run's config.json names a network and a recipe that are markdown."""
    config = json.loads((run_dir / CONFIG).read_text())
    (run_dir / CONFIG).write_text(json.dumps({**config, "model": LINK, "recipe_name": IMAGE}))


def queued(root, name: str):
    """A queued run as a copied-in folder holds one: config.json and status.json only."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    write_json(run_dir / CONFIG, {"model": "residual", "recipe_name": "fast", "device": "cpu"})
    write_json(run_dir / STATUS, {"status": QUEUED, "reason": "", "order": 1.0, "submitted": 1.0, "updated": 1.0})
    return run_dir


def shown(elements) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "info", "error", "warning", "success")
            for e in getattr(elements, kind)]


def live_markdown(at) -> list[str]:
    return [text for text in shown(at) if LIVE.search(CODE_SPAN.sub("", text))]


def test_literal_and_code_show_text_as_it_is():
    assert literal(LINK) == r"\[click\](http\://evil.example/x)" and literal(IMAGE).startswith(r"\!\[x\](")
    assert literal("1. one\n- two\n # three\nwww.x.org a@b.c") == "1\\. one\n\\- two\n \\# three\nwww\\.x.org a\\@b.c"
    assert literal("20250101-000000-residual-fast-001 done") == "20250101-000000-residual-fast-001 done"
    assert code("a`b") == "``a`b``" and code("`x") == "`` `x ``" and code("run") == "`run`"


def test_markdown_from_run_folders_shows_as_text_in_the_sidebar_and_on_compare(lab, monkeypatch):
    # No pump: the queued run waits (a pump would fail it, having no queued.json) and nothing trains.
    monkeypatch.setattr(queue, "pump", lambda *args, **kwargs: [])
    running = fake_run(lab, "20250101-000001-residual-fast-001", status="running").rename(lab / RUNNING)
    failed = fake_run(lab, FAILED, status="failed", reason=REASON)
    for run_dir in (running, failed, queued(lab, "20250101-000003-residual-fast-003")):
        hostile(run_dir)
    at = open_page("app_pages/compare.py")
    side = shown(at.sidebar)
    assert sum(f"**{literal(LINK)}** · {literal(IMAGE)}" in t for t in side) == 2, side  # live and queued
    assert any(code(RUNNING) in t for t in side), side
    at.multiselect(key="compare_runs").set_value([RUNNING, FAILED]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.value.endswith(f" failed: {literal(REASON)}") for e in at.error), [e.value for e in at.error]
    assert any(literal(LINK) in c.value for c in at.caption), [c.value for c in at.caption]  # the progress line
    assert not live_markdown(at), live_markdown(at)


def test_markdown_from_a_run_folder_shows_as_text_on_train(lab, monkeypatch):
    monkeypatch.setattr(queue, "pump", lambda *args, **kwargs: [])
    failed = fake_run(lab, FAILED, status="failed", reason=REASON)
    hostile(failed)
    at = open_page("app_pages/home.py")
    at.session_state["train_run"] = str(failed)
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(literal(REASON) in e.value for e in at.error), [e.value for e in at.error]
    assert any(literal(LINK) in m.value for m in at.markdown), [m.value for m in at.markdown]  # the header
    assert not live_markdown(at), live_markdown(at)
