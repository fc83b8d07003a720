"""Lloyd's step on a ``scipy.sparse.csr_matrix``, compiled: only the stored values are read.

:func:`engine.kmeans.lloyd.fast_step` sends sparse X here. The step computes what the
dense one does (read :func:`engine.kmeans.lloyd.reference_step`), without ever building a
dense row of X: a 1,000,000 × 1,000 matrix at 0.1 % density is 12 MB as CSR and would be
8 GB dense.

The numbers
-----------
The nearest centroid is the one with the lowest ‖c‖² − 2 x·c, as in the dense kernels and
scikit-learn's ``_k_means_lloyd.lloyd_iter_chunked_sparse``; x·c runs over the row's
nonzeros only, in the data's precision, and the first index wins ties (each distinct
centroid is scored once, as :func:`engine.kmeans.lloyd.distinct_centers` explains).

J = Σ w ‖x − c‖² is summed in float64. scikit-learn computes each term as
‖x‖² − 2 x·c + ‖c‖², which loses every digit when x sits close to c (two large numbers
cancel). Here the features the row stores and those it does not are taken apart:

    ‖x − c‖² = Σ_{j stored} (x_j − c_j)²  +  (‖c‖² − Σ_{j stored} c_j²)

The first sum is exact term by term; only the second subtracts, and it involves c alone,
so a point on its centroid gives 0 up to the rounding of ‖c‖², not of ‖x‖².

How the work is split
---------------------
Rows are cut into tasks by a rule that depends on the matrix alone (its shape, its
number of stored values and K); each task sums its own rows and the tasks are added in
order, so the result is the same, bit for bit, for any number of threads.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit

from engine.kmeans._lloyd_numba import _run_tasks, _sum_in_order

# A task covers about this many stored values, and there are at most _MAX_TASKS of them.
_TASK_VALUES = 1 << 18
_MAX_TASKS = 64
# The tasks' partial sums (tasks x K x d float64) stay within this many values (128 MB).
_MAX_PARTIAL_VALUES = 1 << 24
_J_LANES = 4


@njit(nogil=True, cache=True)
def _sparse_tasks(
    task_lo,
    task_hi,
    bounds,
    data,
    indices,
    indptr,
    sample_weight,
    scored_t,
    first,
    c_sq_norms,
    centers64,
    c64_sq_norms,
    labels_prev,
    labels,
    task_sums,
    task_weights,
    task_counts,
    task_stats,
):
    n_clusters, n_features = centers64.shape
    n_scored = scored_t.shape[1]
    weighted = sample_weight.shape[0] > 0
    compare = labels_prev.shape[0] == labels.shape[0]
    scores = np.empty(n_scored, dtype=data.dtype)  # (K',) x·c of one row
    sums = np.empty((n_clusters, n_features))
    weights = np.empty(n_clusters)
    counts = np.empty(n_clusters, dtype=np.int64)
    j_lanes = np.empty(_J_LANES)
    for task in range(task_lo, task_hi):
        sums[:] = 0.0
        weights[:] = 0.0
        counts[:] = 0
        j_lanes[:] = 0.0
        changed = 0
        for i in range(bounds[task], bounds[task + 1]):
            # x·c for every scored centroid: each stored value meets one row of Cᵀ (K',).
            scores[:] = 0.0
            for p in range(indptr[i], indptr[i + 1]):
                value, row = data[p], scored_t[indices[p]]
                for q in range(n_scored):
                    scores[q] += value * row[q]
            best, label = np.inf, 0
            for q in range(n_scored):
                dist = c_sq_norms[q] - (scores[q] + scores[q])
                if dist < best:  # strict: the first of equal scores wins
                    best, label = dist, first[q]
            if compare:
                changed += labels_prev[i] != label
            labels[i] = label
            # Counts, weighted sums and J over the stored values (see the module's text).
            w = np.float64(sample_weight[i]) if weighted else 1.0
            counts[label] += 1
            weights[label] += w
            on_support, c_on_support = 0.0, 0.0
            for p in range(indptr[i], indptr[i + 1]):
                x, c = np.float64(data[p]), centers64[label, indices[p]]
                sums[label, indices[p]] += w * x
                on_support += (x - c) * (x - c)
                c_on_support += c * c
            off_support = c64_sq_norms[label] - c_on_support
            j_lanes[i % _J_LANES] += w * (on_support + max(off_support, 0.0))
        task_sums[task] = sums.ravel()
        task_weights[task] = weights
        task_counts[task] = counts
        inertia = 0.0
        for lane in range(_J_LANES):
            inertia += j_lanes[lane]
        task_stats[task, 0] = inertia
        task_stats[task, 1] = changed


def _row_bounds(n_samples: int, nnz: int, n_clusters: int, n_features: int) -> np.ndarray:
    """Row bounds of the tasks: about _TASK_VALUES stored values each, partial sums bounded."""
    n_tasks = min(_MAX_TASKS, max(1, -(-nnz // _TASK_VALUES)), n_samples)
    n_tasks = max(1, min(n_tasks, _MAX_PARTIAL_VALUES // max(1, n_clusters * n_features)))
    return np.array([n_samples * t // n_tasks for t in range(n_tasks + 1)])


def step(X, centers, scored, first, labels_prev, sample_weight):
    """One assignment pass over CSR X: (labels, sums, counts, inertia, n_changed, weights).

    Prior validation of data is assumed (X float32/float64 CSR, centers in X's dtype).
    ``scored``/``first`` are :func:`engine.kmeans.lloyd.distinct_centers`; the new labels
    are written over ``labels_prev`` when it is given, as in the dense step.
    """
    X = sp.csr_matrix(X)  # a CSR matrix passes through; a CSR array becomes a matrix view
    if not X.has_canonical_format:  # duplicates or unsorted columns: fix a copy, not the caller's
        X = X.copy()
        X.sum_duplicates()
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    scored_t = np.ascontiguousarray(scored.T, dtype=X.dtype)  # (d, K')
    c_sq_norms = np.einsum("ij,ij->i", scored_t.T, scored_t.T)  # (K',) in X's dtype
    centers64 = np.ascontiguousarray(centers, dtype=np.float64)
    c64_sq_norms = np.einsum("ij,ij->i", centers64, centers64)
    prev = np.empty(0, np.int32) if labels_prev is None else labels_prev
    labels = np.empty(n_samples, dtype=np.int32) if labels_prev is None else labels_prev
    weights_in = np.empty(0, X.dtype) if sample_weight is None else sample_weight

    bounds = _row_bounds(n_samples, X.nnz, n_clusters, n_features)
    n_tasks = len(bounds) - 1
    task_sums = np.empty((n_tasks, n_clusters * n_features))
    task_weights = np.empty((n_tasks, n_clusters))
    task_counts = np.empty((n_tasks, n_clusters), dtype=np.int64)
    task_stats = np.empty((n_tasks, 2))  # J, n_changed
    _run_tasks(
        _sparse_tasks, bounds, max(1, X.nnz // max(1, n_samples)) * len(scored),
        X.data, X.indices, X.indptr, weights_in, scored_t, first, c_sq_norms,
        centers64, c64_sq_norms, prev, labels, task_sums, task_weights, task_counts, task_stats,
    )  # fmt: skip
    sums = _sum_in_order(task_sums).reshape(n_clusters, n_features).astype(X.dtype)
    weights = _sum_in_order(task_weights)
    counts = task_counts.sum(axis=0)
    inertia = float(_sum_in_order(task_stats[:, 0]))
    n_changed = n_samples if labels_prev is None else int(task_stats[:, 1].sum())
    return labels, sums, counts, inertia, n_changed, weights
