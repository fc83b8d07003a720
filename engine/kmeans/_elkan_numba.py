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

The lower bounds, carried lazily
--------------------------------
The textbook step lowers every l(x, j) by its centroid's shift δ_j every iteration: N·K
reads and writes, which cost more than everything else once the bounds decide nearly
every point. Here a lower bound is stored together with the centroid's total shift when
it was stored, l(x, j) + D_j, where D_j = δ_j summed over the iterations so far
(``drift``). Read back later as stored − D_j(now), it is the textbook bound lowered by every
shift since: the same value in exact arithmetic, with nothing written in between. Only
the points whose upper bound fails Lemma 1 read their row of bounds at all.

The numbers
-----------
Distances are computed directly, √Σ (x − c)² in float64, features summed in order, and the
bounds are kept in float64. (float32 bounds, rounded down
so that they stay bounds, halve their memory but made every pass slower here: a
conversion and a rounding test at every store.)
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
def _sq_distance(X, i, centers64, k):
    """‖X[i] − centers[k]‖² in float64, summed over features in order."""
    sq = 0.0
    for f in range(X.shape[1]):
        diff = np.float64(X[i, f]) - centers64[k, f]
        sq += diff * diff
    return sq


@njit(nogil=True, cache=True, inline="always")
def _all_distances(X, i, centers_t, out):
    """out[j] = ‖X[i] − c_j‖² for every centroid j; ``centers_t`` is the (d, K) transpose.

    The same sums, in the same order, as :func:`_sq_distance`, so the same bits; but the
    inner loop runs over the centroids, whose sums are independent: the compiler does
    several at once.
    """
    out[:] = 0.0
    for f in range(X.shape[1]):
        x = np.float64(X[i, f])
        for j in range(centers_t.shape[1]):
            diff = x - centers_t[f, j]
            out[j] += diff * diff


@njit(nogil=True, cache=True, inline="always")
def _distance(X, i, centers64, k):
    """‖X[i] − centers[k]‖ in float64."""
    return np.sqrt(_sq_distance(X, i, centers64, k))


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


@njit(nogil=True, cache=True, inline="always")
def _count_open(i, label, u, lower, drift, half):
    """How many centroids other than ``label`` the bounds leave open for point i.

    A centroid is open when u reaches the larger of its two bounds, ties included (the
    loop decides ties); every other one is strictly farther than the point's own
    centroid, whatever the loop later finds. Branch-free, so the compiler runs it several
    centroids at a time: it settles the many points with nothing open cheaply.
    """
    n_open = 0
    for j in range(lower.shape[1]):
        n_open += u >= max(lower[i, j] - drift[j], half[label, j])
    return n_open - (u >= max(lower[i, label] - drift[label], half[label, label]))


