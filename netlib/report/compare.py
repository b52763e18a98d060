"""A report's comparison of several runs, as Compare draws it: runs that differ only in seed as one group
with its band, the groups' table, and whether two groups differ by more than seed noise."""

from __future__ import annotations

from ..charts import training
from ..charts.groups import group_series
from ..runs import groups, summary
from .document import Document, paragraph, table
from ..runs.summary import pct


def group_rows(found: list) -> list[dict]:
    """A row per group (a single run's as it is): its runs, speed and accuracy."""
    rows = []
    for g in found:
        s = groups.group_stats(g)
        rows.append({"runs": ", ".join(r.name for r in g.runs), "network": s["network_label"],
                     "recipe": s["recipe"], "seeds": ", ".join(map(str, g.seeds)), "status": s["status"],
                     "epochs": s["epochs"],
                     "s / epoch": round(s["s_per_epoch"], 1) if s["s_per_epoch"] else None,
                     "samples / s": round(s["samples_per_s"]) if s["samples_per_s"] else None,
                     "best test acc": pct(s["best_test_acc"]),
                     "final test acc": s["final_words"] or pct(s["final_test_acc"]),
                     "time to 99%": summary.format_seconds(s["time_to_99"]) if s["time_to_99"] else "not reached"})
    return rows


def section(doc: Document, runs: list) -> list:
    """The runs overlaid (groups of seeds as bands), the verdict for two groups, the table. Returns the
    groups found."""
    found = groups.group_runs(runs)
    doc.heading("Comparison", 2, "comparison")
    doc.add_figure(training.compare_figure(group_series(found)))
    if any(len(g.runs) > 1 for g in found):
        doc.add(paragraph("A group of seeds (runs that differ only in seed) is drawn as a band: min to max for "
                          "2 seeds, mean ± the sample standard deviation for 3 or more, under its mean.", "muted"))
    if len(found) == 2:
        doc.add(paragraph(groups.compare_groups(*found).sentence))
    doc.add(table(group_rows(found), numeric=("epochs", "s / epoch", "samples / s")))
    return found
