"""Compiled kernel behind :class:`engine.kmeans.elkan.ElkanStep`: one pass, most distances skipped.

Read :mod:`engine.kmeans.elkan` first: it says what the three bounds are and why each skip
is safe. This module is the per-point loop, compiled, and the bookkeeping that keeps the
result independent of the number of threads.

How the work is split
---------------------
As in :mod:`engine.kmeans._lloyd_numba` (whose task bounds and thread pool it reuses): the
rows are cut into tasks at places that depend on N alone, each task adds up its own sums,
weights, counts, J and distance count from zero, and :func:`step` adds the tasks in task
order. Every point's bounds are read and written by the one task that owns its row. The
result is the same, bit for bit, for any number of threads.

The numbers
-----------
Distances are computed directly, √Σ (x − c)² in float64, and the bounds are kept in
float64: a bound is then never looser or tighter than the distances it was made from.
Ties go to the lowest centroid index, as in Lloyd's step: a centroid below the current
label is skipped only when its bound is *strictly* beyond, one above it also when equal.
Identical centroids arrive marked: only the first of each set is eligible (the others
get no points, as in :func:`engine.kmeans.lloyd.distinct_centers`), yet every centroid's
lower bounds are kept valid, so a copy that moves apart later is bounded correctly.
J = Σ w ‖x − c‖² is summed in float64 from the same exact distance to the point's final
centroid that resets its upper bound.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from engine.kmeans._lloyd_numba import _FUSED_BLOCK_ROWS, _run_tasks, _sum_in_order, _task_bounds

# J's float64 partial sums: rows take turns, so no add waits for the one before.
_J_LANES = 4


@njit(nogil=True, cache=True, inline="always")
def _distance(X, i, centers64, k):
    """‖X[i] − centers[k]‖ in float64, summed over features in order."""
    sq = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - centers64[k, f]
        sq += diff * diff
    return np.sqrt(sq)


@njit(nogil=True, cache=True, inline="always")
def _bounds_rule_out(j, label, u, lower_ij, half_lj):
    """Whether the bounds prove centroid j cannot take the point from ``label``.

    d(x, c_j) ≥ lower_ij, and d(x, c_j) ≥ 2·half_lj − u ≥ u when u ≤ half_lj (triangle
    inequality), so c_j is no nearer than the upper bound u. A lower index wins ties, so
    one below ``label`` is ruled out only when strictly farther.
    """
    if j < label:
        return u < lower_ij or u < half_lj
    return u <= lower_ij or u <= half_lj


@njit(nogil=True, cache=True)
def _elkan_tasks(
    task_lo,
    task_hi,
    bounds,
    X,
    sample_weight,
    centers64,
    eligible,
    first_of,
    half,
    s_half,
    shift,
    fresh,
    compare,
    labels,
    upper,
    lower,
    task_sums,
    task_weights,
    task_counts,
    task_stats,
):
    n_clusters, n_features = centers64.shape
    weighted = sample_weight.shape[0] > 0
    sums = np.empty((n_clusters, n_features))  # this task's Σ w x, float64
    weights = np.empty(n_clusters)  # Σ w
    counts = np.empty(n_clusters, dtype=np.int64)
    j_lanes = np.empty(_J_LANES)
    for task in range(task_lo, task_hi):
        sums[:] = 0.0
        weights[:] = 0.0
        counts[:] = 0
        j_lanes[:] = 0.0
        changed = 0
        n_distances = 0
        for i in range(bounds[task], bounds[task + 1]):
            old = labels[i]
            if fresh:
                # No bounds yet: scan the centroids in order, skipping those that the
                # half-distance to the best so far rules out (Elkan's initialisation).
                label = 0  # centroid 0 is always eligible: it is the first of its copies
                for j in range(n_clusters):
                    lower[i, j] = 0.0  # a valid lower bound until a distance is known
                u = _distance(X, i, centers64, 0)
                lower[i, 0] = u
                n_distances += 1
                for j in range(1, n_clusters):
                    if not eligible[j] or u <= half[label, j]:
                        continue
                    dist = _distance(X, i, centers64, j)
                    n_distances += 1
                    lower[i, j] = dist
                    if dist < u:
                        label, u = j, dist
            else:
                # The centroids moved: every bound moves by at most its centroid's shift.
                u = upper[i] + shift[old]
                for j in range(n_clusters):
                    lo = lower[i, j] - shift[j]
                    lower[i, j] = lo if lo > 0.0 else 0.0
                label = first_of[old]  # a copy's points go to the first copy (same distance)
                tight = False  # is u the exact distance to c_label?
                # Lemma 1: no centroid is nearer when u is below half the distance from
                # c_label to its nearest neighbour centroid.
                if u >= s_half[label]:
                    for j in range(n_clusters):
                        if j == label or not eligible[j]:
                            continue
                        if _bounds_rule_out(j, label, u, lower[i, j], half[label, j]):
                            continue
                        if not tight:  # tighten u once, then ask again
                            u = _distance(X, i, centers64, label)
                            lower[i, label] = u
                            tight = True
                            n_distances += 1
                            if _bounds_rule_out(j, label, u, lower[i, j], half[label, j]):
                                continue
                        dist = _distance(X, i, centers64, j)
                        n_distances += 1
                        lower[i, j] = dist
                        if dist < u or (dist == u and j < label):
                            label, u = j, dist
            if compare:
                changed += old != label
            labels[i] = label
            # The row pass: sums, weights, counts and J, and the exact distance to the
            # final centroid resets the upper bound (free: x is in cache).
            w = np.float64(sample_weight[i]) if weighted else 1.0
            counts[label] += 1
            weights[label] += w
            sq = 0.0
            for f in range(n_features):
                x = np.float64(X[i, f])
                sums[label, f] += w * x
                diff = x - centers64[label, f]
                sq += diff * diff
            j_lanes[i % _J_LANES] += w * sq
            upper[i] = np.sqrt(sq)
            lower[i, label] = upper[i]
        task_sums[task] = sums.ravel()
        task_weights[task] = weights
        task_counts[task] = counts
        inertia = 0.0
        for lane in range(_J_LANES):
            inertia += j_lanes[lane]
        task_stats[task, 0] = inertia
        task_stats[task, 1] = changed
        task_stats[task, 2] = n_distances


def step(
    X: np.ndarray,
    sample_weight: np.ndarray | None,
    centers64: np.ndarray,
    eligible: np.ndarray,
    first_of: np.ndarray,
    half: np.ndarray,
    s_half: np.ndarray,
    shift: np.ndarray,
    fresh: bool,
    compare: bool,
    labels: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
):
    """One Elkan assignment pass, bounds updated in place. Prior validation of data is assumed.

    ``labels`` holds the previous labels on entry (read when ``compare`` or not ``fresh``) and
    the new ones on return. Returns (sums float64, weights, counts, inertia, n_changed,
    n_distances).
    """
    n_samples, n_features = X.shape
    n_clusters = centers64.shape[0]
    bounds = _task_bounds(n_samples, n_features, _FUSED_BLOCK_ROWS)
    n_tasks = len(bounds) - 1
    task_sums = np.empty((n_tasks, n_clusters * n_features))
    task_weights = np.empty((n_tasks, n_clusters))
    task_counts = np.empty((n_tasks, n_clusters), dtype=np.int64)
    task_stats = np.empty((n_tasks, 3))  # J, n_changed, n_distances per task
    weights_in = np.empty(0, X.dtype) if sample_weight is None else sample_weight
    _run_tasks(
        _elkan_tasks, bounds, n_features * n_clusters,
        X, weights_in, centers64, eligible, first_of, half, s_half, shift, fresh, compare,
        labels, upper, lower, task_sums, task_weights, task_counts, task_stats,
    )  # fmt: skip
    sums = _sum_in_order(task_sums).reshape(n_clusters, n_features)
    weights = _sum_in_order(task_weights)
    counts = task_counts.sum(axis=0)
    inertia = float(_sum_in_order(task_stats[:, 0]))
    n_changed = int(task_stats[:, 1].sum())
    n_distances = int(task_stats[:, 2].sum())
    return sums, weights, counts, inertia, n_changed, n_distances
