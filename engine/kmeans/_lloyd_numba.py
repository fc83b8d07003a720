"""Compiled kernels behind :func:`engine.kmeans.lloyd.fast_step`: one pass over the data per step.

Read :func:`engine.kmeans.lloyd.reference_step` first; these kernels compute the same
StepResult, only faster. No N x K matrix exists at any time.

How the work is split
---------------------
The rows are cut into *tasks* of whole blocks, and where the cuts fall depends on N
alone. A task adds up its own sums, counts, J and changed labels from zero, in arrays
only its thread touches, and :func:`step` adds the tasks' results in task order. So
the threads (one per core; the kernels release the GIL) never share a cache line,
and the result is the same, bit for bit, whatever the number of threads.

Two kernels, by the number of features d
----------------------------------------
* d ≤ 8, one kernel compiled per d (its loops unrolled): a block of rows is copied
  transposed, (d, B), so the distance loop runs over B points at once and the
  compiler vectorises it, one centroid at a time.
* d > 8: the dot products of a block with every centroid, (K, B), come from one BLAS
  GEMM (scipy's, one thread inside each of ours; the centroids passed transposed),
  and the same vectorised loop finds the nearest centroid while they are in cache.

Both then make one pass over the block's rows for the labels, counts, sums and J.
Measured on the project's machine: the compiled distance loop beats a GEMM per block
up to d = 8, BLAS wins from d = 12 on (``bench/kmeans.py``; the commit log has the
profiles behind each choice).

The numbers
-----------
The nearest centroid is chosen as scikit-learn's Lloyd does, by ‖c‖² − 2 x·c
(‖x‖² is the same for every centroid), in the data's precision, first index on ties.
Identical centroids arrive here once (:func:`engine.kmeans.lloyd.distinct_centers`), so no
rounding can split their tie. Two *different* centroids at the same distance tie
exactly only when the arithmetic is exact (integer-valued data, say), and then every
kernel sees the tie; otherwise which of two nearly equidistant centroids wins may
depend on the BLAS kernel and the block size, as it does in scikit-learn. Nothing
depends on the number of threads. J is computed exactly, Σ (x − c)² in float64, in a
fixed order; the sums are accumulated in float64.

Kernels are compiled on first use for each (dtype, d) and cached on disk
(``cache=True``), so only the first call on a machine pays the compile time.

One file, near 500 lines, because it is one job: the compiled pass and its task layout;
splitting the per-d kernels from the BLAS one would hide that they share tasks and ties.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import llvmlite.binding as llvm
import numpy as np
import scipy.linalg.cython_blas  # noqa: F401  (the BLAS the kernels call: loaded before we limit it)
from numba import njit, types
from numba.extending import get_cython_function_address
from threadpoolctl import ThreadpoolController

# Rows per block for small d: the transposed rows (d, B) and best scores (B) stay in L1.
_FUSED_BLOCK_ROWS = 512
# Up to this many features the fused kernel is specialised for d (loops unrolled).
MAX_FUSED_FEATURES = 8
# A task covers about this many values of X (1 MiB of float32), and there are at most
# _MAX_TASKS of them: each has its own partial sums (K x d float64).
_TASK_VALUES = 1 << 18
_MAX_TASKS = 64
# Below this many multiply-adds (rows x d x K) per thread one thread does the whole pass:
# waking another would cost more than it saves.
_MIN_WORK_PER_THREAD = 1 << 21
# J's float64 partial sums (small d): rows take turns, so no add waits for the one before.
_J_LANES = 4

_N_THREADS = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_kernels: dict[int, object] = {}
# Our threads split the rows; BLAS inside each must stay on one thread, or 2 x 2 threads
# fight over 2 cores on every small (K, B) product.
_blas = ThreadpoolController()
_BLAS = "scipy.linalg.cython_blas"


# ----------------------------------------------------------------------------- shared steps


@njit(nogil=True, cache=True)
def _write_labels(b0, m, lab, labels_prev, labels):
    """Count the block's labels that changed, then write them; returns the count."""
    changed = 0
    # Compare before writing: `labels` may be `labels_prev` itself (see `step`).
    if labels_prev.shape[0] == labels.shape[0]:
        for i in range(m):
            changed += labels_prev[b0 + i] != lab[i]
    for i in range(m):
        labels[b0 + i] = lab[i]
    return changed


