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

Weighted K-means (``sample_weight``, one weight wᵢ ≥ 0 per point) minimises
J = Σᵢ wᵢ ‖xᵢ − μ_label(i)‖²: a centroid moves to the weighted mean of its points. An
integer weight counts a point that many times. Without weights every wᵢ is 1.

All functions assume validated input: ``X`` is a C-contiguous float32/float64
array of shape (n_samples, n_features) (or, for :func:`fast_step` and the helpers below
it, a CSR matrix) and ``centers`` has the same dtype; ``sample_weight`` is None or an
array (n_samples,) in X's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from engine.kmeans import _lloyd_numba, _sparse_numba

Array = npt.NDArray[np.floating]


@dataclass(frozen=True)
class StepResult:
    """What one assignment pass over the data produces.

    Attributes
    ----------
    labels : ndarray of shape (n_samples,), int32
        Index of the nearest centroid of every point.
    sums : ndarray of shape (n_clusters, n_features)
        (Weighted) sum of the points assigned to each centroid (same dtype as X).
    counts : ndarray of shape (n_clusters,), int64
        Number of points assigned to each centroid.
    inertia : float
        J after the assignment: Σ w ‖x − μ_label(x)‖² against the centroids given.
    n_changed : int
        Points whose label differs from ``labels_prev`` (all of them on the first step).
    weights : ndarray of shape (n_clusters,), float64
        Σ sample_weight of the points assigned to each centroid (equal to ``counts``
        without weights): the update half-step divides ``sums`` by it.
    n_distances : int or None
        Point–centroid distances the assignment computed (Elkan's step); None for Lloyd,
        which computes all N·K.
    n_skipped : int or None
        N·K − n_distances: the distances Elkan's bounds proved unnecessary; None for Lloyd.
    """

    labels: npt.NDArray[np.int32]
    sums: Array
    counts: npt.NDArray[np.int64]
    inertia: float
    n_changed: int
    weights: npt.NDArray[np.float64]
    n_distances: int | None = None
    n_skipped: int | None = None


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
        Clusters the assignment left without a point (or without weight).
    relocated_to : tuple of int
        For each empty cluster, the row of the point its centroid moved onto (empty when
        every point already sits on its centroid: there is nowhere useful to go, and the
        empty centroids move onto the heaviest cluster's centroid instead).
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
    sample_weight: Array | None = None,
) -> StepResult:
    """The assignment pass written for reading: all distances at once, then a loop over clusters.

    Assignment half-step: every point joins its nearest centroid (the first one on ties).
    """
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    diff = X[:, np.newaxis, :] - centers[np.newaxis, :, :]  # (N, K, d)
    sq_dist = (diff**2).sum(axis=2)  # (N, K)
    labels = sq_dist.argmin(axis=1).astype(np.int32)  # (N,)
    inertia = float(w @ sq_dist[np.arange(len(X)), labels])  # J = Σ w ‖x − μ‖²

    # What the update half-step needs: the weighted sum and the weight of every cluster.
    sums = np.zeros_like(centers)
    for k in range(len(centers)):
        sums[k] = w[labels == k] @ X[labels == k]
    weights = np.bincount(labels, weights=w, minlength=len(centers))  # (K,)
    counts = np.bincount(labels, minlength=len(centers)).astype(np.int64)  # (K,)

    n_changed = len(X) if labels_prev is None else int((labels != labels_prev).sum())
    return StepResult(labels, sums, counts, inertia, n_changed, weights)


def update_centers(
    X: Array, centers: Array, assigned: StepResult, sample_weight: Array | None = None
) -> UpdateResult:
    """Update half-step: every centroid moves to the weighted mean of the points that joined it.

    A centroid nobody joined moves onto the point farthest from its own centroid (or, when
    every point sits on its centroid, onto the heaviest cluster's), as scikit-learn 1.9 does.
    """
    labels, weights = assigned.labels, assigned.weights.copy()  # (N,), (K,) Σ w per cluster
    new_centers = assigned.sums.copy()  # (K, d) weighted sums, divided by the weights below
    empty = np.flatnonzero(weights == 0)
    far: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)
    if len(empty):
        d2 = distances_to_own_centroid(X, centers, labels)  # (N,) each to its own centroid
        if d2.max() > 0:  # else all points sit on their centroids: nowhere useful to go
            far = np.argpartition(d2, -len(empty))[: -len(empty) - 1 : -1]  # sklearn's order
            for k, row in zip(empty, far, strict=True):
                w = 1.0 if sample_weight is None else float(sample_weight[row])
                new_centers[labels[row]] -= _row(X, row) * w
                weights[labels[row]] -= w
                new_centers[k], weights[k] = _row(X, row) * w, w
    new_centers = _average(new_centers, weights)  # means; an empty one joins the heaviest
    if len(far):  # relocated points sit alone on their new centroid (distance 0)
        moved = labels.copy()
        moved[far] = empty
        inertia = inertia_of(X, new_centers, moved, sample_weight)
    else:
        # Per cluster Σ w‖x − c‖² = Σ w‖x − m‖² + W‖m − c‖² (m its weighted mean, W its
        # weight, c the old centroid), so J falls by Σ W‖shift‖²: no pass over X.
        shift2 = ((new_centers - centers) ** 2).sum(axis=1)  # (K,)
        inertia = max(assigned.inertia - float((assigned.weights * shift2).sum()), 0.0)
    return UpdateResult(new_centers, inertia, tuple(map(int, empty)), tuple(map(int, far)))


