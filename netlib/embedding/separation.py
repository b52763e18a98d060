"""How well points separate the ten digits, computed the same way for every map: kNN accuracy and silhouette."""

from __future__ import annotations

import numpy as np

K = 5  # neighbours that vote in the kNN figure
MAX_POINTS = 2000  # the figures are computed on a map's first 2,000 digits: comparable across N, and bounded


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = K) -> float:
    """Leave-one-out k-nearest-neighbour accuracy: the fraction of digits whose k nearest other digits
    (Euclidean) mostly share their true label (a tie goes to the smallest digit)."""
    from sklearn.neighbors import NearestNeighbors

    x, y = np.asarray(points, dtype=np.float32), np.asarray(labels, dtype=np.int64)
    k = min(k, len(x) - 1)
    found = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)
    others = np.array([[j for j in row if j != i][:k] for i, row in enumerate(found)])  # a digit is not its own neighbour
    votes = (y[others][..., None] == np.arange(max(int(y.max()) + 1, 10))).sum(axis=1)
    return float((votes.argmax(axis=1) == y).mean())


def silhouette(points: np.ndarray, labels: np.ndarray) -> float:
    """The mean silhouette over digits grouped by true label (-1..1: near 1, tight clusters far apart)."""
    from sklearn.metrics import silhouette_score

    y = np.asarray(labels)
    if len(np.unique(y)) < 2:
        return float("nan")  # one digit only: no second cluster to be apart from
    return float(silhouette_score(np.asarray(points, dtype=np.float32), y))


def separation(vectors: np.ndarray, points: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """kNN accuracy and silhouette in the full feature space and on the 2-D map, over the first
    MAX_POINTS digits."""
    v, p, y = vectors[:MAX_POINTS], points[:MAX_POINTS], np.asarray(labels)[:MAX_POINTS]
    return {"knn_features": knn_accuracy(v, y), "knn_map": knn_accuracy(p, y),
            "silhouette_features": silhouette(v, y), "silhouette_map": silhouette(p, y)}


LABELS = {"knn_features": f"{K}-NN accuracy, features", "knn_map": f"{K}-NN accuracy, map",
          "silhouette_features": "silhouette, features", "silhouette_map": "silhouette, map"}