@njit(nogil=True, cache=True)
def _store_task(
    task, sums, counts, wsums, j_lanes, changed, task_sums, task_counts, task_weights, task_stats
):
    """Copy one task's totals to its own slot of the shared result arrays."""
    task_sums[task] = sums
    task_counts[task] = counts
    task_weights[task] = wsums
    inertia = 0.0
    for lane in range(j_lanes.shape[0]):  # always in the same order
        inertia += j_lanes[lane]
    task_stats[task, 0] = inertia
    task_stats[task, 1] = changed


# ----------------------------------------------------------------------------- small d


def _make_fused_kernel(n_features: int):
    """The fused small-d kernel with d fixed at compile time."""
    d = n_features

    # contract: a·b + c as one FMA. Every centroid's score is computed by the same
    # instructions, so equal scores stay equal; only the last bit changes vs no FMA.
    @njit(nogil=True, cache=True, fastmath={"contract"})
    def fused_tasks(
        task_lo,
        task_hi,
        bounds,
        block_rows,
        X,
        scored,
        first,
        c_sq_norms,
        centers64,
        labels_prev,
        labels,
        weights,
        task_sums,
        task_counts,
        task_weights,
        task_stats,
    ):
        n_clusters = centers64.shape[0]
        block = np.empty((d, block_rows), dtype=X.dtype)  # (d, B) transposed rows
        best = np.empty(block_rows, dtype=X.dtype)  # (B,) lowest ‖c‖² − 2 x·c so far
        lab = np.empty(block_rows, dtype=np.int32)  # (B,) its label
        # This task's totals. Flat (K * d,): with d fixed, k * d + j costs no multiply.
        sums = np.empty(n_clusters * d)
        counts = np.empty(n_clusters, dtype=np.int64)
        wsums = np.empty(n_clusters)  # Σ weight per cluster (weighted fits only)
        j_lanes = np.empty(_J_LANES)
        c64 = centers64.ravel()  # (K * d,) float64
        for task in range(task_lo, task_hi):
            sums[:] = 0.0
            counts[:] = 0
            wsums[:] = 0.0
            j_lanes[:] = 0.0
            changed = 0
            for b0 in range(bounds[task], bounds[task + 1], block_rows):
                m = min(bounds[task + 1] - b0, block_rows)
                for i in range(m):
                    for j in range(d):
                        block[j, i] = X[b0 + i, j]
                for i in range(m):
                    best[i] = np.inf
                    lab[i] = 0
                # Nearest centroid: one vectorised pass over the block per centroid.
                for q in range(scored.shape[0]):
                    c_norm, label = c_sq_norms[q], first[q]
                    for i in range(m):
                        dot = block[0, i] * scored[q, 0]
                        for j in range(1, d):
                            dot += block[j, i] * scored[q, j]
                        dist = c_norm - (dot + dot)
                        better = dist < best[i]  # strict: the first of equal scores wins
                        best[i] = dist if better else best[i]
                        lab[i] = label if better else lab[i]
                changed += _write_labels(b0, m, lab, labels_prev, labels)
                # Counts, sums and J: one pass over the block's rows.
                for i in range(m):
                    k = np.uint32(lab[i])  # unsigned: no check for negative indices
                    counts[k] += 1
                    # Unweighted, `weights` is None and this branch is compiled away:
                    # w = 1.0 is a constant, and x * 1.0 is x, bit for bit.
                    if weights is None:
                        w = 1.0
                    else:
                        w = np.float64(weights[b0 + i])
                        wsums[k] += w
                    sq = 0.0
                    for j in range(d):
                        x = np.float64(block[j, i])
                        sums[k * d + j] += x * w
                        diff = x - c64[k * d + j]
                        sq += diff * diff
                    j_lanes[i % _J_LANES] += sq * w
            _store_task(
                task, sums, counts, wsums, j_lanes, changed,
                task_sums, task_counts, task_weights, task_stats,
            )  # fmt: skip

    return fused_tasks


# ----------------------------------------------------------------------------- larger d


