"""The comparison grid's columns: the K-means lab's engine first, then this lab's methods.

The K-means column is built here, outside ``engine/``, because one lab's engine package
never imports another's (``tests/test_layering.py``): ``engine.clustering`` knows nothing of
``engine.kmeans``. This module joins them through their public faces only:
``engine.kmeans.KMeans`` and ``engine.clustering.Method``. No Streamlit here, so the bench
and the tests use the same columns as the page.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.clustering import K_RANGE, METHODS, Choice, Method, silhouette_k
from engine.kmeans import KMeans


def _kmeans_labels(X: np.ndarray, k: int) -> np.ndarray:
    return KMeans(n_clusters=k, n_init=1, random_state=0).fit(X).labels_


def _kmeans_choice(X: np.ndarray) -> Choice:
    best, _ = silhouette_k(X, lambda k: _kmeans_labels(X, k))
    return Choice(
        {"n_clusters": best},
        f"n_clusters = {best}, the best silhouette for K = {K_RANGE.start}…{K_RANGE.stop - 1} "
        "(k-means++ start, seed 0).",
    )


def _kmeans_fit(X: np.ndarray, params: Mapping[str, object]) -> np.ndarray:
    k = params["n_clusters"]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(X):
        raise ValueError(
            f"n_clusters = {k!r} must be a whole number from 1 to the number of points "
            f"({len(X):,})."
        )
    return _kmeans_labels(X, k)


KMEANS = Method("kmeans", "K-means", _kmeans_choice, _kmeans_fit, ("n_clusters",))
"""The K-means lab's own engine as a grid column."""

COLUMNS: tuple[Method, ...] = (KMEANS, *METHODS.values())
"""Every column of the grid, K-means first."""