def _average(sums: Array, weights: npt.NDArray[np.float64]) -> Array:
    """Weighted means; a cluster still empty goes onto the heaviest cluster, as in scikit-learn.

    scikit-learn 1.9.1 (``_average_centers``) divides the clusters in index order and copies
    the heaviest cluster's row into an empty one as it goes: an empty cluster numbered
    *before* the heaviest gets its weighted sum, not yet divided; one numbered after gets
    its mean. The engine does the same, so its runs stay equal to scikit-learn's.
    """
    means = sums.copy()  # (K, d)
    means[weights > 0] /= weights[weights > 0, np.newaxis].astype(sums.dtype)
    heaviest = int(np.argmax(weights))
    for k in np.flatnonzero(weights == 0):
        means[k] = sums[heaviest] if k < heaviest else means[heaviest]
    return means


def _row(X, row: int) -> Array:
    """Row ``row`` of X as a 1-D dense array (X may be CSR)."""
    return X[[row]].toarray()[0] if sp.issparse(X) else X[row]


# ----------------------------------------------------------------------------- the fast pass


def fast_step(
    X: Array,
    centers: Array,
    labels_prev: npt.NDArray[np.int32] | None = None,
    sample_weight: Array | None = None,
) -> StepResult:
    """The same pass, compiled: one pass over the data on every core, in bounded memory.

    The nearest centroid is the one with the lowest ‖c‖² − 2 x·c (‖x‖² is the same for
    every centroid), the rule scikit-learn's Lloyd kernel uses, so both choose the same
    centroid but where rounding decides between two nearly equidistant ones; of
    identical centroids the first wins (:func:`distinct_centers`). J is then
    Σ w ‖x − c‖² computed directly, in float64. The result is the same, bit for bit,
    for any number of threads. The kernels are in :mod:`engine.kmeans._lloyd_numba`
    (:mod:`engine.kmeans._sparse_numba` for a scipy.sparse X, never densified).
    ``labels_prev``, when given, is overwritten with the new labels: a run then holds one
    array of N labels instead of two.
    """
    distinct, first = distinct_centers(centers)
    if sp.issparse(X):  # CSR: the same step over each row's stored values
        out = _sparse_numba.step(X, centers, distinct, first, labels_prev, sample_weight)
        return StepResult(*out[:5], weights=out[5])
    labels, sums, weights, counts, inertia, n_changed = _lloyd_numba.step(
        X, centers, distinct, first, labels_prev, sample_weight
    )
    return StepResult(labels, sums, counts, inertia, n_changed, weights)


def assign(
    X: Array, centers: Array, out: npt.NDArray[np.int32] | None = None
) -> npt.NDArray[np.int32]:
    """Nearest-centroid labels only (the assignment half-step), by :func:`fast_step`'s kernel.

    With ``out`` (int32, one per row) the labels are written there instead of a new array.
    """
    if sp.issparse(X):
        return fast_step(X, centers, out).labels
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


def inertia_of(
    X: Array,
    centers: Array,
    labels: npt.NDArray[np.integer],
    sample_weight: Array | None = None,
) -> float:
    """J for given labels: Σ w ‖x − centers[label(x)]‖², accumulated in float64, one pass."""
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    if sp.issparse(X):
        return float(
            sum(_lloyd_numba.inertia(block, centers, labels[a:b], _part(sample_weight, a, b))
                for a, b, block in _csr_blocks(X))
        )  # fmt: skip
    return _lloyd_numba.inertia(X, centers, np.asarray(labels), sample_weight)


def distances_to_own_centroid(X: Array, centers: Array, labels: npt.NDArray[np.integer]) -> Array:
    """‖x − centers[label(x)]‖² for every row, in X's dtype, with no (N, d) temporary."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    if sp.issparse(X):
        return np.concatenate([
            _lloyd_numba.distances_to_own_centroid(block, centers, labels[a:b])
            for a, b, block in _csr_blocks(X)
        ])  # fmt: skip
    return _lloyd_numba.distances_to_own_centroid(X, centers, np.asarray(labels))


# J for given labels and each row's distance to its centroid run once per fit (not per
# iteration), so on CSR they make a few rows dense at a time rather than have kernels of their own.
_CSR_BLOCK_ROWS = 4096


def _csr_blocks(X):
    """(start, stop, dense rows) of a CSR matrix, ``_CSR_BLOCK_ROWS`` at a time."""
    for start in range(0, X.shape[0], _CSR_BLOCK_ROWS):
        stop = min(start + _CSR_BLOCK_ROWS, X.shape[0])
        yield start, stop, np.ascontiguousarray(X[start:stop].toarray())


def _part(sample_weight, start: int, stop: int):
    return None if sample_weight is None else sample_weight[start:stop]


def cluster_sizes(labels: npt.NDArray[np.integer], n_clusters: int) -> npt.NDArray[np.int64]:
    """Points per cluster, counted in chunks (np.bincount alone copies int32 labels to int64)."""
    sizes = np.zeros(n_clusters, dtype=np.int64)
    chunk = 1 << 16
    for start in range(0, len(labels), chunk):
        sizes += np.bincount(labels[start : start + chunk], minlength=n_clusters)
    return sizes