# scipy's BLAS gemm (Fortran: every argument by address), called from the kernel by symbol
# name: a name is looked up again in each process, so the compiled kernel can be cached on
# disk, which a raw function address (ctypes) would forbid. numba's np.dot does the same.
for _name in ("sgemm", "dgemm"):
    llvm.add_symbol(f"engine_lloyd_{_name}", get_cython_function_address(_BLAS, _name))
_sgemm = types.ExternalFunction("engine_lloyd_sgemm", types.void(*[types.intp] * 13))
_dgemm = types.ExternalFunction("engine_lloyd_dgemm", types.void(*[types.intp] * 13))


@njit(nogil=True, cache=True)
def _dot_block(X, b0, m, scored_t, scores, blas_args):
    """scores[q, i] = scored[q] · X[b0 + i] for the block's m rows: one GEMM.

    In BLAS's column-major terms scores (K, B) is a (B x K) matrix with leading
    dimension B, the block is X[b0:]ᵀ (rows of d values) and the centroids come
    transposed, (d, K): measured 1.3-1.7x faster than (K, d) for K = 16.
    """
    n_features = X.shape[1]
    n_scored = scored_t.shape[1]
    trans, dims, alpha_beta = blas_args  # b"TT"; M, N, K, lda, ldb, ldc; (1, 0)
    dims[0], dims[1], dims[2] = m, n_scored, n_features
    dims[3], dims[4], dims[5] = n_features, n_scored, scores.shape[1]
    args = (
        trans.ctypes.data, trans.ctypes.data + 1,
        dims.ctypes.data, dims.ctypes.data + 4, dims.ctypes.data + 8,
        alpha_beta.ctypes.data, X[b0:].ctypes.data, dims.ctypes.data + 12,
        scored_t.ctypes.data, dims.ctypes.data + 16,
        alpha_beta.ctypes.data + alpha_beta.itemsize, scores.ctypes.data, dims.ctypes.data + 20,
    )  # fmt: skip
    if X.itemsize == 4:  # float32
        _sgemm(*args)
    else:
        _dgemm(*args)


@njit(nogil=True, cache=True)
def _blas_tasks(
    task_lo,
    task_hi,
    bounds,
    block_rows,
    X,
    scored,
    first,
    c_sq_norms,
    centers64,
    labels_prev,
    labels,
    weights,
    task_sums,
    task_counts,
    task_weights,
    task_stats,
):
    """Large-d kernel: x·c for a block by one GEMM, then the argmin and the row pass."""
    n_clusters, n_features = centers64.shape
    n_scored = scored.shape[0]
    scored_t = np.ascontiguousarray(scored.T)  # (d, K)
    blas_args = (
        np.array([ord("T"), ord("T")], dtype=np.uint8),
        np.empty(6, dtype=np.int32),
        np.array([1.0, 0.0], dtype=X.dtype),
    )
    scores = np.empty((n_scored, block_rows), dtype=X.dtype)  # (K, B) x·c
    best = np.empty(block_rows, dtype=X.dtype)
    lab = np.empty(block_rows, dtype=np.int32)
    sums = np.empty((n_clusters, n_features))
    counts = np.empty(n_clusters, dtype=np.int64)
    wsums = np.empty(n_clusters)
    j_lanes = np.empty(n_features)  # J per feature: the row pass adds whole rows at once
    for task in range(task_lo, task_hi):
        sums[:] = 0.0
        counts[:] = 0
        wsums[:] = 0.0
        j_lanes[:] = 0.0
        changed = 0
        for b0 in range(bounds[task], bounds[task + 1], block_rows):
            m = min(bounds[task + 1] - b0, block_rows)
            _dot_block(X, b0, m, scored_t, scores, blas_args)
            for i in range(m):
                best[i] = np.inf
                lab[i] = 0
            # The same vectorised argmin as the small-d kernel, on the block's scores.
            for q in range(n_scored):
                c_norm, label = c_sq_norms[q], first[q]
                for i in range(m):
                    dist = c_norm - (scores[q, i] + scores[q, i])
                    better = dist < best[i]
                    best[i] = dist if better else best[i]
                    lab[i] = label if better else lab[i]
            changed += _write_labels(b0, m, lab, labels_prev, labels)
            for i in range(m):
                k = np.uint32(lab[i])
                counts[k] += 1
                if weights is None:  # compiled away, as in the small-d kernel
                    w = 1.0
                else:
                    w = np.float64(weights[b0 + i])
                    wsums[k] += w
                for j in range(n_features):
                    x = np.float64(X[b0 + i, j])
                    sums[k, j] += x * w
                    diff = x - centers64[k, j]
                    j_lanes[j] += diff * diff * w
        _store_task(
            task, sums.ravel(), counts, wsums, j_lanes, changed,
            task_sums, task_counts, task_weights, task_stats,
        )  # fmt: skip


