"""The Handwriting page's guided collection: "draw a 3", k times per digit, with undo, skip and redo (Streamlit side)."""

from __future__ import annotations

import streamlit as st
from streamlit_drawable_canvas import st_canvas

from app_pages import _handwriting_store as store
from app_pages import _upload_parts as upload_parts
from app_pages._canvas_clear import clear_button
from app_pages._common import guarded
from app_pages._escape import literal
from netlib.analysis.preprocess import prepare
from netlib.handwriting import sets
from app_pages import _handwriting_plan as collection

CANVAS = 280  # px, as on Draw
STATE = "hw_collect"  # this session's collection: a collection.Plan
CANVAS_KEY = "hw_canvas_key"  # the widget key of the canvas now shown (each prompt gets a fresh, empty one)


def plan() -> collection.Plan | None:
    return st.session_state.get(STATE)


def start_form(names: list[str]) -> None:
    """Name a new set (or pick one to add to) and k; Start makes the plan."""
    with st.form("hw_start", border=False):
        a, b = st.columns([2, 1], vertical_alignment="bottom")
        name = a.text_input("Set name", key="hw_new_name", placeholder="my digits",
                            help="a new set, or the name of one of yours to add more examples to it")
        k = b.number_input("Examples per digit", collection.MIN_K, collection.MAX_K, collection.DEFAULT_K,
                           key="hw_k", help="each digit this many times, in rounds: 0-9, then 0-9 again")
        digits = st.pills("Digits", list(range(10)), selection_mode="multi", default=list(range(10)),
                          key="hw_digits", help="all ten, or only the ones you want to teach it")
        go = st.form_submit_button("Start collecting", type="primary", icon=":material/draw:")
    if go:
        try:
            plan = collection.Plan.new(name, int(k), digits or ())  # checked before a set is made
            plan.name = store.ensure_set(name, names)
        except (store.SetError, ValueError) as e:
            st.error(str(e), icon=":material/error:")
            return
        st.session_state[STATE] = plan
        st.rerun()


def canvas(key: str):
    """The canvas (white ink on black, as on Draw) and its Clear button; the RGBA array, or None untouched."""
    width = st.slider("Brush width", 6, 40, 18, key="hw_brush")
    result = st_canvas(stroke_width=width, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS,
                       width=CANVAS, drawing_mode="freedraw", return_image_data=True, update_streamlit=True,
                       key=key)
    strokes = len((result.json_data or {}).get("objects") or [])
    # Hidden, as on Draw: how many strokes the server has of this drawing, so a browser test keeps a whole digit
    st.html(f'<style>[data-testid="stColumn"]:has(.st-key-{key}) {{ min-width: {CANVAS}px }}'
            '[data-testid="stElementContainer"]:has(.drawn-strokes) { display: none }</style>'
            f'<span class="drawn-strokes" data-strokes="{strokes}"></span>')
    clear_button(key, key=f"{key}_clear")  # empties it in the browser; a fallback press finds it empty anyway
    return result.image_data if strokes else None


def collect(p: collection.Plan) -> None:
    """The prompt, the canvas and Keep / Skip / Undo, then the examples so far (each can be redrawn)."""
    slot = p.at
    left, right = st.columns([1, 1], gap="large")
    with left:
        if slot is None:
            st.success(f"Done: {len(p.kept)} examples kept in {literal(p.name)} "
                       f"({len(p.skipped)} skipped). Fine-tune on it in the Fine-tune tab.", icon=":material/check:")
        else:
            st.subheader(f"Draw a {slot.digit}" + (" again" if slot in p.kept else ""))
            st.caption(f"{slot.digit}: example {slot.round + 1} of {p.k} · {len(p.kept)} kept, "
                       f"{p.remaining()} to go")
            st.session_state[CANVAS_KEY] = key = f"hw_canvas_{p.token(slot)}"
            image = canvas(key)
            buttons(p, slot, image)
        if p.history:
            st.button("Undo", icon=":material/undo:", key="hw_undo", on_click=guarded(undo), args=(p,),
                      help="take back the last example kept or skipped")
        st.button("Stop collecting", icon=":material/stop:", key="hw_stop", type="tertiary",
                  on_click=lambda: st.session_state.pop(STATE, None),
                  help="the examples kept so far stay in the set")
    with right:
        examples(p)


