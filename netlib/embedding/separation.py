"""How well points separate the ten digits, computed the same way for every map: kNN accuracy and silhouette."""

from __future__ import annotations

from typing import Optional

import numpy as np

K = 5  # neighbours that vote in the kNN figure
MAX_POINTS = 2000  # the figures are computed on a map's first 2,000 digits: comparable across N, and bounded


def distances(points: np.ndarray) -> np.ndarray:
    """N x N Euclidean distances, computed once for both figures (one matrix product: 0.1 s for 2,000
    digits of 1,408 features, where kNN and silhouette each computing their own took twice that)."""
    x = np.asarray(points, dtype=np.float32 if points.shape[1] > 2 else np.float64)
    sq = (x * x).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    np.maximum(d2, 0.0, out=d2)  # rounding can leave tiny negatives where points coincide
    d = np.sqrt(d2)
    np.fill_diagonal(d, 0.0)
    return d


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = K, d: Optional[np.ndarray] = None) -> float:
    """Leave-one-out k-nearest-neighbour accuracy: the fraction of digits whose k nearest other digits
    (Euclidean) mostly share their true label (a tie goes to the smallest digit). d: distances() of points."""
    y = np.asarray(labels, dtype=np.int64)
    d = distances(points) if d is None else d.copy()
    k = min(k, len(y) - 1)
    np.fill_diagonal(d, np.inf)  # a digit is not its own neighbour
    nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
    votes = (y[nearest][..., None] == np.arange(max(int(y.max()) + 1, 10))).sum(axis=1)
    return float((votes.argmax(axis=1) == y).mean())


def silhouette(points: np.ndarray, labels: np.ndarray, d: Optional[np.ndarray] = None) -> float:
    """The mean silhouette over digits grouped by true label (-1..1: near 1, tight clusters far apart)."""
    from sklearn.metrics import silhouette_score

    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        return float("nan")  # one digit only: no second cluster to be apart from
    return float(silhouette_score(distances(points) if d is None else d, y, metric="precomputed"))


def separation(vectors: np.ndarray, points: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """kNN accuracy and silhouette in the full feature space and on the 2-D map, over the first
    MAX_POINTS digits."""
    y = np.asarray(labels)[:MAX_POINTS]
    out = {}
    for where, x in (("features", vectors[:MAX_POINTS]), ("map", points[:MAX_POINTS])):
        d = distances(x)
        out[f"knn_{where}"], out[f"silhouette_{where}"] = knn_accuracy(x, y, d=d), silhouette(x, y, d=d)
    return {k: out[k] for k in ("knn_features", "knn_map", "silhouette_features", "silhouette_map")}


LABELS = {"knn_features": f"{K}-NN accuracy, features", "knn_map": f"{K}-NN accuracy, map",
          "silhouette_features": "silhouette, features", "silhouette_map": "silhouette, map"}
