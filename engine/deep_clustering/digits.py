"""scikit-learn's bundled 8×8 handwritten digits: 1,797 images, nothing to download.

Pixels come as 0-16 intensities; they are scaled to [0, 1], so an autoencoder can
reconstruct them and squared distances stay comparable across pixels.

Example
-------
>>> digits = load_digits()
>>> digits.pixels.shape, digits.images.shape, sorted(set(digits.target.tolist()))[:3]
((1797, 64), (1797, 8, 8), [0, 1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn import datasets

__all__ = ["Digits", "load_digits"]


@dataclass(frozen=True, eq=False)
class Digits:
    """The digits, three ways.

    Attributes
    ----------
    pixels : ndarray of float32, shape (n, 64)
        Each image as a row, in [0, 1].
    images : ndarray of float32, shape (n, 8, 8)
    target : ndarray of int, shape (n,)
        The digit each image shows (used only to score clusterings, never to find them).
    """

    pixels: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]
    target: npt.NDArray[np.int64]

    def __repr__(self) -> str:
        return f"Digits(n={len(self.target)}, pixels={self.pixels.shape[1]})"


def load_digits() -> Digits:
    """The 1,797 digits, pixels scaled to [0, 1]."""
    bunch = datasets.load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # (n, 8, 8)
    images.setflags(write=False)  # shared by every cached result: nobody may write into it
    pixels = images.reshape(len(images), -1)  # (n, 64), a read-only view
    return Digits(pixels=pixels, images=images, target=bunch.target.astype(np.int64))
