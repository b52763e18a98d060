"""The Draw page's Clear button: it empties the canvas in the browser, at the click, never a server round trip later."""

import streamlit as st

# Clear used to be a server button: the click went to the server, whose rerun handed the canvas a new empty
# drawing. On a busy server (or a slow link) that drawing reached the browser after the person had started
# the next digit, and the canvas, loading it, erased those strokes too (issue 29). This button presses the
# canvas's own "Reset canvas & history" in the browser instead: the canvas empties itself before the next
# event is handled, then reports its empty drawing to the server like any stroke, so every stroke drawn
# after the click lands on the emptied canvas. Should that control ever be missing (another version of
# streamlit-drawable-canvas), the click falls back to the server's way, which the page still handles.
_JS = """
export default function ({ parentElement, data, setTriggerValue }) {
    const button = parentElement.querySelector("button");
    button.onclick = () => {
        const holder = document.querySelector(`.st-key-${data.canvas}`);
        const host = holder && [...holder.querySelectorAll("*")].find((e) => e.shadowRoot);
        const reset = host && host.shadowRoot.querySelector('button[aria-label="Reset canvas & history"]');
        if (reset) reset.click();
        else setTriggerValue("fallback", true);
    };
}
"""
_HTML = ('<button type="button" class="clear"><svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.24 3.56l4.95 '
         '4.94a1.5 1.5 0 0 1 0 2.12L12.5 19.3H20v1.5H7.5l-4.7-4.7a1.5 1.5 0 0 1 0-2.12l11.3-11.3a1.5 1.5 0 0 1 2.13 '
         '0zM4.5 15l4 4h2.9l3.1-3.1-4.95-4.95L4.5 15z"/></svg><span>Clear</span></button>')
_CSS = """
.clear { display: inline-flex; align-items: center; gap: 0.5rem; min-height: 2.5rem; padding: 0.25rem 0.75rem;
    border-radius: var(--st-button-radius, 0.5rem); border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2));
    background: var(--st-background-color, #fff); color: var(--st-text-color, #31333f); font: inherit;
    font-family: var(--st-font, inherit); cursor: pointer; }
.clear:hover, .clear:focus-visible { border-color: var(--st-primary-color, #ff4b4b); color: var(--st-primary-color, #ff4b4b); }
.clear svg { width: 1.1rem; height: 1.1rem; fill: currentColor; }
"""
_component = st.components.v2.component("netlib_clear_canvas", html=_HTML, css=_CSS, js=_JS)


def clear_button(canvas_key: str, key: str) -> bool:
    """The Clear button for the canvas with widget key canvas_key. True only when the browser could not
    reach the canvas's own reset and asks the server to empty it instead."""
    result = _component(data={"canvas": canvas_key}, key=key, on_fallback_change=lambda: None)
    return bool(result.get("fallback"))
