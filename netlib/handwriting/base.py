"""A handwriting set in memory, the one error type of the handwriting API, and the shipped set's name."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

EXAMPLE_SET = "example-synthetic"  # the shipped example writer (netlib/handwriting/writers.py): read-only
SIDE = 28


class SetError(ValueError):
    """A handwriting set or request that is refused: the message is one line fit for a person."""


@dataclass
class HandwritingSet:
    """A set in memory: images (N x 28 x 28 uint8, white ink on black), labels (N, int64 0-9), held_out (N, bool)."""

    name: str
    images: np.ndarray
    labels: np.ndarray
    held_out: np.ndarray
    synthetic: bool = False  # drawn by the project's stroke renderer, not by a person
    files: list[str] = field(default_factory=list)  # the PNG of each example (empty for the example set)

    def __len__(self) -> int:
        return int(len(self.labels))

    def counts(self) -> list[int]:
        """Examples per digit 0-9."""
        return np.bincount(self.labels.astype(np.int64), minlength=10)[:10].tolist()

    @property
    def train_images(self) -> np.ndarray:
        return self.images[~self.held_out]

    @property
    def train_labels(self) -> np.ndarray:
        return self.labels[~self.held_out]

    @property
    def test_images(self) -> np.ndarray:
        return self.images[self.held_out]

    @property
    def test_labels(self) -> np.ndarray:
        return self.labels[self.held_out]
