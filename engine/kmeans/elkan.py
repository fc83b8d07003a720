"""Elkan's K-means step: Lloyd's assignment without most of its distances.

Lloyd's assignment half-step measures every point against every centroid: N·K distances
per iteration. After the first few iterations most points keep their centroid, and the
triangle inequality can prove it without measuring (Elkan, "Using the triangle inequality
to accelerate k-means", ICML 2003). Three kinds of bound make the proofs:

* an **upper bound** u(x) ≥ d(x, c_label) per point: its distance to its own centroid;
* **lower bounds** l(x, j) ≤ d(x, c_j) per point and centroid;
* **half the distances between centroids**, ½ d(c_a, c_b), from the K centroids alone.

A centroid c_j cannot take x from its centroid c_a when

1. u(x) ≤ ½ d(c_a, c_j): then d(x, c_j) ≥ d(c_a, c_j) − d(x, c_a) ≥ 2u − u = u;
2. u(x) ≤ l(x, j): then d(x, c_j) ≥ l(x, j) ≥ u.

And when u(x) is below half the distance from c_a to *its* nearest centroid, rule 1 holds
for every j at once: the point is done after one comparison. Only the distances that no
rule rules out are computed, and each one computed tightens a bound.

The first pass has no bounds to use, and here it measures every distance, as Lloyd's
does: every bound starts exact. (Elkan's paper skips some with rule 1 already; measured
several centroids at a time, the full pass costs less than that scan, and the exact
bounds save distances in the passes after it.)

Between iterations the centroids move, and the bounds move with them: a centroid that
shifts by δ_j changes any distance to it by at most δ_j, so u(x) += δ_label and
l(x, j) −= δ_j keep them valid without looking at a single point. (The compiled step
does not even write the lowered l(x, j): it subtracts the shifts when it reads one; see
:mod:`engine.kmeans._elkan_numba`.)

:func:`reference_elkan_step` is that text turned into a loop over the points, to read
first. :class:`ElkanStep` keeps the bounds from one call to the next and returns what
:func:`engine.kmeans.lloyd.fast_step` returns, plus how many point–centroid distances it
computed (``n_distances``) and how many the bounds let it skip (``n_skipped``, out of
Lloyd's N·K). The labels are Lloyd's: the nearest centroid, the first of equally near
ones. On well-separated clusters in few dimensions most distances are skipped; in many
dimensions distances concentrate (all centroids look about equally far), the bounds
rarely decide, and Elkan does Lloyd's work plus its bookkeeping. The per-point loop is
compiled in :mod:`engine.kmeans._elkan_numba`.

Examples
--------
>>> import numpy as np
>>> from engine.kmeans.elkan import ElkanStep
>>> X = np.array([[0, 0], [0.5, 0], [0.5, 1], [1, 1]])
>>> step = ElkanStep(X)
>>> first = step(X, np.array([[0, 0], [1, 1.0]]))
>>> first.labels.tolist(), first.n_distances, first.n_skipped  # no bounds yet: all 4 × 2
([0, 0, 1, 1], 8, 0)
>>> second = step(X, np.array([[0.25, 0], [0.75, 1]]), first.labels)
>>> second.labels.tolist(), second.n_skipped  # the bounds settle every point
([0, 0, 1, 1], 8)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial.distance import cdist

from engine.kmeans import _elkan_numba
from engine.kmeans.history import KMeansRun
from engine.kmeans.lloyd import StepResult

__all__ = ["ElkanBounds", "ElkanCounts", "ElkanStep", "elkan_counts", "reference_elkan_step"]

Array = npt.NDArray[np.floating]


# ----------------------------------------------------------------------------- to read


@dataclass
class ElkanBounds:
    """What Elkan's step carries from one iteration to the next (mutable: updated in place).

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int32
    upper : ndarray of shape (n_samples,), float64
        u(x) ≥ d(x, c_label(x)).
    lower : ndarray of shape (n_samples, n_clusters), float64
        l(x, j) ≤ d(x, c_j).
    centers : ndarray of shape (n_clusters, n_features), float64
        The centroids the bounds refer to.
    """

    labels: npt.NDArray[np.int32]
    upper: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    centers: npt.NDArray[np.float64]


def reference_elkan_step(
    X: Array, centers: Array, bounds: ElkanBounds | None = None
) -> tuple[StepResult, ElkanBounds]:
    """Elkan's assignment written for reading, one point at a time (slow: for small data).

    :class:`ElkanStep` computes the same, compiled. With ``bounds`` from the previous call
    the bounds are moved with the centroids and reused; without, they are built afresh.
    Returns the step's result (labels, sums, counts, J, distance counts) and the bounds.
    """
    X64, C = np.asarray(X, dtype=np.float64), np.asarray(centers, dtype=np.float64)
    n_samples, n_clusters = len(X64), len(C)
    first_of = _first_of_identical(centers)  # identical centroids: only the first takes points
    half = cdist(C, C) / 2  # (K, K) ½ d(c_a, c_b)
    s_half = [min((half[a, b] for b in range(n_clusters) if b != a and first_of[b] == b),
                  default=np.inf) for a in range(n_clusters)]  # fmt: skip

    def distance(i: int, j: int) -> float:
        return float(np.sqrt(((X64[i] - C[j]) ** 2).sum()))

    fresh = bounds is None
    if fresh:
        bounds = ElkanBounds(np.zeros(n_samples, np.int32), np.zeros(n_samples),
                             np.zeros((n_samples, n_clusters)), C)  # fmt: skip
        shift = np.zeros(n_clusters)
    else:
        shift = np.sqrt(((C - bounds.centers) ** 2).sum(axis=1))  # (K,) how far each moved
    labels_before = bounds.labels.copy()
    n_distances = 0
    for i in range(n_samples):
        if fresh:  # no bounds yet: measure every centroid, so every bound starts exact
            bounds.lower[i] = [distance(i, j) for j in range(n_clusters)]
            n_distances += n_clusters
            eligible = [j for j in range(n_clusters) if first_of[j] == j]
            label = min(eligible, key=lambda j: bounds.lower[i, j])  # the first of equals
        else:
            # The centroids moved by `shift`: the bounds loosen by as much, and stay true.
            u = bounds.upper[i] + shift[bounds.labels[i]]
            bounds.lower[i] = np.maximum(bounds.lower[i] - shift, 0.0)
            label, tight = first_of[bounds.labels[i]], False
            # The centroids the bounds leave open, ties included; every other one is
            # strictly farther than c_label. None when u < s(c_label) (Lemma 1).
            open_ = []
            if u >= s_half[label]:
                open_ = [
                    j for j in range(n_clusters)
                    if j != label and u >= max(bounds.lower[i, j], half[label, j])
                ]  # fmt: skip
            for j in open_:  # asked again, as u tightens and the label changes
                if first_of[j] != j:
                    continue
                if _rules_out(j, label, u, bounds.lower[i, j], half[label, j]):
                    continue
                if not tight:  # make u exact, then ask the bounds again
                    u, tight = distance(i, label), True
                    bounds.lower[i, label] = u
                    n_distances += 1
                    if _rules_out(j, label, u, bounds.lower[i, j], half[label, j]):
                        continue
                bounds.lower[i, j] = d = distance(i, j)
                n_distances += 1
                if d < u or (d == u and j < label):  # the first of equals wins
                    label, u = j, d
        bounds.labels[i] = label
        bounds.upper[i] = bounds.lower[i, label] = distance(i, label)
    bounds.centers = C

    labels = bounds.labels.copy()
    counts = np.bincount(labels, minlength=n_clusters).astype(np.int64)
    sums = np.zeros((n_clusters, X64.shape[1]))
    np.add.at(sums, labels, X64)
    result = StepResult(
        labels=labels,
        sums=sums.astype(X.dtype),
        counts=counts,
        inertia=float((bounds.upper**2).sum()),
        n_changed=n_samples if fresh else int((labels != labels_before).sum()),
        weights=counts.astype(np.float64),
        n_distances=n_distances,
        n_skipped=n_samples * n_clusters - n_distances,
    )
    return result, bounds


def _rules_out(j: int, label: int, u: float, lower_ij: float, half_lj: float) -> bool:
    """Rules 1 and 2: c_j is no nearer than u. Below ``label`` only strictly (ties go first)."""
    if j < label:
        return u < lower_ij or u < half_lj
    return u <= lower_ij or u <= half_lj


# ----------------------------------------------------------------------------- to run


class ElkanStep:
    """Callable with :func:`engine.kmeans.lloyd.fast_step`'s signature, keeping Elkan's bounds.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float32 or float64, C-contiguous
        The data every call will see. Prior validation is assumed.
    sample_weight : ndarray of shape (n_samples,) or None
        Weight of every point (None: all ones); a call may pass its own instead.

    Notes
    -----
    The bounds carry over only when a call passes, as ``labels_prev``, the labels array the
    previous call returned (the estimator's loop does); any other call starts them afresh.
    Like ``fast_step``, a call writes the new labels over ``labels_prev``. Memory: N·K + N
    float64 bounds (100,000 points, K = 32: 26 MB).
    """

    def __init__(self, X: Array, sample_weight: Array | None = None) -> None:
        self.n_samples, self.n_features = X.shape
        self.sample_weight = sample_weight
        self._upper: npt.NDArray[np.float64] | None = None  # (N,) u(x)
        self._lower: npt.NDArray[np.float64] | None = None  # (N, K) l(x, j) + drift_j then
        self._drift: npt.NDArray[np.float64] | None = None  # (K,) shifts summed since fresh
        self._centers: npt.NDArray[np.float64] | None = None  # (K, d) centroids of last call
        self._labels: npt.NDArray[np.int32] | None = None  # labels the last call returned

    def __repr__(self) -> str:
        return f"ElkanStep(n_samples={self.n_samples}, n_features={self.n_features})"

    def __call__(
        self,
        X: Array,
        centers: Array,
        labels_prev: npt.NDArray[np.int32] | None = None,
        sample_weight: Array | None = None,
    ) -> StepResult:
        n_samples = X.shape[0]
        n_clusters = centers.shape[0]
        weight = self.sample_weight if sample_weight is None else sample_weight
        centers64 = np.array(centers, dtype=np.float64, order="C")  # (K, d), our own copy
        first_of = _first_of_identical(centers)  # (K,) index of each row's first copy
        eligible = first_of == np.arange(n_clusters)  # (K,) only first copies take points

        half = cdist(centers64, centers64) / 2  # (K, K) ½ d(c_a, c_b)
        # s(c_a): half the distance to the nearest other eligible centroid (inf if none).
        masked = np.where(eligible[np.newaxis, :], half, np.inf)
        np.fill_diagonal(masked, np.inf)
        s_half = masked.min(axis=1)  # (K,)

        fresh = not (
            labels_prev is not None
            and labels_prev is self._labels
            and self._lower is not None
            and self._lower.shape == (n_samples, n_clusters)
        )
        if fresh:
            # Written once here, in one sequential sweep, before the kernel's threads use
            # them: on 1,000,000 × 2, K = 8 their first touches of fresh pages from inside
            # the kernel cost 30–60 ms more than this fill (the whole pass is ~25 ms).
            self._upper = np.empty(n_samples)
            self._lower = np.empty((n_samples, n_clusters))
            self._upper.fill(0.0)
            self._lower.fill(0.0)
            shift = np.zeros(n_clusters)
            self._drift = np.zeros(n_clusters)
        else:
            shift = np.sqrt(((centers64 - self._centers) ** 2).sum(axis=1))  # (K,) δ_j
            self._drift = self._drift + shift  # a new array: the last call's stays as it was
        labels = np.empty(n_samples, dtype=np.int32) if labels_prev is None else labels_prev

        sums, weights, counts, inertia, n_changed, n_distances = _elkan_numba.step(
            X, weight, centers64, eligible, first_of, half, s_half, shift, self._drift,
            fresh, labels_prev is not None, labels, self._upper, self._lower,
        )  # fmt: skip
        self._centers, self._labels = centers64, labels
        return StepResult(
            labels=labels,
            sums=sums.astype(X.dtype),
            counts=counts,
            inertia=inertia,
            n_changed=n_samples if labels_prev is None else n_changed,
            weights=weights,
            n_distances=n_distances,
            n_skipped=n_samples * n_clusters - n_distances,
        )


def _first_of_identical(centers: Array) -> npt.NDArray[np.int32]:
    """For every row, the index of the first row identical to it (itself if none before)."""
    seen: dict[bytes, int] = {}
    first = np.empty(len(centers), dtype=np.int32)
    for k, row in enumerate(centers + 0.0):  # + 0.0: -0.0 and 0.0 are the same coordinate
        first[k] = seen.setdefault(row.tobytes(), k)
    return first


# ----------------------------------------------------------------------------- what it saved


@dataclass(frozen=True)
class ElkanCounts:
    """Point–centroid distances per iteration: Elkan's against Lloyd's N·K.

    Attributes
    ----------
    n_samples, n_clusters : int
        N and K: Lloyd's assignment computes N·K distances every iteration.
    n_distances : ndarray of shape (n_iter,), int64
        Distances Elkan's assignment computed in each iteration.
    n_skipped : ndarray of shape (n_iter,), int64
        Distances its bounds let it skip (N·K − n_distances).
    """

    n_samples: int
    n_clusters: int
    n_distances: npt.NDArray[np.int64]
    n_skipped: npt.NDArray[np.int64]

    @property
    def lloyd_distances(self) -> int:
        """N·K, what Lloyd's assignment computes every iteration."""
        return self.n_samples * self.n_clusters

    @property
    def skipped_share(self) -> npt.NDArray[np.float64]:
        """Share of Lloyd's N·K that Elkan skipped, per iteration (0 to 1)."""
        return self.n_skipped / self.lloyd_distances


def elkan_counts(X: npt.ArrayLike, run: KMeansRun) -> ElkanCounts:
    """How many distances Elkan's step needs for each iteration of a recorded run.

    Elkan's labels are Lloyd's, so a run of either visits the same centroids; a run that
    recorded its counts (fitted with Elkan's step) gives them back, any other is replayed
    here through :class:`ElkanStep` from its recorded centroids (one pass per iteration).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data the run was fitted on.
    run : KMeansRun
        A fit's ``history_`` (or one of its ``runs_``).
    """
    its = run.iterations
    n_clusters = run.centers.shape[0]
    if its and all(it.n_distances is not None for it in its):
        n_samples = (its[0].n_distances + its[0].n_skipped) // n_clusters
        done = np.array([it.n_distances for it in its], dtype=np.int64)
    else:
        X = np.ascontiguousarray(X, dtype=run.centers.dtype)  # (N, d)
        n_samples, step, labels, done_list = len(X), ElkanStep(X), None, []
        for it in its:
            assigned = step(X, np.ascontiguousarray(it.centers_before, dtype=X.dtype), labels)
            labels = assigned.labels
            done_list.append(assigned.n_distances)
        done = np.array(done_list, dtype=np.int64)
    return ElkanCounts(n_samples, n_clusters, done, n_samples * n_clusters - done)
