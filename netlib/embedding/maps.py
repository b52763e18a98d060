"""A checkpoint's map: N test digits placed by the network's last features, with its answers and how well
the digits separate; and one run's maps epoch by epoch, aligned so a digit can be followed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from .features import features
from .project import METHODS, MIN_POINTS, Progress, align, place_near, place_pca, project
from .separation import MAX_POINTS, separation

DEFAULT_N = 2000
MAX_N = 10_000  # MNIST's whole test set


@dataclass(frozen=True)
class Map:
    """The first N test digits on a 2-D map (index i is test digit i)."""

    method: str
    points: np.ndarray  # N x 2 float32
    labels: np.ndarray  # N int64: the true digit
    predictions: np.ndarray  # N int64: what the network read
    confidence: np.ndarray  # N float32: its probability for what it read
    vectors: np.ndarray = field(repr=False)  # the first MAX_POINTS digits' features (N x D float32 below that)
    basis: Optional[np.ndarray] = field(repr=False)  # PCA's mean and axes (3 x D); None for t-SNE/UMAP
    separation: dict  # separation.separation's four figures
    seconds: dict  # wall time of each step: features, projection, separation

    @property
    def count(self) -> int:
        return int(len(self.labels))

    @property
    def misread(self) -> np.ndarray:
        return np.flatnonzero(self.predictions != self.labels)

    def can_place(self) -> bool:
        """Whether new points can go on this map (an epoch frame other than the last one keeps no means to)."""
        return self.basis is not None or len(self.vectors) > 0

    def place(self, vectors: np.ndarray) -> np.ndarray:
        """Where new feature vectors (a drawn digit's) land: exactly on PCA, near their nearest digits else."""
        if self.basis is not None:
            return place_pca(self.basis, vectors)
        if not len(self.vectors):
            raise ValueError("this map keeps no features to place a new point by")
        return place_near(self.vectors, self.points[:len(self.vectors)], vectors)

    def to_dict(self, points: bool = True) -> dict:
        """JSON-able: the figures, and each point as [x, y, true digit, read as, confidence]."""
        out = {"method": self.method, "digits": self.count, "features": int(self.vectors.shape[1]),
               "misread": int(len(self.misread)),
               "separation": {k: round(v, 4) for k, v in self.separation.items()},
               "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}
        if points:
            out["points"] = [[round(float(x), 4), round(float(y), 4), int(t), int(p), round(float(c), 4)]
                             for (x, y), t, p, c in zip(self.points, self.labels, self.predictions, self.confidence)]
        return out


def check_n(n, available: int = MAX_N) -> int:
    """N as a map takes it: a whole number from MIN_POINTS to the test digits there are; ValueError otherwise."""
    top = min(MAX_N, available)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not MIN_POINTS <= n <= top:
        raise ValueError(f"the number of digits on a map must be a whole number from {MIN_POINTS} to {top:,}, "
                         f"got {str(n)[:40]}")
    return int(n)


def check_method(method) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown projection {str(method)[:40]!r}; choose one of: {', '.join(METHODS)}")
    return method


def build_map(model, images, labels, method: str = "pca", n: int = DEFAULT_N, seed: int = 0,
              init: Optional[np.ndarray] = None, progress: Optional[Progress] = None) -> Map:
    """The map of the first n of images (uint8 N x 28 x 28) by `model`. init: a previous frame's points
    (a t-SNE start); progress(fraction, what) hears about each step."""
    check_method(method)
    n = check_n(n, len(images))
    say = progress or (lambda fraction, what: None)
    t0 = time.perf_counter()
    say(0.0, f"reading {n:,} digits with the network")
    f = features(model, images[:n])
    t1 = time.perf_counter()
    say(0.1, f"projecting {n:,} points with {method}")
    points, basis = project(f.vectors, method, init=init, seed=seed,
                            progress=lambda x, what: say(0.1 + 0.8 * x, what))
    t2 = time.perf_counter()
    say(0.9, "measuring how well the digits separate")
    y = np.asarray(labels[:n], dtype=np.int64)
    figures = separation(f.vectors, points, y)
    t3 = time.perf_counter()
    say(1.0, "done")
    # kept for placing a new point: the first MAX_POINTS digits' features bound a shared map's memory (11 MB
    # for Inception), where all 10,000 would be 56 MB
    return Map(method, points, y, f.predictions, f.confidence, f.vectors[:MAX_POINTS].copy(), basis, figures,
               {"features": t1 - t0, "projection": t2 - t1, "separation": t3 - t2})


def checkpoint_map(path: Path, method: str = "pca", n: int = DEFAULT_N, data_dir=None,
                   progress: Optional[Progress] = None) -> tuple[Map, dict]:
    """(map, checkpoint metadata) of a checkpoint file on MNIST's test set."""
    from ..checkpoint import load_checkpoint
    from ..data import load_mnist

    check_method(method)
    check_n(n)
    model, meta = load_checkpoint(Path(path))
    images, labels = load_mnist(False, data_dir)
    return build_map(model, images, labels.numpy(), method, n, progress=progress), meta


def epoch_maps(models: list, images, labels, method: str = "pca", n: int = DEFAULT_N,
               progress: Optional[Progress] = None) -> list[Map]:
    """One map per model (a run's kept epochs, in order), each turned and scaled onto the last one
    (orthogonal Procrustes) so a digit's movement between frames is its own, not the projection's whim.
    t-SNE starts each frame from the previous one's points."""
    say = progress or (lambda fraction, what: None)
    frames: list[Map] = []
    for i, model in enumerate(models):
        def step(x: float, what: str, i=i) -> None:
            say((i + x) / len(models), f"epoch frame {i + 1} of {len(models)}: {what}")
        init = frames[-1].points if frames and method != "pca" else None
        m = build_map(model, images, labels, method, n, init=init, progress=step)
        # a frame keeps no feature vectors (Inception's 2,000 x 1,408 are 11 MB, a run's frames many times that)
        frames.append(replace(m, vectors=m.vectors[:0]))
    last = frames[-1].points
    return [_aligned(m, last) for m in frames[:-1]] + frames[-1:]


def _aligned(m: Map, reference: np.ndarray) -> Map:
    """m with its points posed onto reference; its separation figures are unchanged (Procrustes keeps
    distances' ratios) and its PCA basis is dropped: a posed frame places no new point."""
    return replace(m, points=align(m.points, reference), basis=None)
