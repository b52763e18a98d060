"""The Handwriting page's fine-tuning: a checkpoint, a set and the variants, each a run request into the queue."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages._common import checkpoint_meta, checkpoint_picker, guarded, runs_dir
from app_pages._escape import code, literal
from netlib.handwriting import tuning
from netlib.lab import launch
from netlib.models import MODELS, title
from netlib.runs import queue, reader

TRAIN_RUN = "train_run"  # the Train page's watched run (train.py's RUN_KEY): the first fine-tuning run
LAUNCHED = "hw_launched"  # the run folders of this session's last fine-tuning, one per variant
ALL = "all three"


def tune_form(set_names: list[str], synthetic: set) -> None:
    """Network, checkpoint, set and variant; Fine-tune queues one run per variant."""
    if not set_names:
        st.info("No set to fine-tune on yet: collect one first.", icon=":material/info:")
        return
    a, b = st.columns(2)
    model = a.selectbox("Network", list(MODELS), key="hw_model", format_func=title)
    with b:
        picked = checkpoint_picker(model, reader.run_index(runs_dir()), key=f"hw_ckpt_{model}",
                                   label="Start from checkpoint")
    c, d = st.columns(2)
    name = c.selectbox("Handwriting set", set_names, key="hw_tune_set",
                       format_func=lambda n: f"{n} (synthetic example)" if n in synthetic else n)
    variant = d.radio("Fine-tune", [*tuning.VARIANTS, ALL], key="hw_variant",
                      format_func=lambda v: tuning.VARIANTS.get(v, v))
    variants = list(tuning.VARIANTS) if variant == ALL else [variant]
    st.caption(tuning.describe(variants) + " Your held-out digits are never trained on."
               + (f" {literal(name)} is synthetic: digits drawn by the lab's stroke renderer in one made-up "
                  "writer's style, standing in for a person's handwriting." if name in synthetic else ""))
    if picked is None:
        return
    if st.button("Fine-tune", type="primary", icon=":material/model_training:", key="hw_tune"):
        dirs = guarded(submit)(model, picked.path, name, variants)
        if dirs:
            st.session_state[LAUNCHED] = [str(p) for p in dirs]
            st.session_state[TRAIN_RUN] = str(dirs[0])
    launched()


def submit(model: str, checkpoint: Path, set_name: str, variants: list[str]) -> list[Path]:
    """One run request per variant, queued together (next to each other in line): ordinary runs."""
    shape = checkpoint_meta(checkpoint).get("model_kwargs") or {}  # the network as the checkpoint has it
    requests = [tuning.request(model, checkpoint, set_name, v, synthetic=launch.synthetic_from_env(), **shape)
                for v in variants]
    return queue.enqueue(runs_dir(), requests, tag="tune")


def launched() -> None:
    dirs = st.session_state.get(LAUNCHED) or []
    if not dirs:
        return
    st.success(f"Queued {len(dirs)} fine-tuning run(s): " + ", ".join(code(Path(d).name) for d in dirs)
               + ". They train like any run; their results appear under What changed.", icon=":material/check:")
    st.page_link("app_pages/train.py", label="Watch on Train", icon=":material/monitoring:")
