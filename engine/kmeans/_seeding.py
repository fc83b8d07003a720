"""Where Lloyd's algorithm starts: k-means++ seeding (recorded choice by choice) or K random rows.

Private to the estimator: :func:`init_centroids` is what ``KMeans.fit`` calls once per
``n_init``. With the same ``random_state`` it draws exactly the points scikit-learn draws
(the same arithmetic as ``sklearn.cluster._kmeans._kmeans_plusplus``, weights included),
so a run can be checked against ``sklearn.cluster.KMeans`` from the same start. Every
k-means++ choice is kept as a :class:`~engine.kmeans.history.SeedingStep`, which the
page draws step by step; the per-point probabilities are not stored (N per step) but
recomputed on demand by :meth:`~engine.kmeans.history.KMeansRun.seeding_probabilities`.
Prior validation of data is assumed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_array
from sklearn.utils.extmath import row_norms

from engine.kmeans.history import SeedingStep

Array = npt.NDArray[np.floating]


def init_centroids(
    X: Array,
    n_clusters: int,
    init: str | Array | Callable,
    random_state: np.random.RandomState,
    sample_weight: Array | None = None,
) -> tuple[Array, tuple[SeedingStep, ...], str]:
    """Initial centroids, the seeding record and the init's name ("array", "callable", ...).

    ``X`` is the centred data (CSR data is not centred); an array ``init`` is already
    centred and of X's dtype. A callable ``init(X, n_clusters, random_state=...)`` gets
    the centred data, as in scikit-learn. ``sample_weight`` (None: all ones) weights the
    draws of "k-means++" and "random", not a given or computed init.
    """
    n_samples = X.shape[0]
    if sample_weight is None:
        sample_weight = np.ones(n_samples, dtype=X.dtype)
    if isinstance(init, str) and init == "k-means++":
        return (*kmeans_plusplus(X, n_clusters, random_state, sample_weight), init)
    if isinstance(init, str) and init == "random":
        seeds = random_state.choice(
            n_samples, size=n_clusters, replace=False, p=sample_weight / sample_weight.sum()
        )
        return _dense(X[seeds]), (), init
    if callable(init):
        centers = check_array(
            init(X, n_clusters, random_state=random_state), dtype=X.dtype, copy=False,
            order="C",
        )  # fmt: skip
        return _dense(centers).copy(), (), "callable"
    return init.copy(), (), "array"


def kmeans_plusplus(
    X: Array,
    n_clusters: int,
    random_state: np.random.RandomState,
    sample_weight: Array,
) -> tuple[Array, tuple[SeedingStep, ...]]:
    """Greedy k-means++ (Arthur & Vassilvitskii, 2007), recording every choice.

    Each new centroid is drawn with probability ∝ w(x) D(x)², the (weighted) squared
    distance to the nearest centroid chosen so far; 2 + ln K candidates are drawn and the
    one that lowers the potential Σ w D² most is kept. Distances come from scikit-learn's
    ``euclidean_distances`` so the same seed draws the same points as scikit-learn.
    """
    n_samples = X.shape[0]
    x_squared_norms = row_norms(X, squared=True)  # (N,) ‖x‖², reused by every distance below
    n_local_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)

    first = random_state.choice(n_samples, p=sample_weight / sample_weight.sum())
    centers[0] = _dense(X[[first]])[0]
    # Shapes and products as scikit-learn's (a (1, N) row here, a column of weights
    # below): a matrix-vector product may round differently from a dot product.
    closest_dist_sq = euclidean_distances(
        centers[[0]], X, Y_norm_squared=x_squared_norms, squared=True
    )  # (1, N)
    potential = float((closest_dist_sq @ sample_weight)[0])
    steps = [SeedingStep(0, int(first), np.array([first]), potential)]

    for c in range(1, n_clusters):
        rand_vals = random_state.uniform(size=n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(sample_weight * closest_dist_sq), rand_vals)
        np.clip(candidates, None, n_samples - 1, out=candidates)

        dist_to_candidates = euclidean_distances(
            X[candidates], X, Y_norm_squared=x_squared_norms, squared=True
        )  # (n_local_trials, N)
        np.minimum(closest_dist_sq, dist_to_candidates, out=dist_to_candidates)
        candidate_potentials = (dist_to_candidates @ sample_weight.reshape(-1, 1)).ravel()

        best = int(np.argmin(candidate_potentials))
        potential = float(candidate_potentials[best])
        closest_dist_sq = dist_to_candidates[best]
        centers[c] = _dense(X[[candidates[best]]])[0]
        steps.append(SeedingStep(c, int(candidates[best]), candidates.copy(), potential))
    return centers, tuple(steps)


def _dense(rows) -> np.ndarray:
    """Rows of X as a dense array (X may be CSR)."""
    return rows.toarray() if sp.issparse(rows) else np.asarray(rows)
