"""The Sweep page's form: the space to search, the trial count and the measured time estimate, Start."""

from __future__ import annotations

import os
import time

import streamlit as st

from app_pages._common import device_label, runs_dir
from netlib.lab import sweeps as lab
from netlib.names import DEFAULT_WIDTH, DEPTH_MODELS, TITLES, WIDTH_MODELS
from netlib.recipes import DEFAULT_RECIPE, OPTIMIZERS, RECIPES, recipe_for
from netlib.runs import reader
from netlib.sweeps import trials as T
from netlib.request import OPTIONS
from netlib.sweeps.space import MNIST_TRAIN, PRUNERS, SAMPLERS, SpaceError

LR_LOWEST = 1e-6  # the range inputs' floor: a log-scale search below it learns nothing in a few epochs

SELECTED = "sweep_name"  # the sweep the page watches
MESSAGE = "sweep_message"  # (kind, text) to show once after Start's rerun
LR_MODES = {"list": "a list", "range": "a log range (random or TPE)", "recipe": "each recipe's own"}
SAMPLER_HELP = ("grid: every combination once, in order. random: draws the trials from the space. tpe: "
                "Optuna's TPE, which draws near the best trials so far once a few have finished.")
PRUNE_HELP = ("none: every trial trains all its epochs. median: a trial stops after an epoch whose accuracy "
              "is below the median of the other trials at that epoch. halving: successive halving keeps "
              "the better half at each rung. Pruned trials show as 'pruned'.")


def cores() -> int:
    return os.cpu_count() or 1


def defaults() -> None:
    """Start values, once per session (a widget's value stays the person's after that)."""
    fast = recipe_for(DEFAULT_RECIPE)
    for key, value in (("sweep_new_name", time.strftime("sweep-%Y%m%d-%H%M")), ("sweep_models", ["residual"]),
                       ("sweep_recipes", [DEFAULT_RECIPE]), ("sweep_lr_mode", "list"),
                       ("sweep_lr", f"{fast.lr / 2:g}, {fast.lr:g}"), ("sweep_lr_low", fast.lr / 10),
                       ("sweep_lr_high", fast.lr * 3), ("sweep_seeds", "0"), ("sweep_workers", 1),
                       ("sweep_threads", 0), ("sweep_trials", 0), ("sweep_limit", 0)):
        st.session_state.setdefault(key, value)


def space_inputs() -> dict:
    """The options the trials vary (a list of one is a constant); the form's values for lab.build_spec."""
    a, b = st.columns(2)
    v = {"name": a.text_input("Sweep name", key="sweep_new_name", max_chars=64,
                              help="letters, digits, '_', '.' and '-'; it names the trials' run folders"),
         "model": b.multiselect("Networks", list(TITLES), format_func=TITLES.get, key="sweep_models")}
    if any(m in WIDTH_MODELS for m in v["model"]):
        v["width"] = a.text_input("Widths", key="sweep_widths", placeholder=f"{DEFAULT_WIDTH} (as published)",
                                  help="conv1's channels of Inception and Naive Inception, e.g. 10, 32, 64")
    if any(m in DEPTH_MODELS for m in v["model"]):
        v["blocks"] = b.text_input("Blocks per stage", key="sweep_blocks", placeholder="1 (as published)",
                                   help="Residual and Plain, e.g. 1, 3")
    v["recipe"] = a.multiselect("Recipes", list(RECIPES), key="sweep_recipes",
                                help="each trial starts from its recipe; the lists below replace its values")
    v["lr_mode"] = b.radio("Learning rates", list(LR_MODES), format_func=LR_MODES.get, horizontal=True,
                           key="sweep_lr_mode")
    if v["lr_mode"] == "list":
        v["lr"] = b.text_input("Learning rate values", key="sweep_lr", help="separated by commas")
    elif v["lr_mode"] == "range":
        low, high = b.columns(2)
        v["lr_low"] = low.number_input("Lowest", LR_LOWEST, OPTIONS["lr"].high, key="sweep_lr_low", format="%.2e")
        v["lr_high"] = high.number_input("Highest", LR_LOWEST, OPTIONS["lr"].high, key="sweep_lr_high", format="%.2e")
    v["batch_size"] = a.text_input("Batch sizes", key="sweep_batch", placeholder="the recipe's own",
                                   help="e.g. 64, 128; empty: each recipe's own")
    v["epochs"] = b.text_input("Epochs", key="sweep_epochs", placeholder="the recipe's own",
                               help="e.g. 3; empty: each recipe's own")
    v["optimizer"] = a.multiselect("Optimizers", list(OPTIMIZERS), key="sweep_optimizers",
                                   placeholder="the recipe's own")
    v["augment"] = b.multiselect("Augmentation", ["on", "off"], key="sweep_augment", placeholder="the recipe's own",
                                 help="random shifts and rotations of the training digits")
    v["seed"] = a.text_input("Seeds", key="sweep_seeds", help="e.g. 0, 1, 2: every point trains once per seed")
    v["limit"] = b.number_input("Training images (0: all 60,000)", 0, MNIST_TRAIN, step=1000, key="sweep_limit",
                                help="the first N MNIST training images; the test set stays whole")
    return v


