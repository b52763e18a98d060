"""A run's notebook entry, meta.json in its folder: label, notes, tags, archived; read bounded and validated."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ..bounded import read_text_bounded
from ..atomic import atomic_write
from ..safepath import is_contained

META = "meta.json"
MAX_META_BYTES = 64 << 10  # label + notes + tags fit in a few KiB; anything past this is not ours
MAX_LABEL = 200
MAX_NOTES = 20_000
MAX_TAG = 32
MAX_TAGS = 20
TAG_RE = re.compile(r"[A-Za-z0-9_.-]+")
# Characters that change what other text looks like: bidi overrides (a label that reads backwards),
# line and paragraph separators (a one-line label that breaks a table row).
_INVISIBLE = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")


class MetaError(ValueError):
    """A label, note or tag that cannot be stored, or a meta.json that cannot be read: one line."""


@dataclass(frozen=True)
class Meta:
    """What meta.json says; problem is non-empty (and the rest default) when it cannot be used."""

    label: str = ""
    notes: str = ""
    tags: tuple = ()
    archived: bool = False
    problem: str = ""
    extra: dict = field(default_factory=dict, compare=False)  # keys another version wrote: kept on write


def _bad_chars(text: str, allowed: str = "") -> list[str]:
    return sorted({f"U+{ord(c):04X}" for c in text
                   if c not in allowed and (unicodedata.category(c) in ("Cc", "Cs") or c in _INVISIBLE)})


def clean_label(text) -> str:
    """A label as stored: one line of at most MAX_LABEL characters; "" means the folder's name."""
    if not isinstance(text, str):
        raise MetaError("a label must be text")
    text = text.strip()
    if len(text) > MAX_LABEL:
        raise MetaError(f"a label is at most {MAX_LABEL} characters (this one has {len(text):,})")
    bad = _bad_chars(text)
    if bad:
        raise MetaError(f"a label cannot contain control characters ({', '.join(bad[:5])})")
    return text


def clean_notes(text) -> str:
    """Notes as stored: markdown of at most MAX_NOTES characters; line breaks and tabs allowed."""
    if not isinstance(text, str):
        raise MetaError("notes must be text")
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_NOTES:
        raise MetaError(f"notes are at most {MAX_NOTES:,} characters (these have {len(text):,})")
    bad = _bad_chars(text, "\n\t")
    if bad:
        raise MetaError(f"notes cannot contain control characters ({', '.join(bad[:5])})")
    return text


def clean_tag(text) -> str:
    if not isinstance(text, str) or not text or len(text) > MAX_TAG or not TAG_RE.fullmatch(text):
        shown = text[:40] + ("…" if len(text) > 40 else "") if isinstance(text, str) else type(text).__name__
        raise MetaError(f"tag {shown!r}: a tag is 1 to {MAX_TAG} letters, digits, '_', '.' or '-'")
    return text


def clean_tags(tags) -> tuple:
    """Tags as stored: valid, each once, in the order given; at most MAX_TAGS."""
    if not isinstance(tags, (list, tuple)):
        raise MetaError("tags must be a list")
    out = tuple(dict.fromkeys(clean_tag(t) for t in tags))
    if len(out) > MAX_TAGS:
        raise MetaError(f"a run has at most {MAX_TAGS} tags (this would make {len(out)})")
    return out


def _from_dict(raw: dict) -> Meta:
    archived = raw.get("archived", False)
    if not isinstance(archived, bool):
        raise MetaError("archived must be true or false")
    known = {"label", "notes", "tags", "archived", "updated"}
    return Meta(clean_label(raw.get("label", "")), clean_notes(raw.get("notes", "")),
                clean_tags(raw.get("tags", [])), archived, extra={k: v for k, v in raw.items() if k not in known})


def read_meta(run_dir: Path) -> Meta:
    """meta.json of a run: Meta() when there is none; a Meta with `problem` set when it is unusable (not
    a regular file, over MAX_META_BYTES, not JSON, wrong types, a label with control characters)."""
    path = Path(run_dir) / META
    try:
        if not is_contained(run_dir, path):
            return Meta(problem=f"{META} leads outside the run folder")
        raw = json.loads(read_text_bounded(path, MAX_META_BYTES))
    except FileNotFoundError:
        return Meta()
    except OSError as e:  # FileRefused (a FIFO, a device, too big) or no permission
        return Meta(problem=f"{META} unreadable: {str(e).replace(str(path) + ': ', '')}")
    except (ValueError, RecursionError):
        return Meta(problem=f"{META} unreadable: not JSON")
    if not isinstance(raw, dict):
        return Meta(problem=f"{META} unreadable: not a JSON object")
    try:
        return _from_dict(raw)
    except MetaError as e:
        return Meta(problem=f"{META} unreadable: {e}")


def write_meta(run_dir: Path, meta: Meta) -> None:
    """meta.json replaced in one step (a reader never sees half of it); the run folder must exist.
    MetaError, and nothing written, when the file would be too big for read_meta to read back."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():  # atomic_write would create it: a run deleted meanwhile stays deleted
        raise FileNotFoundError(f"run {run_dir.name} is gone (deleted meanwhile?)")
    body = {**meta.extra, "label": clean_label(meta.label), "notes": clean_notes(meta.notes),
            "tags": list(clean_tags(meta.tags)), "archived": bool(meta.archived), "updated": time.time()}
    # UTF-8, not \u escapes: 20,000 accented characters take 40 KB, not 120 KB
    try:
        data = (json.dumps(body, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a key another version wrote: escaped, as JSON allows
        data = (json.dumps(body, indent=1) + "\n").encode("utf-8")
    if len(data) > MAX_META_BYTES:  # written, it would read back as "unreadable" and block every edit
        raise MetaError(f"label, notes and tags are too long to store: {len(data):,} bytes in UTF-8, "
                        f"at most {MAX_META_BYTES:,} (shorten the notes)")
    atomic_write(run_dir / META, lambda f: f.write(data))
