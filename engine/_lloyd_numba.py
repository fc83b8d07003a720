"""Compiled kernels behind :func:`engine.lloyd.fast_step`: one pass over the data per step.

Read :func:`engine.lloyd.reference_step` first; these kernels compute the same
StepResult, only faster. Each kernel handles one contiguous range of rows and
writes that range's labels plus its partial sums, counts, J and number of changed
labels; :func:`step` runs one range per core in threads (the kernels release the
GIL) and adds the partial results up. No N x K matrix exists at any time.

Two kernels, by the number of features d:

* small d (1..8): everything in one fused pass. A block of rows is copied
  transposed, (d, B), so the distance loop runs over B points at once and the
  compiler vectorises it; then the block's labels, sums, counts and J follow.
* larger d: per block, the scores ``centers @ block.T`` (K, B) come from BLAS, then
  the same argmin and accumulation.

The nearest centroid is chosen as scikit-learn's Lloyd does, by ‖c‖² − 2 x·c
(‖x‖² is the same for every centroid), in the data's precision, first index on
ties; so labels agree with scikit-learn's. J is computed exactly, Σ (x − c)², in
float64, and the sums are accumulated in float64.

Kernels are compiled on first use for each (dtype, d) and cached on disk
(``cache=True``), so only the first call on a machine pays the compile time.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (the BLAS numba's np.dot calls: loaded before we limit it)
from numba import njit
from threadpoolctl import ThreadpoolController

# Rows per block: a block of scores (K, B) and of transposed points (d, B) stays in L1/L2.
_BLOCK_ROWS = 256
# Up to this many features the fused kernel is specialised for d (loops unrolled).
MAX_FUSED_FEATURES = 8
# Below this many rows one thread does the whole pass: starting threads would cost more.
_MIN_ROWS_PER_THREAD = 20_000

_N_THREADS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_kernels: dict[int, object] = {}
# Our threads split the rows; BLAS inside each must stay on one thread, or 2 x 2 threads
# fight over 2 cores on every small (K, B) product.
_blas = ThreadpoolController()


# reassoc lets the compiler vectorise the float64 sum of squares of a row.
@njit(nogil=True, cache=True, fastmath={"reassoc"})
def _accumulate_block(X, b0, m, lab, first, centers64, labels_prev, labels, sums, counts):
    """Labels, changed count, J, sums and counts of one block of ``m`` rows from ``b0``.

    ``lab`` indexes the distinct centroids; ``first`` turns that into the label reported.
    """
    d = X.shape[1]
    has_prev = labels_prev.shape[0] == X.shape[0]
    changed = 0
    inertia = 0.0
    for i in range(m):
        row = b0 + i
        label = lab[i]
        # Compare before writing: `labels` may be `labels_prev` itself (see `step`).
        if has_prev and labels_prev[row] != first[label]:
            changed += 1
        labels[row] = first[label]
        counts[label] += 1
        sq = 0.0
        for j in range(d):
            x = np.float64(X[row, j])
            sums[label, j] += x
            diff = x - centers64[label, j]
            sq += diff * diff
        inertia += sq
    return inertia, changed


def _make_fused_kernel(n_features: int):
    """The fused small-d kernel with d fixed at compile time (0: read d from X)."""
    fixed_d = n_features

    @njit(nogil=True, cache=True)
    def fused_range(X, centers, first, c_sq_norms, centers64, labels_prev, labels, start, stop,
                    sums, counts, out):  # fmt: skip
        d = fixed_d if fixed_d > 0 else X.shape[1]
        n_clusters = centers.shape[0]
        block = np.empty((d, _BLOCK_ROWS), dtype=X.dtype)  # (d, B) transposed rows
        best = np.empty(_BLOCK_ROWS, dtype=X.dtype)  # (B,) lowest ‖c‖² − 2 x·c so far
        lab = np.empty(_BLOCK_ROWS, dtype=np.int32)  # (B,) its centroid
        sq = np.empty(_BLOCK_ROWS)  # (B,) float64 ‖x − c‖² to that centroid
        centers64_t = np.ascontiguousarray(centers64.T)  # (d, K)
        has_prev = labels_prev.shape[0] == X.shape[0]
        inertia = 0.0
        changed = 0
        for b0 in range(start, stop, _BLOCK_ROWS):
            m = min(stop - b0, _BLOCK_ROWS)
            for i in range(m):
                for j in range(d):
                    block[j, i] = X[b0 + i, j]
            for i in range(m):
                best[i] = np.inf
                lab[i] = 0
            for c in range(n_clusters):
                c_norm = c_sq_norms[c]
                for i in range(m):
                    dot = block[0, i] * centers[c, 0]
                    for j in range(1, d):
                        dot += block[j, i] * centers[c, j]
                    dist = c_norm - (dot + dot)
                    better = dist < best[i]  # strict: the first of equal centroids wins
                    best[i] = dist if better else best[i]
                    lab[i] = c if better else lab[i]
            # Changes, labels and J, each a pass over the block the compiler vectorises.
            # Changes first: `labels` may be `labels_prev` itself (see `step`).
            if has_prev:
                for i in range(m):
                    changed += labels_prev[b0 + i] != first[lab[i]]
            for i in range(m):
                labels[b0 + i] = first[lab[i]]
            for i in range(m):
                sq[i] = 0.0
            for j in range(d):
                for i in range(m):
                    diff = np.float64(block[j, i]) - centers64_t[j, lab[i]]
                    sq[i] += diff * diff
            for i in range(m):
                inertia += sq[i]
            for i in range(m):
                label = lab[i]
                counts[label] += 1
                for j in range(d):
                    sums[label, j] += block[j, i]
        out[0] = inertia
        out[1] = changed

    return fused_range


@njit(nogil=True, cache=True)
def _blas_range(X, centers, first, c_sq_norms, centers64, labels_prev, labels, start, stop,
                sums, counts, out):  # fmt: skip
    """Large-d kernel: scores (K, B) = centers @ block.T by BLAS, then argmin and accumulate."""
    n_clusters = centers.shape[0]
    scores = np.empty((n_clusters, _BLOCK_ROWS), dtype=X.dtype)  # (K, B) x·c
    best = np.empty(_BLOCK_ROWS, dtype=X.dtype)
    lab = np.empty(_BLOCK_ROWS, dtype=np.int32)
    inertia = 0.0
    changed = 0
    for b0 in range(start, stop, _BLOCK_ROWS):
        m = min(stop - b0, _BLOCK_ROWS)
        s = scores if m == _BLOCK_ROWS else np.empty((n_clusters, m), dtype=X.dtype)
        np.dot(centers, X[b0 : b0 + m].T, s)
        for i in range(m):
            best[i] = np.inf
            lab[i] = 0
        for c in range(n_clusters):
            c_norm = c_sq_norms[c]
            for i in range(m):
                dist = c_norm - (s[c, i] + s[c, i])
                better = dist < best[i]
                best[i] = dist if better else best[i]
                lab[i] = c if better else lab[i]
        j_block, changed_block = _accumulate_block(
            X, b0, m, lab, first, centers64, labels_prev, labels, sums, counts
        )
        inertia += j_block
        changed += changed_block
    out[0] = inertia
    out[1] = changed


def _kernel(n_features: int):
    if n_features > MAX_FUSED_FEATURES:
        return _blas_range
    with _pool_lock:
        if n_features not in _kernels:
            _kernels[n_features] = _make_fused_kernel(n_features)
        return _kernels[n_features]


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_N_THREADS, thread_name_prefix="lloyd")
        return _pool


def step(
    X: np.ndarray,
    centers: np.ndarray,
    first: np.ndarray,
    n_clusters: int,
    labels_prev: np.ndarray | None,
):
    """One assignment pass: (labels, sums, counts, inertia, n_changed). Validated input assumed.

    ``centers`` are the distinct centroids and ``first[q]`` the label that centroid q
    reports (see :func:`engine.lloyd.distinct_centers`); sums and counts come back for
    all ``n_clusters``, zero for the copies. The new labels are written over
    ``labels_prev`` when it is given, so a run holds one label array rather than two
    (10M points: 40 MB less at the peak).
    """
    n_samples, n_features = X.shape
    n_distinct = centers.shape[0]
    centers = np.ascontiguousarray(centers, dtype=X.dtype)
    c_sq_norms = np.einsum("ij,ij->i", centers, centers)  # in X's dtype, as scikit-learn
    centers64 = centers.astype(np.float64)
    prev = np.empty(0, np.int32) if labels_prev is None else labels_prev
    labels = np.empty(n_samples, dtype=np.int32) if labels_prev is None else labels_prev

    n_parts = int(min(_N_THREADS, max(1, n_samples // _MIN_ROWS_PER_THREAD)))
    # Ranges on block boundaries, so every block but the last is full.
    blocks = -(-n_samples // _BLOCK_ROWS)
    bounds = [min(n_samples, (blocks * p // n_parts) * _BLOCK_ROWS) for p in range(n_parts + 1)]
    bounds[-1] = n_samples
    sums = np.zeros((n_parts, n_distinct, n_features))  # float64 partials, one per range
    counts = np.zeros((n_parts, n_distinct), dtype=np.int64)
    out = np.zeros((n_parts, 2))  # J, n_changed per range

    kernel = _kernel(n_features)
    args = [
        (X, centers, first, c_sq_norms, centers64, prev, labels, bounds[p], bounds[p + 1],
         sums[p], counts[p], out[p])
        for p in range(n_parts)
    ]  # fmt: skip
    with _blas.limit(limits=1, user_api="blas"):
        if n_parts == 1:
            kernel(*args[0])
        else:
            for future in [_executor().submit(kernel, *a) for a in args]:
                future.result()

    n_changed = n_samples if labels_prev is None else int(out[:, 1].sum())
    all_sums = np.zeros((n_clusters, n_features), dtype=X.dtype)
    all_sums[first] = sums.sum(axis=0)
    all_counts = np.zeros(n_clusters, dtype=np.int64)
    all_counts[first] = counts.sum(axis=0)
    return labels, all_sums, all_counts, float(out[:, 0].sum()), n_changed


@njit(nogil=True, cache=True, fastmath={"reassoc"})
def _inertia_range(X, centers64, labels, start, stop, out):
    """Σ ‖x − centers[label]‖² over rows [start, stop), in float64."""
    total = 0.0
    for row in range(start, stop):
        label = labels[row]
        sq = 0.0
        for j in range(X.shape[1]):
            diff = np.float64(X[row, j]) - centers64[label, j]
            sq += diff * diff
        total += sq
    out[0] = total


def inertia(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> float:
    """J of X for given labels, split over the cores like :func:`step`."""
    n_samples = X.shape[0]
    centers64 = centers.astype(np.float64)
    n_parts = int(min(_N_THREADS, max(1, n_samples // _MIN_ROWS_PER_THREAD)))
    bounds = [n_samples * p // n_parts for p in range(n_parts + 1)]
    out = np.zeros((n_parts, 1))
    args = [(X, centers64, labels, bounds[p], bounds[p + 1], out[p]) for p in range(n_parts)]
    if n_parts == 1:
        _inertia_range(*args[0])
    else:
        for future in [_executor().submit(_inertia_range, *a) for a in args]:
            future.result()
    return float(out.sum())
