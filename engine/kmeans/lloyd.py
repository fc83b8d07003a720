"""One step of Lloyd's algorithm, twice: a version to read and a version to run.

Lloyd's algorithm alternates two half-steps that each lower the objective
J = Σᵢ Σ_{x∈Cᵢ} ‖x − μᵢ‖²:

1. **assignment** - every point joins its nearest centroid;
2. **update** - every centroid moves to the mean of the points that joined it.

:func:`reference_step` (assignment) and :func:`update_centers` (update, empty clusters
relocated) are that text turned into numpy, for students: read them first, together below.
:func:`fast_step` computes exactly what :func:`reference_step` does with a compiled kernel,
block by block on every core, for data sets of millions of points
(:mod:`engine.kmeans._lloyd_numba`; :mod:`engine.kmeans._lloyd_torch` on a GPU). Both return
a :class:`StepResult`; the estimator in :mod:`engine.kmeans.estimator` runs the fast one,
hands its result to :func:`update_centers` and records both half-steps.

All functions assume validated input: ``X`` is a C-contiguous float32/float64
array of shape (n_samples, n_features) and ``centers`` has the same dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.kmeans import _lloyd_numba

Array = npt.NDArray[np.floating]


@dataclass(frozen=True)
class StepResult:
    """What one assignment pass over the data produces.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int32
        Index of the nearest centroid of every point.
    sums : ndarray of shape (n_clusters, n_features)
        Sum of the points assigned to each centroid (same dtype as X).
    counts : ndarray of shape (n_clusters,), int64
        Number of points assigned to each centroid.
    inertia : float
        J after the assignment: Σ ‖x − μ_label(x)‖² against the centroids given.
    n_changed : int
        Points whose label differs from ``labels_prev`` (all of them on the first step).
    """

    labels: npt.NDArray[np.int32]
    sums: Array
    counts: npt.NDArray[np.int64]
    inertia: float
    n_changed: int


@dataclass(frozen=True)
class UpdateResult:
    """What the update half-step produces.

    Attributes
    ----------
    centers : ndarray of shape (n_clusters, n_features)
        The new centroids: cluster means, empty clusters relocated.
    inertia : float
        J after the update: the same points against the new centroids.
    empty_clusters : tuple of int
        Clusters the assignment left without a point.
    relocated_to : tuple of int
        For each empty cluster, the row of the point its centroid moved onto (empty when
        every point already sits on its centroid: there is nowhere useful to go).
    """

    centers: Array
    inertia: float
    empty_clusters: tuple[int, ...]
    relocated_to: tuple[int, ...]


# ----------------------------------------------------------------------------- the two half-steps


def reference_step(
    X: Array,
    centers: Array,
    labels_prev: npt.NDArray[np.int32] | None = None,
) -> StepResult:
    """The assignment pass written for reading: all distances at once, then a loop over clusters.

    Assignment half-step: every point joins its nearest centroid (the first one on ties).
    """
    n_clusters = centers.shape[0]

    # Assignment half-step: squared distance from every point to every centroid.
    diff = X[:, np.newaxis, :] - centers[np.newaxis, :, :]  # (N, K, d)
    sq_dist = (diff**2).sum(axis=2)  # (N, K)
    labels = sq_dist.argmin(axis=1).astype(np.int32)  # (N,)
    inertia = float(sq_dist[np.arange(len(X)), labels].sum(dtype=np.float64))

    # What the update half-step needs: the sum and the size of every cluster.
    sums = np.zeros_like(centers)
    counts = np.zeros(n_clusters, dtype=np.int64)
    for k in range(n_clusters):
        members = X[labels == k]
        sums[k] = members.sum(axis=0)
        counts[k] = len(members)

    n_changed = len(X) if labels_prev is None else int((labels != labels_prev).sum())
    return StepResult(labels, sums, counts, inertia, n_changed)


def update_centers(X: Array, centers: Array, assigned: StepResult) -> UpdateResult:
    """Update half-step: every centroid moves to the mean of the points that joined it.

    A centroid no point joined moves onto the point farthest from its own centroid, which
    leaves its cluster (scikit-learn's rule and order, ``_relocate_empty_clusters_dense``).
    """
    labels, sums = assigned.labels, assigned.sums.copy()  # (N,), (K, d)
    counts = assigned.counts.astype(X.dtype)  # (K,)
    empty = np.flatnonzero(assigned.counts == 0)
    far: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)
    if len(empty):
        d2 = distances_to_own_centroid(X, centers, labels)  # (N,) each to its own centroid
        if d2.max() > 0:  # else all points sit on their centroids: nowhere useful to go
            far = np.argpartition(d2, -len(empty))[: -len(empty) - 1 : -1]  # sklearn's order
            for k, row in zip(empty, far, strict=True):
                sums[labels[row]] -= X[row]
                counts[labels[row]] -= 1
                sums[k], counts[k] = X[row], 1
    new_centers = sums.copy()
    filled = counts > 0  # one still empty keeps sum 0: the mean of centred X, as in sklearn
    new_centers[filled] /= counts[filled, np.newaxis]
    if len(far):  # relocated points sit alone on their new centroid (distance 0)
        moved = labels.copy()
        moved[far] = empty
        inertia = inertia_of(X, new_centers, moved)
    else:
        # For each cluster Σ‖x − c‖² = Σ‖x − m‖² + n‖m − c‖² (m its mean, c the old centroid),
        # so J falls by Σ n‖shift‖²: no pass over X.
        shift2 = ((new_centers - centers) ** 2).sum(axis=1)  # (K,)
        inertia = max(assigned.inertia - float((assigned.counts * shift2).sum()), 0.0)
    return UpdateResult(new_centers, inertia, tuple(map(int, empty)), tuple(map(int, far)))


# ----------------------------------------------------------------------------- the fast pass


def fast_step(
    X: Array,
    centers: Array,
    labels_prev: npt.NDArray[np.int32] | None = None,
    x_squared_norms: Array | None = None,
) -> StepResult:
    """The same pass, compiled: one pass over the data on every core, in bounded memory.

    The nearest centroid is the one with the lowest ‖c‖² − 2 x·c (‖x‖² is the same for
    every centroid), the rule scikit-learn's Lloyd kernel uses, so both choose the same
    centroid but where rounding decides between two nearly equidistant ones; of
    identical centroids the first wins (:func:`distinct_centers`). J is then
    Σ ‖x − c‖² computed directly, in float64. The result is the same, bit for bit,
    for any number of threads. The kernels are in :mod:`engine.kmeans._lloyd_numba`;
    ``x_squared_norms`` is accepted for a common signature and unused. ``labels_prev``,
    when given, is overwritten with the new labels: a run then holds one array of N
    labels instead of two.
    """
    distinct, first = distinct_centers(centers)
    labels, sums, counts, inertia, n_changed = _lloyd_numba.step(
        X, centers, distinct, first, labels_prev
    )
    return StepResult(labels, sums, counts, inertia, n_changed)


def assign(
    X: Array, centers: Array, out: npt.NDArray[np.int32] | None = None
) -> npt.NDArray[np.int32]:
    """Nearest-centroid labels only (the assignment half-step), by :func:`fast_step`'s kernel.

    With ``out`` (int32, one per row) the labels are written there instead of a new array.
    """
    distinct, first = distinct_centers(centers)
    return _lloyd_numba.step(X, centers, distinct, first, out)[0]


def distinct_centers(centers: Array) -> tuple[Array, npt.NDArray[np.int32]]:
    """The distinct rows of ``centers`` in order of first appearance, and their indices.

    Two identical centroids are equally near every point, and :func:`reference_step`
    gives the point to the first of them. A fast path that scores both could break that
    tie either way: a matrix product may round two identical rows differently in the
    last bit, depending on which BLAS kernel (CPU, thread count, position in the
    matrix) computed them. So the fast paths score each distinct centroid once and
    report the winner by its first index; the later copies get no points.

    Returns ``(distinct, first)`` with ``distinct == centers[first]``, ``first`` rising.
    """
    first_of: dict[bytes, int] = {}
    for k, row in enumerate(centers + 0.0):  # + 0.0: -0.0 and 0.0 are the same coordinate
        first_of.setdefault(row.tobytes(), k)
    first = np.fromiter(first_of.values(), dtype=np.int32, count=len(first_of))
    if len(first) == len(centers):
        return centers, first
    return centers[first], first


def squared_distances(X: Array, centers: Array) -> npt.NDArray[np.float64]:
    """(N, K) squared distances in float64, for transform/hover on modest N."""
    X64 = np.asarray(X, dtype=np.float64)
    C64 = np.asarray(centers, dtype=np.float64)
    return ((X64[:, np.newaxis, :] - C64[np.newaxis, :, :]) ** 2).sum(axis=2)


def inertia_of(X: Array, centers: Array, labels: npt.NDArray[np.integer]) -> float:
    """J for given labels: Σ ‖x − centers[label(x)]‖², accumulated in float64, one pass."""
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    return _lloyd_numba.inertia(X, centers, np.asarray(labels))


def distances_to_own_centroid(X: Array, centers: Array, labels: npt.NDArray[np.integer]) -> Array:
    """‖x − centers[label(x)]‖² for every row, in X's dtype, with no (N, d) temporary."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    return _lloyd_numba.distances_to_own_centroid(X, centers, np.asarray(labels))


def cluster_sizes(labels: npt.NDArray[np.integer], n_clusters: int) -> npt.NDArray[np.int64]:
    """Points per cluster, counted in chunks (np.bincount alone copies int32 labels to int64)."""
    sizes = np.zeros(n_clusters, dtype=np.int64)
    chunk = 1 << 16
    for start in range(0, len(labels), chunk):
        sizes += np.bincount(labels[start : start + chunk], minlength=n_clusters)
    return sizes
