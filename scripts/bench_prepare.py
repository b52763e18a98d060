"""Time prepare() on a 4000 x 3000 photo-like image (uneven light, noise, JPEG): the Draw page's upload path."""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from netlib.analysis.images import load_image  # noqa: E402
from netlib.analysis.preprocess import prepare  # noqa: E402


def photo(seed: int = 0) -> bytes:
    """A 4000 x 3000 JPEG: a dark 7 on paper lit from the right, with sensor noise."""
    img = Image.new("RGB", (4000, 3000), (235, 232, 225))
    ImageDraw.Draw(img).line([(1500, 500), (2500, 500), (1900, 2500)], fill=(30, 30, 60), width=120)
    a = np.asarray(img, np.float32)
    light = 0.6 + 0.4 * np.linspace(0.0, 1.0, 4000, dtype=np.float32)
    a = a * light[None, :, None] + np.random.default_rng(seed).normal(0, 5, a.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def main(repeats: int = 7) -> None:
    image = load_image(photo())
    prepare(image)  # warm: first-call imports
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        p = prepare(image)
        times.append(1000 * (time.perf_counter() - t))
    assert not p.blank, "the 7 was not found"
    print(f"prepare() on a decoded 4000 x 3000 photo: median {statistics.median(times):.0f} ms, "
          f"max {max(times):.0f} ms over {repeats} (ink box {p.bbox})")


if __name__ == "__main__":
    main()
