"""Links that open a view: each page's state as URL query parameters, checked both ways (no streamlit, no torch).

A page's table lists (query name, session key, kind). parse() turns a URL's parameters into session-state
updates plus one message per value it ignored; encode() turns session state back into parameters, leaving
out defaults so links stay short. Every name in a URL (a run, a checkpoint, a lesson) is only looked up
among what the Context lists; no path is ever built from a URL value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..names import DEFAULT_WIDTH, LESION_MODELS, TITLES, lesion_file
from ..request import OPTIONS
from .link_values import (MAX_RUNS, Checkpoint, Choice, Context, Flag, Invalid, Lesson, Run, RunList, Text,
                          Whole, checkpoint_id, shown)

__all__ = ["Context", "checkpoint_id", "encode", "parse", "summary", "PAGES"]

MODEL_NAMES = tuple(TITLES)  # netlib.models.MODELS, in its order (that module imports torch)
DRAW_MODELS = ("inception", "residual")  # the Draw page's two networks (netlib.models.SHOWCASE)
STREAMLIT_OWN = {"embed", "embed_options"}  # Streamlit's own parameters: not ours to judge
MAX_VALUE_CHARS = 200  # longer than any run name, checkpoint id or lesson id

FIRST = object()  # the default is the first choice the widget offers


@dataclass(frozen=True)
class Param:
    name: str  # in the URL
    key: str  # in session state; "{model}" stands for the page's network
    kind: Any
    default: Any = None  # left out of links (FIRST: the widget's first choice; a callable: f(ctx, model))
    only: tuple = ()  # the networks it applies to; () for all


@dataclass(frozen=True)
class PageLinks:
    model_key: str = ""  # the session key of the page's network (checkpoints and `only` follow it)
    params: tuple = ()


def _network(key: str) -> Param:
    return Param("network", key, Choice(MODEL_NAMES), FIRST)


def _shape(blocks_key: str, width_key: str, blocks_default: int = 1, models: bool = True) -> tuple:
    """The blocks and width parameters: the run request's ranges and networks (models=False: a page whose
    two networks share one setting)."""
    blocks, width = OPTIONS["blocks"], OPTIONS["width"]
    return (Param("blocks", blocks_key, Whole(blocks.low, blocks.high), blocks_default, blocks.models if models else ()),
            Param("width", width_key, Whole(width.low, width.high), DEFAULT_WIDTH, width.models if models else ()))


def _shipped(fixed: str = ""):
    """The default checkpoint: the first the picker offers when that is a shipped one (shipped files do not
    come and go while the server runs). A run's or an upload's is never left out of a link: a run saving
    its first checkpoint, or one deleted, must not turn a link into one naming another checkpoint."""
    def first_shipped(ctx: Context, model: str) -> Optional[str]:
        ids = ctx.checkpoints(fixed or model)
        return ids[0] if ids and ids[0].startswith("shipped:") else None
    return first_shipped


def _lesion_default(ctx: Context, model: str) -> str:
    """The Lesion tab starts on the shipped lesion checkpoint (it has depth to remove)."""
    return f"shipped:{lesion_file(model)}"


PAGES: dict[str, PageLinks] = {
    "home": PageLinks(),
    "train": PageLinks("model", (_network("model"), *_shape("blocks", "width"), Param("run", "train_run", Run()))),
    "inspect": PageLinks("inspect_model", (
        _network("inspect_model"), *_shape("inspect_blocks", "inspect_width"),
        Param("checkpoint", "inspect_ckpt_{model}", Checkpoint(), _shipped()),
        Param("tab", "inspect_tab", Choice(), FIRST), Param("digit", "inspect_index", Whole(0, size="test_size"), 0),
        Param("lesion", "lesion_ckpt_{model}", Checkpoint(), _lesion_default, LESION_MODELS))),
    "map": PageLinks("map_model", (
        _network("map_model"), Param("checkpoint", "map_ckpt_{model}", Checkpoint(), _shipped()),
        Param("view", "map_view", Choice(("one", "two", "epochs")), "one"),
        Param("projection", "map_method", Choice(("pca", "tsne")), "pca"),
        Param("digits", "map_n", Choice((500, 1000, 2000, 5000, 10000)), 2000))),
    # Compare's pairs are the page's own; both networks of a pair share the blocks and width settings
    "compare": PageLinks("", (Param("pair", "cmp_pair", Choice(), FIRST), *_shape("cmp_blocks", "cmp_width", 3, False),
                              Param("run", "compare_runs", RunList()),
                              Param("axis", "cmp_axis", Choice(("epoch", "time")), FIRST))),
    "results": PageLinks("results_model", (
        _network("results_model"), Param("checkpoint", "results_ckpt_{model}", Checkpoint(), _shipped()),
        Param("true", "results_true", Choice(tuple(range(10)), optional=True)),
        Param("read", "results_read", Choice(tuple(range(10)), optional=True)))),
    "draw": PageLinks("", tuple(Param(m, f"draw_ckpt_{m}", Checkpoint(m), _shipped(m)) for m in DRAW_MODELS)),
    "handwriting": PageLinks("", (Param("tab", "hw_tab", Choice(), FIRST),)),  # drawings and sets stay out
    # the notebook's view: its filters and toggles (the rows ticked are an edit in progress: left out)
    "runs": PageLinks("", (Param("archived", "runs_show_archived", Flag(), False),
                           Param("grouped", "runs_grouped", Flag(), True), Param("network", "runs_network", Text(), ""),
                           Param("status", "runs_status", Text(), ""), Param("tag", "runs_tag", Text(), ""),
                           Param("search", "runs_search", Text(), ""))),
    "sweep": PageLinks(),  # the sweep and its form stay out of links
    "lessons": PageLinks("", (Param("lesson", "lesson", Lesson()),)),
}


def _default(p: Param, ctx: Context, key: str, model: str):
    if callable(p.default):
        return p.default(ctx, model)
    if p.default is FIRST:
        choices = p.kind.choices(ctx, key)
        return choices[0] if choices else None
    return p.default


def _model(table: PageLinks, state: Mapping) -> str:
    value = state.get(table.model_key) if table.model_key else None
    return value if value in MODEL_NAMES else MODEL_NAMES[0]


def _texts(raw) -> list[str]:
    """A parameter's values as a list of strings (st.query_params gives one, get_all a list)."""
    values = raw if isinstance(raw, (list, tuple)) else [raw]
    for v in values:
        if not isinstance(v, str):
            raise Invalid("text expected")
        if len(v) > MAX_VALUE_CHARS:
            raise Invalid(f"longer than {MAX_VALUE_CHARS} characters")
    return list(values)