@njit(nogil=True, cache=True, inline="always")
def _list_open(i, label, u, lower, drift, half, open_):
    """The open centroids of :func:`_count_open`, in order, written to ``open_``; how many."""
    n_open = 0
    for j in range(lower.shape[1]):
        open_[n_open] = j  # kept only if the count below moves past it
        n_open += (j != label) & (u >= max(lower[i, j] - drift[j], half[label, j]))
    return n_open


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
    drift,
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
    open_ = np.empty(n_clusters, dtype=np.int64)  # a point's open centroids
    all_sq = np.empty(n_clusters)  # a point's squared distances to every centroid (fresh)
    centers_t = np.ascontiguousarray(centers64.T)  # (d, K): a feature's K values side by side
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
                # No bounds yet: measure every centroid, which makes every bound exact.
                # Across the centroids at once (the compiler runs several side by side),
                # this costs less than Elkan's scan that skips some of them one by one.
                # (drift is 0 here: a stored bound is the bound itself.)
                _all_distances(X, i, centers_t, all_sq)
                label = 0  # centroid 0 is always eligible: it is the first of its copies
                for j in range(n_clusters):
                    lower[i, j] = np.sqrt(all_sq[j])
                for j in range(1, n_clusters):
                    if eligible[j] and lower[i, j] < lower[i, label]:
                        label = j  # strictly nearer: the first of equals stays
                n_distances += n_clusters
            else:
                # The centroids moved: u grows by its centroid's shift; each lower bound is
                # read as stored − drift, i.e. lowered by every shift since it was stored.
                u = upper[i] + shift[old]
                label = first_of[old]  # a copy's points go to the first copy (same distance)
                tight = False  # is u the exact distance to c_label?
                # Lemma 1: no centroid is nearer when u is below half the distance from
                # c_label to its nearest neighbour centroid. Else the bounds as they stand
                # rule out what they can, and the rest are asked again as u tightens.
                n_open = 0
                if u >= s_half[label] and _count_open(i, label, u, lower, drift, half) > 0:
                    n_open = _list_open(i, label, u, lower, drift, half, open_)
                for c in range(n_open):
                    j = open_[c]
                    if not eligible[j]:
                        continue
                    lower_ij = lower[i, j] - drift[j]
                    if _bounds_rule_out(j, label, u, lower_ij, half[label, j]):
                        continue
                    if not tight:  # tighten u once, then ask again
                        u = _distance(X, i, centers64, label)
                        lower[i, label] = u + drift[label]
                        tight = True
                        n_distances += 1
                        if _bounds_rule_out(j, label, u, lower_ij, half[label, j]):
                            continue
                    dist = _distance(X, i, centers64, j)
                    n_distances += 1
                    lower[i, j] = dist + drift[j]
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
            for f in range(n_features):
                sums[label, f] += w * np.float64(X[i, f])
            sq = _sq_distance(X, i, centers64, label)
            j_lanes[i % _J_LANES] += w * sq
            upper[i] = np.sqrt(sq)
            lower[i, label] = upper[i] + drift[label]
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
    drift: np.ndarray,
    fresh: bool,
    compare: bool,
    labels: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
):
    """One Elkan assignment pass, bounds updated in place. Prior validation of data is assumed.

    ``labels`` holds the previous labels on entry (read when ``compare`` or not ``fresh``) and
    the new ones on return. ``shift`` is how far each centroid moved since the last call,
    ``drift`` the shifts summed since the bounds were fresh (zeros when ``fresh``); ``lower``
    holds l(x, j) + drift_j as of the call that stored it. Returns (sums float64, weights,
    counts, inertia, n_changed, n_distances).
    """
    n_samples, n_features = X.shape
    n_clusters = centers64.shape[0]
    # A row's work is its d features and its K lower bounds: tasks sized on both come
    # out ~3x more numerous than Lloyd's, so the threads' shares differ by little.
    bounds = _task_bounds(n_samples, n_features + n_clusters, _FUSED_BLOCK_ROWS)
    n_tasks = len(bounds) - 1
    task_sums = np.empty((n_tasks, n_clusters * n_features))
    task_weights = np.empty((n_tasks, n_clusters))
    task_counts = np.empty((n_tasks, n_clusters), dtype=np.int64)
    task_stats = np.empty((n_tasks, 3))  # J, n_changed, n_distances per task
    weights_in = np.empty(0, X.dtype) if sample_weight is None else sample_weight
    _run_tasks(
        _elkan_tasks, bounds, n_features * n_clusters,
        X, weights_in, centers64, eligible, first_of, half, s_half, shift, drift, fresh,
        compare,
        labels, upper, lower, task_sums, task_weights, task_counts, task_stats,
    )  # fmt: skip
    sums = _sum_in_order(task_sums).reshape(n_clusters, n_features)
    weights = _sum_in_order(task_weights)
    counts = task_counts.sum(axis=0)
    inertia = float(_sum_in_order(task_stats[:, 0]))
    n_changed = int(task_stats[:, 1].sum())
    n_distances = int(task_stats[:, 2].sum())
    return sums, weights, counts, inertia, n_changed, n_distances