def search_inputs(v: dict) -> int:
    """How the space is searched and who works on it; the number of workers to start here."""
    a, b, c = st.columns(3)
    v["sampler"] = a.selectbox("Sampler", SAMPLERS, key="sweep_sampler", help=SAMPLER_HELP)
    v["trials"] = b.number_input("Trials (0: the whole grid, or 10)", 0, 10_000, key="sweep_trials",
                                 help="a grid runs each point at most once; random and TPE draw this many")
    v["prune"] = c.selectbox("Pruning", PRUNERS, key="sweep_prune", help=PRUNE_HELP)
    n = a.number_input("Workers on this machine", 0, cores(), key="sweep_workers",
                       help=f"worker processes started here, each training one trial at a time. This machine "
                            f"has {cores()} cores: with W workers each trial gets {cores()} ÷ W threads unless "
                            "you set them. 0: none here (start workers with python -m netlib sweep work NAME "
                            "on any machine that reaches the storage).")
    asked = b.number_input("Threads per trial (0: cores ÷ workers)", 0, cores(), key="sweep_threads",
                           help="more threads than cores ÷ workers makes the trials wait for each other in "
                                "the run queue")
    v["threads"] = lab.threads_per_trial(asked, n)
    c.caption(f"Each trial trains with **{v['threads']} thread{'s' if v['threads'] != 1 else ''}**.")
    v["synthetic"] = lab.synthetic_from_env()
    if v["synthetic"]:
        st.caption(f"The trials train on {v['synthetic']:,} synthetic digits: NETLIB_LAB_SYNTHETIC is set.")
    return int(n)


def new_sweep(storage, url) -> None:
    """The form, the trial count and estimate before anything starts, and the Start button."""
    defaults()
    values = space_inputs()
    n_workers = search_inputs(values)
    try:
        spec = lab.build_spec(values)
    except SpaceError as e:
        st.error(str(e), icon=":material/error:")
        return
    device = device_label().split(" ")[0]
    est = lab.estimate(spec, reader.run_index(runs_dir()), device)
    st.markdown(f"**{spec.total_trials()} trial{'s' if spec.total_trials() != 1 else ''}** · "
                + lab.estimate_text(est, device))
    if st.button("Start the sweep", type="primary", icon=":material/play_arrow:", key="sweep_start"):
        try:
            T.create(spec, storage)
        except SpaceError as e:
            st.error(str(e), icon=":material/error:")
            return
        started = lab.start_workers(runs_dir(), spec.name, url, n_workers)
        st.session_state[SELECTED] = spec.name
        st.session_state[MESSAGE] = ("success", f"Sweep {spec.name} created with {spec.total_trials()} trials; "
                                     + (f"{started} worker{'s' if started != 1 else ''} started here."
                                        if started else "no worker here: start one below, or elsewhere."))
        st.rerun()
