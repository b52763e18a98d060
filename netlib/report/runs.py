"""A run's part of a report: what it is, where it got to (a run still training says so), its final
figures, the settings it was asked for and trained with, and its training charts."""

from __future__ import annotations

from ..charts import training
from ..charts.style import model_color
from ..request import RequestError, RunRequest, trained_on
from ..runs import labels, summary
from ..runs.files import CANCELLED, FAILED_STATUSES, LIVE_STATUSES, PRUNED, UNREADABLE, WAITING_STATUSES
from ..runs.meta import read_meta
from ..runs.reader import RunInfo
from ..runs.summary import pct
from .document import Document, note, pairs, paragraph, text


def title_of(run: RunInfo) -> str:
    """What the report calls a run: its label when a person set one, else network · recipe · time."""
    label = read_meta(run.dir).label
    return label or labels.short_label(run.name, run.config)


def state_note(run: RunInfo) -> str:
    """A sentence for a run that has not simply finished: still training (the epoch reached), waiting,
    failed or stopped; '' for a finished run."""
    if run.status in LIVE_STATUSES:
        p = summary.progress(run)
        done = len(run.epochs)
        return note(f"This run was still training ({run.status}) when this report was made: epoch {p.epoch} "
                    f"of {p.epochs} reached, {done} finished. Its figures and charts stop there; make the "
                    "report again once it has ended for the final ones.")
    if run.status in WAITING_STATUSES:
        return note(f"This run had not started when this report was made ({run.status}): it has no "
                    "figures yet.")
    if run.status == UNREADABLE:
        return note(f"This run folder cannot be read: {run.reason}", bad=True)
    if run.status == CANCELLED or run.status in FAILED_STATUSES:
        return note(f"This run {run.status}: {run.reason or 'no reason recorded'}.", bad=run.status != CANCELLED)
    if run.status in ("stopped", PRUNED):
        return note(f"This run was {run.status} after {len(run.epochs)} epoch(s): "
                    f"{run.reason or 'a person stopped it'}.")
    return ""


def final_figures(run: RunInfo) -> list[tuple]:
    """The numbers a reader looks for first, from the run's per-epoch events."""
    s, ep = summary.run_stats(run), run.epochs
    return [("final test accuracy", pct(s["final_test_acc"])), ("best test accuracy", pct(s["best_test_acc"])),
            ("final test loss", f"{ep[-1]['test_loss']:.4f}" if ep else None),
            ("final training loss", f"{ep[-1]['train_loss']:.4f}" if ep else None),
            ("epochs finished", s["epochs"]),
            ("training time", summary.format_seconds(ep[-1].get("elapsed")) if ep else None),
            ("seconds per epoch", f"{s['s_per_epoch']:.1f}" if s["s_per_epoch"] else None),
            ("samples per second", f"{s['samples_per_s']:,.0f}" if s["samples_per_s"] else None),
            ("time to 99% test accuracy", summary.format_seconds(s["time_to_99"]) if s["time_to_99"]
             else "not reached")]


def settings(run: RunInfo) -> list[tuple]:
    """What the run was asked for (its run request) and what that resolved to (config.json)."""
    c = run.config
    asked = c.get("request") if isinstance(c.get("request"), dict) else None
    rows = [("network", labels.network_label(c)), ("recipe", labels.recipe_label(c))]
    if asked is not None:
        rows += [(f"asked: {k}", v) for k, v in asked.items()]
        try:
            rows.append(("command", "python -m netlib " + " ".join(RunRequest.from_dict(asked).command())))
        except (RequestError, TypeError):
            rows.append(("command", "— (the stored request is not one this version reads)"))
    elif isinstance(c.get("argv"), list):
        rows.append(("command", "python -m netlib " + " ".join(map(str, c["argv"]))))
    recipe = c.get("recipe") if isinstance(c.get("recipe"), dict) else {}
    rows += [(f"used: {k}", v) for k, v in recipe.items()]
    data_dir, synthetic = trained_on(c)
    rows += [("seed", c.get("seed")), ("device", run.start.get("device") or c.get("device")),
             ("threads", run.start.get("threads") or c.get("threads")),
             ("training images", c.get("limit") or run.start.get("samples")),
             ("data", f"{synthetic:,} synthetic digits" if synthetic else f"MNIST ({data_dir or 'default folder'})")]
    return rows


def section(doc: Document, run: RunInfo, anchor: str) -> None:
    """The run's heading, state, notes, figures, settings and charts (the evaluation is added after)."""
    meta = read_meta(run.dir)
    doc.heading(title_of(run), 2, anchor)
    doc.add(paragraph(f"run folder {run.name} · {labels.network_label(run.config)} · "
                      f"{labels.recipe_label(run.config)} · {run.status}", "muted"))
    doc.add(state_note(run))
    if meta.tags:
        doc.add(paragraph("tags: " + " ".join(f"#{t}" for t in meta.tags), "muted"))
    if meta.notes:
        doc.add(f"<pre>{text(meta.notes)}</pre>")
    doc.heading("Final figures", 3)
    doc.add(pairs(final_figures(run)))
    doc.heading("Settings", 3)
    doc.add(pairs(settings(run)))
    charts(doc, run)


def charts(doc: Document, run: RunInfo) -> None:
    """Loss and accuracy side by side, then the gradient flow when gradients were recorded."""
    if not run.epochs and not run.batches:
        doc.add(paragraph("No training recorded yet: no charts.", "muted"))
        return
    color = model_color(run.config.get("model", ""))
    changes = [e for e in run.events if e.get("event") == "lr_change"]
    loss = training.mark_lr_changes(training.loss_figure(run.batches, run.epochs, 0.6, color), changes)
    acc = training.mark_lr_changes(training.accuracy_figure(run.batches, run.epochs, 0.6, color), changes)
    doc.heading("Training", 3)
    doc.add_row(doc.figure(loss), doc.figure(acc))
    layers = run.start.get("grad_layers") or []
    if layers and any(b.get("grad_norm") for b in run.batches):
        doc.add_figure(training.grad_flow_figure(run.batches, layers))
