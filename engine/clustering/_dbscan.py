"""DBSCAN step by step: core, border and noise points, and clusters growing from core points.

scikit-learn's ``DBSCAN`` gives the final labels and the core points. The Lab also shows
the order in which clusters grow, so :func:`dbscan_steps` runs scikit-learn's own loop
(``sklearn/cluster/_dbscan_inner.pyx``: a depth-first search from each unlabelled core
point through the ε-neighbourhoods of core points) in Python over the same neighbourhoods
and records when each point joined and from which core point. Its labels equal
``sklearn.cluster.DBSCAN``'s (tested).

:func:`k_distance` gives the sorted distance of every point to its ``min_samples``-th
nearest neighbour, whose knee is the usual data-driven ε (Ester et al. 1996; Schubert et
al. 2017).

Example
-------
>>> X = np.array([[0.0, 0.0], [0.0, 0.5], [0.5, 0.0], [0.5, 0.5], [9.0, 9.0]])
>>> run = dbscan_steps(X, eps=0.6, min_samples=3)
>>> run.labels.tolist(), run.kinds.tolist()
([0, 0, 0, 0, -1], ['core', 'core', 'core', 'core', 'noise'])
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.neighbors import NearestNeighbors

Array = npt.NDArray[np.float64]
CORE, BORDER, NOISE = "core", "border", "noise"


@dataclass(frozen=True)
class KDistance:
    """The sorted k-distance curve and its knee.

    Attributes
    ----------
    k : int
        ``min_samples``: the point itself counts, as in DBSCAN's core test.
    distances : ndarray of shape (n,)
        Each point's distance to its k-th nearest neighbour (itself the first), ascending.
    knee : int
        Index into ``distances`` of the knee: the point of the curve farthest from the
        straight line joining its ends, both axes scaled to [0, 1].
    eps : float
        ``distances[knee]``: with this ε, every point left of the knee is a core point.
    """

    k: int
    distances: Array
    knee: int
    eps: float


@dataclass(frozen=True)
class DbscanRun:
    """One DBSCAN run with the order in which the clusters grew.

    Attributes
    ----------
    eps, min_samples : float, int
    labels : ndarray of shape (n,)
        Cluster of each point, -1 for noise (equal to ``sklearn.cluster.DBSCAN``'s).
    kinds : ndarray of str, shape (n,)
        ``"core"`` (at least ``min_samples`` points within ε, itself included),
        ``"border"`` (not core, but within ε of a core point) or ``"noise"``.
    n_neighbors : ndarray of shape (n,)
        Points within ε of each point, itself included.
    order : ndarray of shape (n_clustered,)
        Points in the order they joined a cluster.
    reached_from : ndarray of shape (n,)
        The core point whose ε-ball brought each point in; -1 for the core point that
        started its cluster and for noise.
    """

    eps: float
    min_samples: int
    labels: npt.NDArray[np.intp]
    kinds: npt.NDArray[np.str_]
    n_neighbors: npt.NDArray[np.intp]
    order: npt.NDArray[np.intp]
    reached_from: npt.NDArray[np.intp]

    @property
    def n_steps(self) -> int:
        return len(self.order)

    def labels_at(self, step: int) -> npt.NDArray[np.intp]:
        """Labels after the first ``step`` points joined; the rest are -1 (not reached yet)."""
        labels = np.full(len(self.labels), -1, dtype=np.intp)
        joined = self.order[:step]
        labels[joined] = self.labels[joined]
        return labels

    def __repr__(self) -> str:
        n_clusters = int(self.labels.max()) + 1 if len(self.labels) else 0
        return (
            f"DbscanRun(eps={self.eps:.4g}, min_samples={self.min_samples}, "
            f"n_clusters={n_clusters}, noise={int((self.labels == -1).sum())})"
        )


def k_distance(X: npt.ArrayLike, min_samples: int) -> KDistance:
    """The sorted distance of each point to its ``min_samples``-th nearest neighbour, and its knee.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    min_samples : int
        2 <= min_samples <= n_samples.

    Returns
    -------
    KDistance
    """
    X = np.asarray(X, dtype=np.float64)
    check_min_samples(min_samples, len(X))
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(X).kneighbors(X)
    curve = np.sort(distances[:, -1])
    knee = knee_index(curve)
    return KDistance(min_samples, curve, knee, float(curve[knee]))


def knee_index(curve: npt.ArrayLike) -> int:
    """Index of the point of an ascending curve farthest below the chord joining its ends.

    Both axes are scaled to [0, 1] first, so the answer does not depend on units
    (the "kneedle" idea of Satopää et al. 2011, without smoothing).
    """
    y = np.asarray(curve, dtype=np.float64)
    if len(y) < 3 or y[-1] == y[0]:
        return len(y) - 1
    x = np.linspace(0.0, 1.0, len(y))
    y = (y - y[0]) / (y[-1] - y[0])
    return int(np.argmax(x - y))  # the chord is y = x after scaling


def dbscan_steps(X: npt.ArrayLike, eps: float, min_samples: int) -> DbscanRun:
    """Run DBSCAN and record the order in which each cluster grew from its core points.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    eps : float
        Radius of the ε-ball, > 0.
    min_samples : int
        Points (itself included) an ε-ball must hold for its centre to be a core point.

    Returns
    -------
    DbscanRun

    Raises
    ------
    ValueError
        If ``eps <= 0`` or ``min_samples`` is not in [1, n_samples] (the message says which).
    """
    X = np.asarray(X, dtype=np.float64)
    check_eps(eps)
    check_min_samples(min_samples, len(X), low=1)
    neighborhoods = NearestNeighbors(radius=eps).fit(X).radius_neighbors(
        X, return_distance=False
    )
    n_neighbors = np.array([len(nb) for nb in neighborhoods], dtype=np.intp)
    is_core = n_neighbors >= min_samples

    n = len(X)
    labels = np.full(n, -1, dtype=np.intp)
    reached_from = np.full(n, -1, dtype=np.intp)
    order: list[int] = []
    label = 0
    # scikit-learn's loop: a depth-first search from each unlabelled core point. A point is
    # pushed once per core neighbour that sees it unlabelled; the copy popped first labels
    # it. Two parallel stacks (point, the core point that pushed it), filled a neighbourhood
    # at a time with numpy, keep the Python work per point small.
    for start in range(n):
        if labels[start] != -1 or not is_core[start]:
            continue
        points: list[int] = []
        parents: list[int] = []
        i, parent = start, -1
        while True:
            if labels[i] == -1:
                labels[i], reached_from[i] = label, parent
                order.append(i)
                if is_core[i]:
                    fresh = neighborhoods[i][labels[neighborhoods[i]] == -1]
                    points.extend(fresh.tolist())
                    parents.extend([i] * len(fresh))
            if not points:
                break
            i, parent = points.pop(), parents.pop()
        label += 1

    kinds = np.where(is_core, CORE, np.where(labels >= 0, BORDER, NOISE))
    return DbscanRun(
        float(eps), int(min_samples), labels, kinds, n_neighbors,
        np.array(order, dtype=np.intp), reached_from,
    )  # fmt: skip


def check_eps(eps: object) -> None:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0 or (
        not np.isfinite(eps)
    ):
        raise ValueError(
            f"ε (eps) = {eps!r} must be a number > 0: it is the radius of the ball around "
            "each point."
        )


def check_min_samples(min_samples: object, n_samples: int, *, low: int = 2) -> None:
    if (
        isinstance(min_samples, bool)
        or not isinstance(min_samples, numbers.Integral)
        or not low <= min_samples <= n_samples
    ):
        raise ValueError(
            f"min_samples = {min_samples!r} must be a whole number from {low} to the number "
            f"of points ({n_samples:,})."
        )
