"""A run's kept epochs (the keep_epochs request option): where each epoch's weights live in its folder."""

from __future__ import annotations

import re
from pathlib import Path

EPOCHS = "epochs"  # the folder in a run folder that holds them
MAX_FRAMES = 30  # epochs on one run's slider, evenly thinned beyond this: each frame is a whole map to make
_NAME = re.compile(r"epoch-(\d{3,6})\.pt")


def epoch_file(epoch: int) -> str:
    return f"epoch-{int(epoch):03d}.pt"


def kept_epochs(run_dir: Path) -> list[tuple[int, Path]]:
    """(epoch, checkpoint path) of every epoch the run kept, in order; [] when it kept none. Only regular
    files named as the writer names them count (a link or a stray file is not an epoch)."""
    folder = Path(run_dir) / EPOCHS
    try:
        names = [e for e in folder.iterdir() if _NAME.fullmatch(e.name) and e.is_file() and not e.is_symlink()]
    except OSError:  # no such folder (the usual case), or not one
        return []
    found = sorted((int(_NAME.fullmatch(p.name).group(1)), p) for p in names)
    return thinned(found, MAX_FRAMES)


def thinned(items: list, most: int) -> list:
    """At most `most` items, evenly spread, the first and last kept."""
    if len(items) <= most:
        return items
    step = (len(items) - 1) / (most - 1)
    return [items[round(i * step)] for i in range(most)]
