"""One step of Lloyd's algorithm, twice: a version to read and a version to run.

Lloyd's algorithm alternates two half-steps that each lower the objective
J = Σᵢ Σ_{x∈Cᵢ} ‖x − μᵢ‖²:

1. **assignment** - every point joins its nearest centroid;
2. **update** - every centroid moves to the mean of the points that joined it.

:func:`reference_step` is that text turned into numpy, for students. :func:`fast_step`
computes exactly the same quantities in bounded memory, chunk by chunk, for data
sets of millions of points. Both return a :class:`StepResult`; the estimator in
:mod:`engine.kmeans` turns that into new centroids and a history record.

Both functions assume validated input: ``X`` is a C-contiguous float32/float64
array of shape (n_samples, n_features) and ``centers`` has the same dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

Array = npt.NDArray[np.floating]

# Rows per chunk of the fast path: a chunk's (rows, K) distance block stays
# small (a few MB for K=64), so no N x K matrix is ever materialised.
CHUNK_ROWS = 1 << 14


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


def reference_step(
    X: Array,
    centers: Array,
    labels_prev: npt.NDArray[np.int32] | None = None,
    x_squared_norms: Array | None = None,
) -> StepResult:
    """The assignment pass written for reading: all distances at once, then a loop over clusters.

    ``x_squared_norms`` is accepted for a common signature with :func:`fast_step` and unused.
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


def fast_step(
    X: Array,
    centers: Array,
    labels_prev: npt.NDArray[np.int32] | None = None,
    x_squared_norms: Array | None = None,
) -> StepResult:
    """The same pass in bounded memory: BLAS distances per chunk, one sparse product for the sums.

    Distances use ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖². The argmin ignores ‖x‖², exactly as
    scikit-learn's Lloyd kernel does, so both pick the same nearest centroid.
    """
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    if x_squared_norms is None:
        x_squared_norms = np.einsum("ij,ij->i", X, X)
    c_squared_norms = np.einsum("ij,ij->i", centers, centers)

    labels = np.empty(n_samples, dtype=np.int32)
    inertia = 0.0
    for start in range(0, n_samples, CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        partial = c_squared_norms - 2.0 * (X[chunk] @ centers.T)  # (rows, K)
        nearest = partial.argmin(axis=1)
        labels[chunk] = nearest
        closest = partial[np.arange(len(nearest)), nearest] + x_squared_norms[chunk]
        inertia += float(np.maximum(closest, 0).sum(dtype=np.float64))

    # Per-cluster sums as one sparse (K, N) one-hot matrix times X: O(N d), no N x K dense.
    one_hot = sp.csr_matrix(
        (np.ones(n_samples, dtype=X.dtype), (labels, np.arange(n_samples))),
        shape=(n_clusters, n_samples),
    )
    sums = np.asarray(one_hot @ X, dtype=X.dtype)
    counts = np.bincount(labels, minlength=n_clusters).astype(np.int64)

    n_changed = n_samples if labels_prev is None else int(np.count_nonzero(labels != labels_prev))
    return StepResult(labels, sums, counts, inertia, n_changed)


def assign(X: Array, centers: Array) -> npt.NDArray[np.int32]:
    """Nearest-centroid labels only (the assignment half-step), chunked like :func:`fast_step`."""
    c_squared_norms = np.einsum("ij,ij->i", centers, centers)
    labels = np.empty(X.shape[0], dtype=np.int32)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        labels[chunk] = (c_squared_norms - 2.0 * (X[chunk] @ centers.T)).argmin(axis=1)
    return labels


def squared_distances(X: Array, centers: Array) -> npt.NDArray[np.float64]:
    """(N, K) squared distances in float64, for transform/hover on modest N."""
    X64 = np.asarray(X, dtype=np.float64)
    C64 = np.asarray(centers, dtype=np.float64)
    return ((X64[:, np.newaxis, :] - C64[np.newaxis, :, :]) ** 2).sum(axis=2)


def inertia_of(X: Array, centers: Array, labels: npt.NDArray[np.integer]) -> float:
    """J for given labels: Σ ‖x − centers[label(x)]‖², accumulated in float64, chunked."""
    total = 0.0
    for start in range(0, X.shape[0], CHUNK_ROWS):
        chunk = slice(start, start + CHUNK_ROWS)
        diff = X[chunk] - centers[labels[chunk]]
        total += float(np.einsum("ij,ij->", diff, diff, dtype=np.float64))
    return total
