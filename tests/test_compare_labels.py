"""A run's name follows it: the label saved on the Runs page names it in the checkpoint pickers and the
Train header, runs that would read alike are told apart (a repeated seed says its seed), a recipe changed
from a named one is never titled as that recipe, and a run trained further says the epochs it reached."""

from __future__ import annotations

import json
from dataclasses import replace

from netlib.engine.loop import TrainConfig
from netlib.lab import catalogue
from netlib.recipes import recipe_for
from netlib.runs import labels, listing, manage, notebook
from netlib.runs.reader import run_index
from pages_support import fake_run, lab  # noqa: F401  (lab: a fresh runs folder, autouse)
from support import assert_clean, open_app

NAME = "20261206-073103-residual-fast-001"


def config(seed: int = 0, **recipe) -> dict:
    return TrainConfig(model="residual", recipe_name="fast", seed=seed,
                       recipe=replace(recipe_for("fast", "residual"), **recipe)).to_dict()


def test_a_repeated_seed_says_its_seed_and_no_two_runs_read_alike(lab):
    for seed, suffix in ((0, "001"), (1, "002")):  # one batch: both started in the same second
        fake_run(lab, f"20261206-073103-residual-fast-{suffix}")
        path = lab / f"20261206-073103-residual-fast-{suffix}" / "config.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "seed": seed}))
    said = listing.run_labels(run_index(lab))
    assert sorted(said.values()) == ["Residual · fast · seed 0 · 07:31:03", "Residual · fast · seed 1 · 07:31:03"]
    assert labels.short_label(NAME, config(seed=3)) == "Residual · fast · seed 3 · 07:31:03"
    assert labels.short_label(NAME, config()) == "Residual · fast · 07:31:03"  # seed 0 alone: as before


def test_runs_labelled_alike_on_the_runs_page_are_told_apart(lab):
    for name in (NAME, "20261206-073104-residual-fast-002"):
        fake_run(lab, name)
        manage.set_label(lab, name, "baseline")
    said = listing.run_labels(run_index(lab))
    assert sorted(said.values()) == ["baseline · 07:31:03", "baseline · 07:31:04"]


def test_the_checkpoint_pickers_show_the_label_saved_on_runs(lab):
    fake_run(lab, NAME, checkpoint=True)
    manage.set_label(lab, NAME, "my wide residual")
    (choice,) = [c for c in catalogue.checkpoint_choices("residual", run_index(lab)) if not c.shipped]
    assert choice.label == f"my wide residual · run {NAME} (done)"


def test_a_changed_recipe_is_never_titled_as_the_named_one():
    two = config(epochs=2)
    assert labels.recipe_phrase(two) == "the fast recipe, 2 epochs"
    assert labels.recipe_phrase(config()) == "the fast recipe"
    meta = {"model": "residual", "recipe_name": "fast", "recipe": two["recipe"],
            "metrics": {"test_acc": 0.98, "epoch": 2}}
    summary = catalogue.checkpoint_summary(meta)
    assert "fast recipe, 2 epochs" in summary and "fast, 2 epochs recipe" not in summary


def test_a_run_trained_further_says_the_epochs_it_reached(lab):
    run = fake_run(lab, NAME, accs=(0.97, 0.98, 0.985))  # fast with 2 epochs, then +1 epoch
    path = run / "config.json"
    cfg = json.loads(path.read_text())
    path.write_text(json.dumps({**cfg, "recipe": {**cfg["recipe"], "epochs": 2}}))
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "epoch": 3, "extended": True}))
    (row,) = notebook.notebook_rows(lab)
    assert row.epochs == 3 and row.recipe == "fast, 3 epochs (2 + 1 more)"


def test_the_train_header_names_the_run_by_its_label(lab):
    run = fake_run(lab, NAME, accs=(0.97, 0.98))
    path = run / "config.json"
    cfg = json.loads(path.read_text())
    path.write_text(json.dumps({**cfg, "recipe": {**cfg["recipe"], "epochs": 2}}))
    manage.set_label(lab, NAME, "my wide residual")
    at = open_app("app_pages/train.py")
    at.session_state["train_run"] = str(run)
    at.run()
    assert_clean(at)
    header = next(m.value for m in at.markdown if NAME in m.value)
    assert "my wide residual" in header and "the fast recipe, 2 epochs" in header
    assert "2 epochs recipe" not in header


def test_a_fine_tuning_run_is_called_what_it_did_everywhere(lab):
    """Listing, pickers, the Runs table and Train's header say the set and the variant, not 'custom'; the
    form filled from it says a new run starts from scratch."""
    run = fake_run(lab, NAME, checkpoint=True)
    path = run / "config.json"
    asked = {"model": "residual", "start_from": "checkpoints/residual.pt", "handwriting": "mine", "tune": "all",
             "replay": 0.9}
    path.write_text(json.dumps({**json.loads(path.read_text()), "request": asked}))
    tuned = "fine-tuned on mine (whole network with MNIST replay)"
    assert listing.run_labels(run_index(lab))[NAME] == f"Residual · {tuned} · 07:31:03"
    (choice,) = [c for c in catalogue.checkpoint_choices("residual", run_index(lab)) if not c.shipped]
    assert tuned in choice.label
    (row,) = notebook.notebook_rows(lab)
    assert row.recipe == tuned
    at = open_app("app_pages/train.py")
    at.session_state["train_run"] = str(run)
    at.run()
    assert_clean(at)
    assert f"{tuned} from residual.pt" in next(m.value for m in at.markdown if NAME in m.value)
    assert any("from scratch" in c.value and tuned in c.value for c in at.caption)
