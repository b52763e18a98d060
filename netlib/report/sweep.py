"""A sweep in a report: what it searched, every trial (parameters, state, accuracy, run) and Optuna's own
figures, each drawn when the study has what it needs, else the one line saying why (as the Sweep page)."""

from __future__ import annotations

from pathlib import Path

from ..charts import sweep as figures
from ..lab import sweeps as lab
from ..sweeps import trials as T
from .document import Document, pairs, paragraph, table


def trial_rows(study, spec, runs_dir: Path) -> list[dict]:
    """The Sweep page's table, the run named by its folder (a file has no server to link to)."""
    rows = T.rows(study)
    out = lab.trial_table(rows, list(spec.axes()), runs_dir, "")
    for row, r in zip(out, rows):
        row["Accuracy"] = None if row["Accuracy"] is None else f"{row['Accuracy']:.2f}%"
        row["Best so far"] = None if row["Best so far"] is None else f"{row['Best so far']:.2f}%"
        row["Time"] = None if row["Time"] is None else f"{row['Time']:.0f} s"
        row["Run"] = r.run
    return out


def section(doc: Document, study, spec, runs_dir: Path) -> None:
    """The sweep's settings, its trials, its best trial and Optuna's figures."""
    counts = T.progress(study)
    done, total = lab.finished(counts)
    doc.heading(f"Sweep {spec.name}", 2, "sweep")
    doc.add(pairs([("sampler", spec.sampler), ("pruning", spec.prune),
                   ("varies", ", ".join(spec.axes()) or "nothing"),
                   *((f"all trials: {k}", v) for k, v in spec.constants().items()),
                   ("trials", f"{done} of {total} finished · "
                              + " · ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())))]))
    if done < total:
        doc.add(paragraph(f"The sweep was still going when this report was made: {total - done} trial(s) "
                          "waiting or training.", "note"))
    doc.heading("Trials", 3)
    doc.add(table(trial_rows(study, spec, runs_dir), numeric=("Trial", "Accuracy", "Epoch", "Best so far", "Time")))
    best = T.best(study)
    if best is not None:
        doc.add(paragraph(f"Best trial: {best.number}, {best.value:.2f}% · "
                          + " · ".join(f"{k} = {v}" for k, v in best.params.items()) + f" · run {best.run}"))
    doc.heading("Optuna's figures", 3)
    for key, name, what in figures.FIGURES:
        fig, why = figures.figure(study, key)
        doc.heading(name, 4)
        if fig is None:
            doc.add(paragraph(why, "muted"))
        else:
            doc.add_figure(fig)
            doc.add(paragraph(f"Optuna's figure: {what}.", "muted"))