def _parse_one(p: Param, texts: list[str], ctx: Context, model: str, key: str, messages: list):
    """The session value for one parameter, or None (with a message) when nothing in it can be used."""
    if getattr(p.kind, "multiple", False):
        good = []
        for text in texts:
            try:
                good.append(p.kind.parse(text, ctx, model, key))
            except Invalid as e:
                messages.append(f"`{p.name}={shown(text)}`: {e}")
        if len(good) > MAX_RUNS:
            messages.append(f"`{p.name}`: only the first {MAX_RUNS} are used")
        return list(dict.fromkeys(good))[:MAX_RUNS] or None
    try:
        return p.kind.parse(texts[-1], ctx, model, key)  # a repeated parameter: the last one, as Streamlit does
    except Invalid as e:
        messages.append(f"`{p.name}={shown(texts[-1])}`: {e}")
        return None


def parse(page: str, params: Mapping, ctx: Context, state: Optional[Mapping] = None) -> tuple[dict, list[str]]:
    """(session-state updates, messages) for a URL's parameters on `page`; state is the session's now
    (the network a checkpoint belongs to when the link does not name one). Never raises on any input."""
    table = PAGES.get(page, PageLinks())
    state = dict(state or {})
    known = {p.name: p for p in table.params}
    updates: dict = {}
    messages = [f"`{shown(k)}`: not a setting of this page" for k in params
                if k not in known and str(k) not in STREAMLIT_OWN]
    for p in table.params:
        if p.name not in params:
            continue
        model = _model(table, {**state, **updates})
        try:
            texts = _texts(params[p.name])
        except Invalid as e:
            messages.append(f"`{p.name}`: {e}")
            continue
        if p.only and model not in p.only:
            messages.append(f"`{p.name}={shown(texts[-1])}`: only for "
                            + " and ".join(TITLES[m] for m in p.only) + f", not {TITLES[model]}")
            continue
        key = p.key.format(model=model)
        value = _parse_one(p, texts, ctx, model, key, messages)
        if value is not None or (getattr(p.kind, "optional", False) and texts[-1] == "any"):
            updates[key] = value
    return updates, messages


def encode(page: str, state: Mapping, ctx: Context) -> dict:
    """The URL parameters for `page`'s view in `state`: only values that differ from the defaults."""
    table = PAGES.get(page, PageLinks())
    model = _model(table, state)
    out: dict = {}
    for p in table.params:
        key = p.key.format(model=model)
        if key not in state or (p.only and model not in p.only):
            continue
        value = state[key]
        if value is None or value == _default(p, ctx, key, model):
            continue
        text = p.kind.encode(value, ctx, model, key)
        if text is not None:
            out[p.name] = text
    return out


def summary(messages: list[str], limit: int = 5) -> str:
    """One paragraph for a page's warning about what a link asked for and did not get."""
    shown_ = messages[:limit] + ([f"and {len(messages) - limit} more"] if len(messages) > limit else [])
    return "Part of this link was ignored, the rest is shown: " + "; ".join(shown_) + "."
