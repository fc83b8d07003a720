"""What a fit records: every k-means++ choice and every Lloyd iteration, as typed records.

:class:`KMeansRun` is one run of Lloyd's algorithm from one start (``KMeans.history_``;
``KMeans.runs_`` holds one per ``n_init``): its :class:`SeedingStep` records say how
k-means++ chose each starting centroid, its :class:`LloydIteration` records say what each
iteration did (centroids before and after, J after each half-step, shifts, reassignments,
empty clusters). Nothing of size N is stored, so a pickled model stays small: labels at
any iteration are recomputed from that iteration's centroids by
:meth:`KMeansRun.labels_at`, and the probabilities k-means++ drew each centroid with from
the centroids chosen before it by :meth:`KMeansRun.seeding_probabilities`.

Examples
--------
>>> import numpy as np
>>> from engine.kmeans import KMeans
>>> X = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]])
>>> run = KMeans(n_clusters=2, init=np.array([[0, 0], [1, 1]])).fit(X).history_
>>> run.inertia_curve.tolist(), run.stop_reason
([0.5, 0.25, 0.25, 0.25], 'labels unchanged')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from engine.kmeans import lloyd

__all__ = ["KMeansRun", "LloydIteration", "SeedingStep"]

Array = npt.NDArray[np.floating]


@dataclass(frozen=True)
class SeedingStep:
    """How k-means++ chose centroid number ``step`` (0-based).

    Attributes
    ----------
    step : int
        Which centroid this is.
    chosen : int
        Row index of the point that became the centroid.
    candidates : ndarray of int
        Rows drawn with probability ∝ D² ("greedy" k-means++ tries several and keeps
        the one that lowers the potential most). Only ``chosen`` for step 0.
    potential : float
        Σ w D² after adding the chosen point: the J of the seeding so far.

    The probability of every point at this step (N values) is not stored: it follows
    from the centroids chosen before, see :meth:`KMeansRun.seeding_probabilities`.
    """

    step: int
    chosen: int
    candidates: npt.NDArray[np.intp]
    potential: float


@dataclass(frozen=True)
class LloydIteration:
    """Everything one iteration of Lloyd's algorithm did.

    Attributes
    ----------
    iteration : int
        1-based iteration number.
    centers_before : ndarray of shape (n_clusters, n_features)
        Centroids the points were assigned to.
    centers_after : ndarray of shape (n_clusters, n_features)
        Centroids after the update (means of their points, empty ones relocated).
    inertia_assign : float
        J after the assignment half-step: points at their nearest ``centers_before``.
    inertia_update : float
        J after the update half-step: the same points against ``centers_after``.
    center_shift : ndarray of shape (n_clusters,)
        Distance each centroid moved.
    center_shift_total : float
        Σ shift², the quantity compared with the (scaled) tolerance.
    n_changed : int
        Points whose cluster changed in this assignment (every point at iteration 1).
    counts : ndarray of shape (n_clusters,)
        Points per cluster after the assignment.
    empty_clusters : tuple of int
        Clusters that received no point.
    relocated_to : tuple of int
        For each empty cluster, the row of the point it was moved onto (the point
        farthest from its own centroid), as scikit-learn does.
    n_distances : int or None
        Point–centroid distances the assignment computed (Elkan's step); None for
        Lloyd's, which computes all N·K.
    n_skipped : int or None
        Distances Elkan's bounds let the assignment skip (N·K − n_distances); None for Lloyd.
    """

    iteration: int
    centers_before: Array
    centers_after: Array
    inertia_assign: float
    inertia_update: float
    center_shift: Array
    center_shift_total: float
    n_changed: int
    counts: npt.NDArray[np.int64]
    empty_clusters: tuple[int, ...]
    relocated_to: tuple[int, ...]
    n_distances: int | None = None
    n_skipped: int | None = None

    @classmethod
    def of(cls, iteration: int, centers: Array, assigned: lloyd.StepResult,
           updated: lloyd.UpdateResult, offset: Array) -> LloydIteration:
        """The record of one iteration from its two half-steps; ``centers`` are the centroids
        the points were assigned to and ``offset`` is added back to every centroid (a fit
        runs on centred data)."""  # fmt: skip
        shift = np.sqrt(((updated.centers - centers) ** 2).sum(axis=1))  # (K,)
        return cls(
            iteration=iteration,
            centers_before=centers + offset,
            centers_after=updated.centers + offset,
            inertia_assign=assigned.inertia,
            inertia_update=updated.inertia,
            center_shift=shift,
            center_shift_total=float((shift**2).sum()),
            n_changed=assigned.n_changed,
            counts=assigned.counts,
            empty_clusters=updated.empty_clusters,
            relocated_to=updated.relocated_to,
            n_distances=assigned.n_distances,
            n_skipped=assigned.n_skipped,
        )


@dataclass(frozen=True)
class KMeansRun:
    """One run of Lloyd's algorithm from one initialisation.

    Labels are not stored per iteration (that would be N per iteration); get them
    with :meth:`labels_at`, which re-assigns the data to that iteration's centroids.

    Attributes
    ----------
    init : str
        "k-means++", "random", "array" or "callable".
    init_centers : ndarray of shape (n_clusters, n_features)
    seeding : tuple of SeedingStep
        The k-means++ choices (empty for other inits).
    iterations : tuple of LloydIteration
    tol : float
        The absolute tolerance used: ``tol`` x mean per-feature variance of X.
    stop_reason : str
        "labels unchanged", "centroid shift within tolerance" or "max_iter reached".
    centers : ndarray of shape (n_clusters, n_features)
        Final centroids.
    inertia : float
        Final J.
    n_iter : int
    is_best : bool
        Whether this run gave the fitted model (lowest J over ``n_init`` runs).
    """

    init: str
    init_centers: Array
    seeding: tuple[SeedingStep, ...]
    iterations: tuple[LloydIteration, ...]
    tol: float
    stop_reason: str
    centers: Array
    inertia: float
    n_iter: int
    is_best: bool = False

    @property
    def converged(self) -> bool:
        return self.stop_reason != "max_iter reached"

    @property
    def inertia_curve(self) -> npt.NDArray[np.float64]:
        """J after each half-step: [assign₁, update₁, assign₂, update₂, ...]."""
        return np.array(
            [j for it in self.iterations for j in (it.inertia_assign, it.inertia_update)]
        )

    def labels_at(self, X: npt.ArrayLike, iteration: int) -> npt.NDArray[np.int32]:
        """Cluster of every row of X in the assignment half-step of ``iteration`` (1-based)."""
        if not 1 <= iteration <= len(self.iterations):
            raise ValueError(
                f"iteration={iteration} is outside 1..{len(self.iterations)} for this run."
            )
        centers = self.iterations[iteration - 1].centers_before
        if not sp.issparse(X):
            X = np.ascontiguousarray(X, dtype=centers.dtype)
        return lloyd.assign(X, centers.astype(X.dtype, copy=False))

    def seeding_probabilities(
        self, X: npt.ArrayLike, step: int, sample_weight: npt.ArrayLike | None = None
    ) -> npt.NDArray[np.float64]:
        """Probabilities k-means++ drew centroid ``step`` (0-based) with, one per row of X.

        w(x) D(x)² / Σ w D², D the distance to the nearest centroid chosen before
        (w = 1 without ``sample_weight``); at step 0, w / Σ w. Pass the X (and the
        weights) the model was fitted on.
        """
        X = np.asarray(X, dtype=np.float64)
        w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        if step == 0:
            return w / w.sum()
        d2 = np.full(len(X), np.inf)  # (N,) D² to the nearest centroid chosen so far
        for s in self.seeding[:step]:
            np.minimum(d2, ((X - X[s.chosen]) ** 2).sum(axis=1), out=d2)
        d2 *= w
        total = d2.sum()
        return d2 / total if total > 0 else w / w.sum()
