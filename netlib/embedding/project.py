"""Feature vectors -> 2-D: PCA (instant) or t-SNE (openTSNE), frames aligned to each other, new points placed."""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from . import METHODS, TITLES  # noqa: F401  (TITLES: the pages' and charts')

MIN_POINTS = 10  # t-SNE's perplexity needs a few neighbours per point; a map of fewer says nothing
PERPLEXITY = 30.0  # openTSNE's and scikit-learn's default
NEIGHBOURS = 10  # a new point on a t-SNE/UMAP map: the mean place of its nearest digits in feature space
TSNE_ITERS = (250, 500)  # openTSNE's defaults: early exaggeration, then the main phase
CALLBACK_EVERY = 25

Progress = Callable[[float, str], None]  # (fraction done 0..1, what is being done)


class MethodUnavailable(ValueError):
    """A projection whose library is not installed here (UMAP is optional): one line saying what to do."""


def project(vectors: np.ndarray, method: str, init: Optional[np.ndarray] = None, seed: int = 0,
            progress: Optional[Progress] = None) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """(N x 2 float32 points, the PCA basis (3 x D: mean, then the two axes) or None). init: a previous
    frame's N x 2 points to start t-SNE/UMAP from, so consecutive frames stay comparable."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2 or len(x) < MIN_POINTS:
        raise ValueError(f"a map needs at least {MIN_POINTS} digits, got {len(x)}")
    if method == "pca":
        return _pca(x)
    if method == "tsne":
        return _tsne(x, init, seed, progress), None
    if method == "umap":
        return _umap(x, init, seed), None
    raise ValueError(f"unknown projection {str(method)[:40]!r}; choose one of: {', '.join(METHODS)}")


def _pca(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.decomposition import PCA

    # ARPACK finds just the two leading axes: 0.02 s for 2,000 x 1,408, where a full SVD took 0.4 s here.
    pca = PCA(2, svd_solver="arpack", random_state=0).fit(x)
    basis = np.vstack([pca.mean_[None, :], pca.components_]).astype(np.float32)
    return place_pca(basis, x), basis


def place_pca(basis: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Vectors placed on a PCA map exactly: their coordinates along its two axes."""
    return ((np.asarray(x, dtype=np.float32) - basis[0]) @ basis[1:].T).astype(np.float32)


def _tsne(x: np.ndarray, init, seed: int, progress: Optional[Progress]) -> np.ndarray:
    from openTSNE import TSNE

    # One thread: on the 2 shared cores (a server, training runs) two threads spun against each other and took
    # 8-46 s for 2,000 digits where one took 8-9 s (docs/benchmarks.md "The map").
    calls = [0]
    total = sum(TSNE_ITERS) // CALLBACK_EVERY

    def report(iteration, error, embedding) -> bool:  # openTSNE's callback: False goes on
        calls[0] += 1
        if progress:
            progress(min(calls[0] / total, 1.0), f"t-SNE: step {calls[0] * CALLBACK_EVERY} of {sum(TSNE_ITERS)}")
        return False

    start = "pca" if init is None else _scaled(np.asarray(init, dtype=np.float32))
    tsne = TSNE(perplexity=min(PERPLEXITY, (len(x) - 1) / 3), initialization=start, random_state=seed,
                n_jobs=1, early_exaggeration_iter=TSNE_ITERS[0], n_iter=TSNE_ITERS[1], verbose=False,
                callbacks=report if progress else None, callbacks_every_iters=CALLBACK_EVERY)
    return np.asarray(tsne.fit(x), dtype=np.float32)


def _scaled(points: np.ndarray) -> np.ndarray:
    """A previous frame as a t-SNE start: centred, its first axis' spread 1e-4, as openTSNE scales its own
    PCA start (a start spread wide keeps t-SNE from moving points between clusters)."""
    centred = points - points.mean(axis=0)
    return (centred / (centred[:, 0].std() or 1.0) * 1e-4).astype(np.float32)


def _umap(x: np.ndarray, init, seed: int) -> np.ndarray:
    try:
        import umap  # optional: not in requirements.txt (numba's compile makes a first map slow; docs/design.md)
    except ImportError:
        raise MethodUnavailable("the umap method needs umap-learn, which this lab does not install "
                                "(pip install umap-learn); use tsne or pca") from None
    start = "spectral" if init is None else np.asarray(init, dtype=np.float32)
    return np.asarray(umap.UMAP(init=start, random_state=seed).fit_transform(x), dtype=np.float32)


def place_near(vectors: np.ndarray, points: np.ndarray, new: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """New vectors on a nonlinear map: each at the mean place of its k nearest digits in feature space (the
    map has no formula for a point it was not fitted on; openTSNE starts new points the same way)."""
    new = np.asarray(new, dtype=np.float32).reshape(-1, vectors.shape[1])
    d = ((new ** 2).sum(1)[:, None] - 2 * new @ vectors.T + (vectors ** 2).sum(1)[None, :])
    nearest = np.argsort(d, axis=1, kind="stable")[:, :min(k, len(vectors))]
    return points[nearest].mean(axis=1).astype(np.float32)


def align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """points rotated (or mirrored), scaled and moved to lie as close as they can to reference, the same
    digits' places on another frame: orthogonal Procrustes, so a map's shape is kept, only its pose changes."""
    from scipy.linalg import orthogonal_procrustes

    p = np.asarray(points, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)
    pc, rc = p - p.mean(axis=0), r - r.mean(axis=0)
    rotation, _ = orthogonal_procrustes(pc, rc)
    turned = pc @ rotation
    scale = (np.linalg.norm(rc) / np.linalg.norm(turned)) if np.linalg.norm(turned) else 1.0
    return (turned * scale + r.mean(axis=0)).astype(np.float32)
