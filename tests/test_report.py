"""A report of runs and sweeps as one HTML file (netlib/report, `python -m netlib report`): what it holds,
names escaped, one copy of plotly.js and nothing fetched, a run still training said so, a sweep's trials
and Optuna's figures, and bad input refused in one line with nothing written."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import pytest

from netlib.cli.main import main
from netlib.report.build import build_report, file_name
from netlib.runs import labels, manage
from netlib.runs.reader import read_run
from report_support import seed_run, three_seed_comparison

MB = 2**20
PLOTLY_JS = "plotly.js v"  # the banner at the top of plotly.min.js: once per copy


def figures(page: str) -> int:
    return page.count('class="plotly-graph-div"')


def fetched(page: str) -> list[str]:
    """What the page would ask the network for: script or link sources, stylesheets' imports, web fonts."""
    return re.findall(r"""<(?:script|link|img|iframe)[^>]*\s(?:src|href)=["']?(?!data:)[^"'\s>]+""", page) + \
        re.findall(r"@import|@font-face", page)


def test_a_runs_report_holds_its_settings_final_figures_and_charts(runs_dir):
    run = seed_run(runs_dir, "20260101-000000-residual-fast-001", "residual", seed=1, checkpoint=False)
    page = build_report([run], evaluate=False)
    assert f"<h1>Run: {html.escape(labels.short_label(run.name, read_run(run).config))}</h1>" in page
    assert "final test accuracy</th><td>98.40%" in page  # 0.99 - 0.02 / 5 - 0.002 (seed 1)
    assert "python -m netlib train --model residual --seed 1" in page  # its run request, as a command
    assert "asked: seed</th><td>1<" in page and "used: optimizer</th><td>adamw<" in page
    assert figures(page) == 3  # loss, accuracy, gradient flow
    assert page.count(PLOTLY_JS) == 1 and not fetched(page)
    assert "still training" not in page and file_name([run]) == "report-20260101-000000-residual-fast-001.html"


def test_names_labels_and_notes_are_escaped(runs_dir):
    name = "x<img src=q onerror=alert(1)>&\"'"
    run = seed_run(runs_dir, name, "residual", seed=0, epochs=1, checkpoint=False)
    manage.set_label(runs_dir, name, "<b>bold</b> label")
    manage.set_notes(runs_dir, name, "<script>alert('notes')</script>\n**markdown** stays text")
    manage.add_tags(runs_dir, name, ["a.b"])
    page = build_report([run], evaluate=False)
    for raw in ("<img src=q", "<b>bold", "<script>alert"):
        assert raw not in page, raw
    assert html.escape(name) in page and "&lt;b&gt;bold&lt;/b&gt; label" in page
    assert "&lt;script&gt;alert(&#x27;notes&#x27;)&lt;/script&gt;" in page and "#a.b" in page


def test_a_run_still_training_says_so_with_the_epoch_it_reached(runs_dir):
    run = seed_run(runs_dir, "20260101-000000-inception-fast-001", "inception", seed=0, epochs=3, status="running")
    page = build_report([run])  # a live run's checkpoint is no result: nothing evaluated
    assert "This run was still training (running) when this report was made: epoch 3 of 5 reached, 2 finished" in page
    assert "Where it fails" not in page and figures(page) == 3


def test_a_three_seed_comparison_of_two_networks_draws_bands_and_stays_under_6_mb(runs_dir):
    page = build_report(three_seed_comparison(runs_dir), evaluate=False)
    assert page.count(PLOTLY_JS) == 1 and not fetched(page)
    assert "Inception · fast · 3 seeds" in page and "Residual · fast · 3 seeds" in page  # a group each
    assert page.count('"fill":"tonexty"') == 2  # each group's band
    assert "within seed noise" in page or "is ahead of" in page  # the verdict on the two groups
    assert figures(page) == 1 + 6 * 3  # the comparison, then each run's loss, accuracy, gradient flow
    assert len(page.encode()) <= 6 * MB


