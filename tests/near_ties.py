"""Label comparisons that hold on every CPU: exact where the nearest centroid is decided,
within rounding where it is a near-tie.

Squared distances computed as ‖x‖² − 2 x·c + ‖c‖² in float32 carry an error of a few float32
eps times (‖x‖ + ‖c‖)², and which BLAS kernel, thread count or summation order is used decides
the last bits. A point whose best and second-best centroid are closer than that can go either
way (issue 18 found gaps of 14 and 23 eps in test_kmeans_fast.py's 45000×16×12 and 2500×8×64
cases), so such a point is checked by its distance, not by its label.
"""

from __future__ import annotations

import numpy as np

__all__ = ["assert_labels_agree"]


def assert_labels_agree(
    X: np.ndarray,
    labels: np.ndarray,
    ref_labels: np.ndarray,
    ref_centers: np.ndarray,
    centers: np.ndarray | None = None,
    *,
    min_decided: float = 0.95,
) -> np.ndarray:
    """Check ``labels`` against the oracle's ``ref_labels`` for the oracle's ``ref_centers``.

    Each squared distance is known to within a slack: the rounding bound of X's dtype for
    that point and centroid, plus, when our run's own ``centers`` are given, what their
    distance from the oracle's centroids can change it by. A point is *decided* when even its
    nearest distinct centroid's largest distance is below every other centroid's smallest.
    Decided points must have the oracle's label; the others must pick a centroid that could
    be the nearest. At least ``min_decided`` of the points must be decided, so the exact
    check is never vacuous. Returns the decided mask.
    """
    X64 = np.asarray(X, dtype=np.float64)
    C = np.asarray(ref_centers, dtype=np.float64)
    eps = float(np.finfo(np.asarray(X).dtype).eps)
    n, d = X64.shape
    rows = np.arange(n)
    d2 = ((X64[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)  # (n, K), float64
    x_norm = np.sqrt((X64**2).sum(axis=1))  # (n,)
    c_norm = np.sqrt((C**2).sum(axis=1))  # (K,)
    slack = (d + 4) * eps * (x_norm[:, None] + c_norm[None, :]) ** 2  # (n, K), generous
    if centers is not None:
        moved = np.sqrt(((np.asarray(centers, np.float64) - C) ** 2).sum(axis=1))  # (K,)
        slack += 2.0 * np.sqrt(d2) * moved[None, :] + moved[None, :] ** 2
    low, high = d2 - slack, d2 + slack
    # Identical centroids tie exactly, and every path gives the point to the first copy:
    # that is decided, so only the first copy of each centroid competes.
    _, first = np.unique(C, axis=0, return_index=True)
    copy = np.ones(len(C), dtype=bool)
    copy[first] = False
    low[:, copy], high[:, copy] = np.inf, np.inf
    best = np.where(copy[None, :], np.inf, d2).argmin(axis=1)  # (n,)
    best_high = high[rows, best]
    others = low.copy()
    others[rows, best] = np.inf
    decided = others.min(axis=1) > best_high
    assert decided.mean() >= min_decided, (
        f"only {decided.mean():.2%} of the points are decided: the comparison says little"
    )
    differ = np.flatnonzero(decided & (labels != ref_labels))
    assert differ.size == 0, (
        f"{differ.size} decided points differ from the oracle, e.g. point {differ[:5]}: "
        f"ours {labels[differ[:5]]}, oracle {ref_labels[differ[:5]]}"
    )
    chosen_low = (d2 - slack)[rows, labels]  # a copy's own distance, not excluded here
    far = np.flatnonzero(chosen_low > high.min(axis=1))
    assert far.size == 0, f"{far.size} near-tie points took a centroid that cannot be nearest"
    return decided


def counts_and_sums(X: np.ndarray, labels: np.ndarray, n_clusters: int):
    """Points per cluster and their float64 sums, for ``labels`` of ``X``: what a step must
    report for its own labels when they part from a reference's on a near-tie."""
    sums = np.zeros((n_clusters, X.shape[1]))
    np.add.at(sums, labels, X.astype(np.float64))
    return np.bincount(labels, minlength=n_clusters), sums