def buttons(p: collection.Plan, slot: collection.Slot, image) -> None:
    a, b = st.columns(2)
    if a.button("Keep", type="primary", icon=":material/check:", key="hw_keep", disabled=image is None,
                help=None if image is not None else "draw the digit first"):
        prepared = prepare(image)
        if prepared.blank or prepared.scribble:
            st.warning(prepared.hint, icon=":material/gesture:")
            return
        if guarded(keep)(p, slot, prepared.preview):  # on an error its message stays on the page
            st.rerun()
    if b.button("Skip", icon=":material/skip_next:", key="hw_skip"):
        p.skip(slot)
        st.rerun()


def keep(p: collection.Plan, slot: collection.Slot, image28) -> bool:
    """Store the drawing in the set (now, so nothing is lost); a redrawn example replaces the old one, whose
    image Undo puts back."""
    old = p.kept.get(slot)
    replaced = store.images(p.name, [old]).get(old, (None,))[0] if old is not None else None
    example = sets.add_example_file(None, p.name, image28, slot.digit)  # a file name: unlike an index, it never moves
    if old is not None:
        sets.remove_example(None, p.name, file=old)
    p.keep(slot, example, replaced)
    return True


def undo(p: collection.Plan) -> None:
    """Take back the last Keep (its example leaves the set) or Skip; its digit is the one to draw next.
    Undoing a redraw puts the first drawing back in the set (stored anew: its held-out mark is decided again)."""
    slot, example, replaced = p.undo()
    if example is not None:
        sets.remove_example(None, p.name, file=example)
    if replaced is not None:
        p.restore(slot, sets.add_example_file(None, p.name, replaced, slot.digit))


def examples(p: collection.Plan) -> None:
    """The kept examples, a row per digit (the held-out ones marked); click one to draw it again."""
    if not p.kept:
        st.caption("Your kept digits appear here; click one to draw it again.")
        return
    found = store.images(p.name, list(p.kept.values()))
    for digit in p.digits:
        slots = [s for s in p.slots_of(digit) if s in p.kept and p.kept[s] in found]
        if not slots:
            continue
        cols = st.columns(max(p.k, 6))
        for col, s in zip(cols, slots):
            image, held = found[p.kept[s]]
            col.image(image, width=40, clamp=True)
            col.button(f"{digit} · test" if held else str(digit), key=f"hw_redo_{p.token(s)}", type="tertiary",
                       on_click=p.goto, args=(s,),
                       help=f"held out for testing: never trained on · draw this {digit} again" if held
                       else f"draw this {digit} again")
    st.caption("“test”: held out for testing, never trained on (chosen when it was kept, and kept so).")


def upload_example(names: list[str]) -> None:
    """One digit image and its label, read the way Draw reads an upload, added to a set."""
    if not names:
        st.info("Make a set first (start collecting above), then add uploads to it.", icon=":material/info:")
        return
    up = guarded(upload_parts.upload_input)()
    if up is None:
        return
    upload_parts.what_it_found(up)
    a, b, c = st.columns([2, 1, 1], vertical_alignment="bottom")
    name = a.selectbox("Add to set", names, key="hw_upload_set")
    label = b.selectbox("It is a", list(range(10)), index=None, key="hw_upload_label", placeholder="digit")
    ready = label is not None and not (up.prepared.blank or up.prepared.scribble)
    c.button("Add", icon=":material/add:", key="hw_upload_add", disabled=not ready, on_click=guarded(add_upload),
             args=(name, up.prepared.preview, label),
             help=None if ready else "say which digit it is (and crop it to one digit)")


def add_upload(name: str, image28, label: int) -> None:
    """Add's click: the upload into the set, then the label cleared (a second click adds nothing twice)."""
    sets.add_example_file(None, name, image28, int(label))
    st.session_state.pop("hw_upload_label", None)
    st.toast(f"Added a {label} to {name}.")


