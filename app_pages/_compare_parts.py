"""Compare's parts: runs and groups of seeds as chart series, the table, and the seed-noise verdict."""

import streamlit as st

from app_pages._common import model_cost, pct
from netlib.charts import style
from netlib.models import DEFAULT_WIDTH, MODELS
from netlib.runs import groups, labels, summary
from netlib.runs.files import LIVE_STATUSES


def series(runs: list) -> list[dict]:
    """One series per run (the gradient-flow charts)."""
    return group_series([groups.Group(r.name, [r]) for r in runs])


def group_series(found: list, axis: str = "epoch") -> list[dict]:
    """One series per group: a single run as a line, several seeds as a band under their mean."""
    out, used = [], {}
    for i, g in enumerate(found):
        model = g.config.get("model", "?")
        # the first group of each network gets its network's colour, later ones the palette
        color = style.model_color(model) if model not in used else style.RUN_PALETTE[(i + 2) % 8]
        used[model] = True
        if len(g.runs) == 1:
            info = g.runs[0]
            out.append({"label": labels.short_label(info.name, info.config), "color": color,
                        "batches": info.batches, "epochs": info.epochs})
        else:
            out.append({"label": g.label, "color": color, "band": groups.band(g, axis),
                        "runs": [{"batches": r.batches, "epochs": r.epochs} for r in g.runs]})
    return out


def run_cost(info) -> dict:
    """Parameters and multiply-adds of the network a run trained, as it was sized."""
    kw = info.config.get("model_kwargs") or {}
    model = info.config.get("model")
    if model not in MODELS or not isinstance(kw, dict):
        return {"params": None, "macs": None}
    return model_cost(model, kw.get("blocks", 1), kw.get("width", DEFAULT_WIDTH))


def table(found: list) -> None:
    """A row per group (a single run's row as it always was); a group's final accuracy is its mean with
    its spread."""
    rows, said = [], []
    for g in found:
        info, s = g.runs[0], groups.group_stats(g)
        cost = run_cost(info)
        said.append({**s, "macs": cost["macs"], "threads": info.start.get("threads"),
                     "recipe_values": info.config.get("recipe"), "limit": info.config.get("limit"),
                     "device": info.config.get("device")})
        rows.append({
            "run": labels.run_time(s["run"]), "network": s["network_label"], "recipe": s["recipe"],
            "parameters": cost["params"],
            "M mult-adds / sample": cost["macs"] / 1e6 if cost["macs"] else None,
            "epochs": s["epochs"],
            "s / epoch": s["s_per_epoch"],
            "samples/s": round(s["samples_per_s"]) if s["samples_per_s"] else None,
            "best test acc": pct(s["best_test_acc"]), "final test acc": s["final_words"] or pct(s["final_test_acc"]),
            "time to 99%": summary.format_seconds(s["time_to_99"]) if s["time_to_99"] else "not reached",
        })
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "run": st.column_config.TextColumn(help="the run's start time (its full name is in the picker above), "
                                                "or how many seeds a group has"),
        "parameters": st.column_config.NumberColumn(format="localized"),
        "M mult-adds / sample": st.column_config.NumberColumn(format="%.2f"),
        "s / epoch": st.column_config.NumberColumn(format="%.1f"),
        "samples/s": st.column_config.NumberColumn(format="localized"),
    })
    if any(len(g.runs) > 1 for g in found):
        st.caption("A group of seeds: best test acc is its mean curve's best; final test acc its mean, with "
                   "the range of 2 seeds or ± the sample standard deviation (n - 1) of 3 or more; its band "
                   "on the chart is the same: min to max for 2 seeds, mean ± sd for 3 or more.")
    finished = [r for r in said if r["status"] not in LIVE_STATUSES]
    sentence = summary.cost_against_time(finished)
    if sentence:
        st.markdown(sentence)


def verdict(found: list) -> None:
    """With two groups (or two single runs) on the chart: do they differ by more than seed noise?"""
    if len(found) != 2:
        return
    v = groups.compare_groups(*found)
    icon = {"noise": ":material/blur_on:", "ahead": ":material/trending_up:"}.get(v.kind, ":material/info:")
    st.markdown(f"{icon} {v.sentence}")  # not st.info: the page's info boxes say what it is waiting for