def test_a_sweeps_report_holds_its_trials_and_optunas_figures(runs_dir):
    from netlib.sweeps import storage as S
    from netlib.sweeps import trials as T
    from netlib.sweeps.space import SweepSpec
    from netlib.sweeps.worker import finish_trial, report_epoch, suggest

    storage = S.open_storage(None, runs_dir)
    T.create(SweepSpec(name="lrs", model=["residual"], lr=[0.01, 0.03, 0.1], epochs=[1]), storage)
    study, spec = T.load("lrs", storage, with_sampler=True)
    for acc in (0.95, 0.97, 0.96):
        trial = T.take(study)
        T.claim(trial, runs_dir)
        suggest(trial, spec)  # what a worker does first: the trial's parameters
        report_epoch(trial, {"epoch": 1, "test_acc": acc}, 1, {})
        finish_trial(study, trial, "done", "", acc, lost=False)
    page = build_report(sweep=T.load("lrs", storage), runs_dir=runs_dir)
    assert "<h1>Sweep lrs</h1>" in page and "3 of 3 finished" in page
    assert page.count("<td>complete</td>") == 3 and "<td class=num>97.00%</td>" in page
    assert "Best trial: 1, 97.00%" in page and "lr = 0.03" in page
    assert figures(page) == 5 and page.count(PLOTLY_JS) == 1  # history, parallel, per epoch, ...


@pytest.mark.slow  # reads MNIST's 10,000 test digits with the checkpoint
def test_a_finished_runs_report_shows_its_confusion_matrix_and_misread_digits(runs_dir):
    run = seed_run(runs_dir, "20260101-000000-residual-fast-001", "residual", seed=0, epochs=1)
    page = build_report([run])
    assert "Where it fails (MNIST test set)" in page and "Confusion matrix" in page
    assert figures(page) == 5  # loss, accuracy, gradient flow; the confusion matrix, accuracy per digit
    assert len(re.findall(r'<img alt="test digit \d+" src="data:image/png;base64,', page)) == 12  # inline


def cli(capsys, *words: str) -> tuple[int, str, str]:
    code = main(["report", *words])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_writes_a_report_of_runs_named_or_given_as_folders(runs_dir, tmp_path, capsys):
    a = seed_run(runs_dir, "20260101-000000-residual-fast-001", "residual", seed=0, epochs=2, checkpoint=False)
    b = seed_run(runs_dir, "20260101-000001-residual-fast-002", "residual", seed=1, epochs=2, status="running")
    out = tmp_path / "report.html"
    code, said, err = cli(capsys, a.name, str(b), "-o", str(out), "--no-evaluate")
    assert code == 0 and said.startswith(f"report written to {out} (") and "still training" in err
    page = out.read_text()
    assert "Residual · fast · 2 seeds" in page and page.count("still training (running)") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "runs"]  # no temporary file left


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("case", ["unknown run", "a path that is no run", "output is a folder", "output is a FIFO",
                                  "output's folder is missing", "no run at all"])
def test_bad_input_is_one_line_exit_2_and_nothing_written(runs_dir, tmp_path, capsys, case):
    run = seed_run(runs_dir, "20260101-000000-residual-fast-001", "residual", seed=0, epochs=1, checkpoint=False)
    out = tmp_path / "out"
    out.mkdir()
    target = {"output is a folder": out, "output is a FIFO": fifo(out / "pipe"),
              "output's folder is missing": out / "missing" / "r.html"}.get(case, out / "r.html")
    runs = {"unknown run": ["nope"], "a path that is no run": [str(tmp_path / "nothing")],
            "no run at all": []}.get(case, [run.name])
    before = sorted(p.name for p in out.iterdir())
    code, said, err = cli(capsys, *runs, "-o", str(target))
    assert code == 2 and said == "" and err.count("\n") == 1 and err.startswith("netlib: error: ")
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == before  # no report, no temporary file left


def test_compare_builds_the_report_of_the_runs_drawn_on_a_click(runs_dir, monkeypatch):
    from support import assert_clean, fresh_app, open_app

    fresh_app(monkeypatch)
    names = [seed_run(runs_dir, f"20260101-00000{s}-residual-fast-00{s}", "residual", seed=s, epochs=2,
                      checkpoint=False).name for s in (0, 1)]
    at = open_app("app_pages/compare.py")
    at.session_state["compare_runs"] = names
    at.run()
    assert not at.get("download_button")  # nothing built until asked: the page stays fast
    next(b for b in at.button if b.key == "compare_report_build").click().run()
    assert_clean(at)
    (button,) = at.get("download_button")
    assert button.proto.label.startswith("Download report (")
