"""Where Lloyd's algorithm starts: k-means++ seeding (recorded choice by choice) or K random rows.

Private to the estimator: :func:`init_centroids` is what ``KMeans.fit`` calls once per
``n_init``. With the same ``random_state`` it draws exactly the points scikit-learn draws,
so a run can be checked against ``sklearn.cluster.KMeans`` from the same start. Every
k-means++ choice is kept as a :class:`~engine.kmeans.history.SeedingStep`, which the
page draws step by step. Prior validation of data is assumed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from sklearn.metrics.pairwise import euclidean_distances

from engine.kmeans.history import SeedingStep

Array = npt.NDArray[np.floating]

# Above this many (n_samples x n_clusters) values, k-means++ probabilities are not
# stored per step; `KMeansRun.seeding_probabilities` recomputes them on demand.
_MAX_STORED_PROBABILITIES = 2_000_000


def init_centroids(
    X: Array, n_clusters: int, init: str | Array, random_state: np.random.RandomState
) -> tuple[Array, tuple[SeedingStep, ...], str]:
    """Initial centroids, the seeding record and the init's name ("array" for given centroids).

    ``X`` is the centred data; an array ``init`` is already centred and of X's dtype.
    """
    if not isinstance(init, str):
        return init.copy(), (), "array"
    n_samples = X.shape[0]
    if init == "random":
        uniform = np.full(n_samples, 1.0 / n_samples)
        seeds = random_state.choice(n_samples, size=n_clusters, replace=False, p=uniform)
        return X[seeds].copy(), (), init
    return (*kmeans_plusplus(X, n_clusters, random_state), init)


def kmeans_plusplus(
    X: Array, n_clusters: int, random_state: np.random.RandomState
) -> tuple[Array, tuple[SeedingStep, ...]]:
    """Greedy k-means++ (Arthur & Vassilvitskii, 2007), recording every choice.

    Each new centroid is drawn with probability ∝ D(x)², the squared distance to the
    nearest centroid chosen so far; 2 + ln K candidates are drawn and the one that
    lowers the potential Σ D² most is kept. Distances come from scikit-learn's
    ``euclidean_distances`` so the same seed draws the same points as scikit-learn.
    """
    n_samples = X.shape[0]
    x_squared_norms = np.einsum("ij,ij->i", X, X)  # (N,) ‖x‖², reused by every distance below
    store = n_samples * n_clusters <= _MAX_STORED_PROBABILITIES
    n_local_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)

    first = random_state.choice(n_samples, p=np.full(n_samples, 1.0 / n_samples))
    centers[0] = X[first]
    closest_dist_sq = euclidean_distances(
        centers[[0]], X, Y_norm_squared=x_squared_norms, squared=True
    ).ravel()  # (N,)
    potential = float(closest_dist_sq.sum())
    steps = [
        SeedingStep(
            0,
            int(first),
            np.array([first]),
            potential,
            np.full(n_samples, 1.0 / n_samples) if store else None,
        )
    ]

    for c in range(1, n_clusters):
        probabilities = closest_dist_sq / potential if store and potential > 0 else None
        rand_vals = random_state.uniform(size=n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(closest_dist_sq), rand_vals)
        np.clip(candidates, None, n_samples - 1, out=candidates)

        dist_to_candidates = euclidean_distances(
            X[candidates], X, Y_norm_squared=x_squared_norms, squared=True
        )  # (n_local_trials, N)
        np.minimum(closest_dist_sq, dist_to_candidates, out=dist_to_candidates)
        candidate_potentials = dist_to_candidates.sum(axis=1)

        best = int(np.argmin(candidate_potentials))
        potential = float(candidate_potentials[best])
        closest_dist_sq = dist_to_candidates[best]
        centers[c] = X[candidates[best]]
        steps.append(
            SeedingStep(
                c,
                int(candidates[best]),
                candidates.copy(),
                potential,
                probabilities.astype(np.float64) if probabilities is not None else None,
            )
        )
    return centers, tuple(steps)