# ----------------------------------------------------------------------------- driver


def _kernel(n_features: int):
    if n_features > MAX_FUSED_FEATURES:
        return _blas_tasks
    with _pool_lock:
        if n_features not in _kernels:
            _kernels[n_features] = _make_fused_kernel(n_features)
        return _kernels[n_features]


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(1, _N_THREADS - 1), thread_name_prefix="lloyd")
        return _pool


def _blas_block_rows(n_scored: int, n_features: int) -> int:
    """Rows per GEMM, measured with OpenBLAS 0.3.30 (SkylakeX kernels) on the project's machine.

    A (B x d) x (d x K) product ran 1.5-2x faster while B K d stayed within 2^19
    multiply-adds (K=64, d=64: 8.4 ms a pass at B=128, 12.8 at B=256; K=16, d=128: 1.1
    at B=256, 2.5 at B=512), and larger blocks gained nothing beyond 512 rows. The block
    size depends on K and d only, never on the number of threads.
    """
    rows = (1 << 19) // (n_scored * n_features)
    return int(min(512, max(64, 1 << max(0, rows.bit_length() - 1))))


def _task_bounds(n_samples: int, n_features: int, block_rows: int) -> np.ndarray:
    """Row bounds of the tasks: whole blocks, as many tasks as X needs, at most _MAX_TASKS."""
    blocks = -(-n_samples // block_rows)
    task_rows = max(block_rows, _TASK_VALUES // n_features)
    n_tasks = max(1, min(_MAX_TASKS, -(-n_samples // task_rows)))
    bounds = np.array([blocks * t // n_tasks * block_rows for t in range(n_tasks + 1)])
    bounds[-1] = n_samples
    return bounds


def _run_tasks(kernel, bounds: np.ndarray, work_per_row: int, *args) -> None:
    """Run ``kernel(task_lo, task_hi, bounds, *args)`` over all tasks, shared among the threads.

    The calling thread takes the first share itself: one thread handoff fewer per step.
    """
    n_tasks = len(bounds) - 1
    work = int(bounds[-1]) * work_per_row
    n_parts = min(_N_THREADS, n_tasks, max(1, work // _MIN_WORK_PER_THREAD))
    shares = [n_tasks * p // n_parts for p in range(n_parts + 1)]
    uses_blas = kernel is _blas_tasks
    with _blas.limit(limits=1, user_api="blas") if uses_blas else contextlib.nullcontext():
        futures = [
            _executor().submit(kernel, shares[p], shares[p + 1], bounds, *args)
            for p in range(1, n_parts)
        ]
        kernel(shares[0], shares[1], bounds, *args)
        for future in futures:
            future.result()


def step(
    X: np.ndarray,
    centers: np.ndarray,
    scored: np.ndarray,
    first: np.ndarray,
    labels_prev: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
):
    """One assignment pass: (labels, sums, weights, counts, inertia, n_changed).

    Validated input assumed. Only the ``scored`` centroids are scored, ``scored[q]``
    reporting label ``first[q]`` (:func:`engine.kmeans.lloyd.distinct_centers`); sums,
    counts and J are over all ``centers``. With ``sample_weight`` (N,) the sums and J are
    weighted and ``weights`` is Σ weight per cluster; without, ``weights`` equals the counts.
    The new labels are written over ``labels_prev`` when it is given, so a run holds
    one label array rather than two (10M points: 40 MB less at the peak).
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    scored = np.ascontiguousarray(scored, dtype=X.dtype)
    c_sq_norms = np.einsum("ij,ij->i", scored, scored)  # in X's dtype, as scikit-learn
    centers64 = np.ascontiguousarray(centers, dtype=np.float64)
    prev = np.empty(0, np.int32) if labels_prev is None else labels_prev
    labels = np.empty(n_samples, dtype=np.int32) if labels_prev is None else labels_prev

    if n_features <= MAX_FUSED_FEATURES:
        block_rows = _FUSED_BLOCK_ROWS
    else:
        block_rows = _blas_block_rows(len(scored), n_features)
    bounds = _task_bounds(n_samples, n_features, block_rows)
    n_tasks = len(bounds) - 1
    task_sums = np.empty((n_tasks, n_clusters * n_features))  # float64, one row per task
    task_counts = np.empty((n_tasks, n_clusters), dtype=np.int64)
    task_weights = np.empty((n_tasks, n_clusters))  # Σ weight per cluster, weighted fits only
    task_stats = np.empty((n_tasks, 2))  # J, n_changed per task
    _run_tasks(
        _kernel(n_features), bounds, n_features * len(scored), block_rows,
        X, scored, first, c_sq_norms, centers64, prev, labels, sample_weight,
        task_sums, task_counts, task_weights, task_stats,
    )  # fmt: skip

    # Tasks in order, whatever thread ran them: the same sums for any number of threads.
    sums = _sum_in_order(task_sums).reshape(n_clusters, n_features).astype(X.dtype)
    counts = task_counts.sum(axis=0)
    weights = counts.astype(np.float64) if sample_weight is None else _sum_in_order(task_weights)
    inertia = float(_sum_in_order(task_stats[:, 0]))
    n_changed = n_samples if labels_prev is None else int(task_stats[:, 1].sum())
    return labels, sums, weights, counts, inertia, n_changed


def _sum_in_order(partials: np.ndarray) -> np.ndarray:
    """partials[0] + partials[1] + ..., left to right (numpy's sum may pair them up)."""
    total = np.array(partials[0], dtype=np.float64)
    for part in partials[1:]:
        total += part
    return total


# ----------------------------------------------------------------------------- J for given labels


@njit(nogil=True, cache=True)
def _inertia_tasks(task_lo, task_hi, bounds, X, centers64, labels, weights, task_stats):
    """Σ w ‖x − centers[label]‖² over each task's rows, in float64 lanes as in the step."""
    d = X.shape[1]
    j_lanes = np.empty((_J_LANES, d))
    for task in range(task_lo, task_hi):
        j_lanes[:] = 0.0
        for row in range(bounds[task], bounds[task + 1]):
            label = labels[row]
            lane = row % _J_LANES
            w = 1.0 if weights is None else np.float64(weights[row])
            for j in range(d):
                diff = np.float64(X[row, j]) - centers64[label, j]
                j_lanes[lane, j] += diff * diff * w
        total = 0.0
        for lane in range(_J_LANES):
            for j in range(d):
                total += j_lanes[lane, j]
        task_stats[task] = total


def inertia(
    X: np.ndarray,
    centers: np.ndarray,
    labels: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> float:
    """(Weighted) J of X for given labels, split into tasks like :func:`step`.

    The same for any thread count.
    """
    bounds = _task_bounds(X.shape[0], X.shape[1], _FUSED_BLOCK_ROWS)
    task_stats = np.empty(len(bounds) - 1)
    centers64 = centers.astype(np.float64)
    _run_tasks(
        _inertia_tasks, bounds, X.shape[1], X, centers64, labels, sample_weight, task_stats
    )
    return float(_sum_in_order(task_stats))


@njit(nogil=True, cache=True)
def _own_distance_tasks(task_lo, task_hi, bounds, X, centers64, labels, out):
    """out[row] = ‖x − centers[label]‖², computed in float64, for each task's rows."""
    for task in range(task_lo, task_hi):
        for row in range(bounds[task], bounds[task + 1]):
            label = labels[row]
            sq = 0.0
            for j in range(X.shape[1]):
                diff = np.float64(X[row, j]) - centers64[label, j]
                sq += diff * diff
            out[row] = sq


def distances_to_own_centroid(X: np.ndarray, centers64: np.ndarray, labels: np.ndarray):
    """Squared distance of every row to its own centroid, in X's dtype (N values, no more)."""
    out = np.empty(X.shape[0], dtype=X.dtype)
    bounds = _task_bounds(X.shape[0], X.shape[1], _FUSED_BLOCK_ROWS)
    _run_tasks(_own_distance_tasks, bounds, X.shape[1], X, centers64, labels, out)
    return out
