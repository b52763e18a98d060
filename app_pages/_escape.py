"""Text from a run folder (names, reasons, log lines) put into Streamlit markdown so that it shows as it is."""

import re

# What makes markdown (or Streamlit's :icons:, :color[...]: and $LaTeX$) anywhere in a line; GFM's bare
# links need their '://', '@' or 'www.'. A '-' or '.' is only markdown where a line starts, so names like
# 20250101-000000-residual-fast-001 stay as they are.
_INLINE = re.compile(r"([\\`*_\[\]<>!~$:|@])")
_LINE_START = re.compile(r"^([ \t]*)([#+=-])", re.MULTILINE)  # a heading, a list item, a rule
_ORDERED = re.compile(r"^([ \t]*\d{1,9})([.)])", re.MULTILINE)  # "1. " starts a numbered list
_WWW = re.compile(r"\b(www)\.", re.IGNORECASE)


def literal(text) -> str:
    """Markdown that shows `text` as it is: a copied-in run folder's `[x](url)` or `![x](url)` in a model
    name, a recipe or a log line becomes text, never a link or a remote image."""
    text = _INLINE.sub(r"\\\1", str(text))
    text = _ORDERED.sub(r"\1\\\2", _LINE_START.sub(r"\1\\\2", text))
    return _WWW.sub(r"\1\\.", text)


def code(text) -> str:
    """`text` as one inline code span whatever backticks it holds: the fence is one backtick longer than
    its longest run of them (inside a code span nothing is markdown; a backslash escape would show)."""
    text = str(text).replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{text}{pad}{fence}"
