"""A report as one self-contained HTML page: escaped text, tables, inline images, and Plotly figures that
share one copy of plotly.js written into the page (nothing is fetched: no CDN, no web font, no MathJax)."""

from __future__ import annotations

import base64
import html
import time
from typing import Iterable, Optional

# The page's look, inline. Only fonts every system has: a web font would be a request.
CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1F2937; margin: 0 auto;
       max-width: 1180px; padding: 24px; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; } h2 { margin-top: 2em; border-bottom: 1px solid #E5E7EB; }
h3 { margin-top: 1.4em; } .muted { color: #6B7280; font-size: 0.92em; }
.note { background: #FEF3C7; border-left: 4px solid #D97706; padding: 8px 12px; margin: 12px 0; }
.bad { background: #FEE2E2; border-left-color: #DC2626; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
th, td { border: 1px solid #E5E7EB; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #F9FAFB; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { white-space: pre-wrap; background: #F9FAFB; padding: 8px 12px; border: 1px solid #E5E7EB; }
code { background: #F3F4F6; padding: 0 3px; }
.row { display: flex; flex-wrap: wrap; gap: 12px; } .row > div { flex: 1 1 480px; min-width: 0; }
.digits { display: flex; flex-wrap: wrap; gap: 10px; }
.digit { border: 1px solid #E5E7EB; padding: 6px; text-align: center; font-size: 0.85em; width: 96px; }
.digit img { width: 84px; height: 84px; image-rendering: pixelated; display: block; margin: 0 auto 4px; }
"""
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def text(value) -> str:
    """Any value as HTML text: names, labels and notes come from run folders a person may have edited."""
    return html.escape("" if value is None else str(value), quote=True)


def paragraph(words: str, css: str = "") -> str:
    return f'<p class="{text(css)}">{text(words)}</p>' if css else f"<p>{text(words)}</p>"


def note(words: str, bad: bool = False) -> str:
    """A boxed sentence a reader must not miss (a run still training, a part left out and why)."""
    return f'<div class="note{" bad" if bad else ""}">{text(words)}</div>'


def table(rows: list[dict], numeric: Iterable[str] = ()) -> str:
    """rows (dicts with the same keys) as a table; every cell escaped, None shown as '—'."""
    if not rows:
        return ""
    keys, right = list(rows[0]), set(numeric)
    head = "".join(f"<th>{text(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f'<td{" class=num" if k in right else ""}>{cell(r.get(k))}</td>'
                                    for k in keys) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def pairs(items: Iterable[tuple]) -> str:
    """(name, value) pairs as a two-column table."""
    body = "".join(f"<tr><th>{text(k)}</th><td>{cell(v)}</td></tr>" for k, v in items)
    return f"<table><tbody>{body}</tbody></table>" if body else ""


def cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return text(f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}")
    if isinstance(value, (list, tuple)):
        return text(", ".join(map(str, value)))
    return text(value)


def png_uri(data: bytes) -> str:
    """An image inline, as a data: URI (a file beside the report would be lost when it is mailed)."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


class Document:
    """The report being written: parts of HTML in order, and its figures, each a div of its own with
    its data; plotly.js itself goes into the page once, in its head."""

    def __init__(self, title: str):
        self.title = title
        self.parts: list[str] = []
        self.figures = 0

    def add(self, *parts: str) -> None:
        self.parts.extend(p for p in parts if p)

    def heading(self, words: str, level: int = 2, anchor: Optional[str] = None) -> None:
        at = f' id="{text(anchor)}"' if anchor else ""
        self.parts.append(f"<h{level}{at}>{text(words)}</h{level}>")

    def figure(self, fig) -> str:
        """The figure as a div (to add, or to place in a row): its data and the call that draws it.
        Fixed ids, so the same runs make the same file."""
        self.figures += 1
        return fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False,
                           div_id=f"figure-{self.figures}", config=PLOT_CONFIG, default_width="100%")

    def add_figure(self, fig) -> None:
        self.parts.append(self.figure(fig))

    def add_row(self, *divs: str) -> None:
        """Figures (or any parts) side by side, wrapping on a narrow screen."""
        self.parts.append('<div class="row">' + "".join(f"<div>{d}</div>" for d in divs if d) + "</div>")

    def render(self) -> str:
        """The whole page. plotly.js (about 4.8 MB) is written once, and only when a figure needs it."""
        from plotly.offline import get_plotlyjs

        script = f'<script type="text/javascript">{get_plotlyjs()}</script>' if self.figures else ""
        made = time.strftime("%Y-%m-%d %H:%M %Z")
        return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{text(self.title)}</title>\n<style>{CSS}</style>\n{script}\n</head>\n<body>\n"
                f"<h1>{text(self.title)}</h1>\n"
                + paragraph(f"Made by the MNIST network lab (python -m netlib report) on {made}. This file "
                            "needs no server and no network: the charts are interactive (hover, zoom, "
                            "click a legend entry).", "muted")
                + "\n" + "\n".join(self.parts) + "\n</body>\n</html>\n")
