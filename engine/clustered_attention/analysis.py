"""Measuring clustered attention: its error, its cost, the ε bound, and a 2-D view of queries.

The ε bound (Vyas et al., 2020, Proposition 1): softmax is 1-Lipschitz, and
‖qᵢKᵀ − qⱼKᵀ‖ ≤ ‖qᵢ − qⱼ‖ ‖K‖₂, so two queries at most ε apart get attention rows at most

    ‖softmax(qᵢKᵀ/√d) − softmax(qⱼKᵀ/√d)‖₂ ≤ ε ‖K‖₂ / √d

apart (‖K‖₂: the largest singular value of the keys). Queries close to their centroid lose
little by sharing its row: that is why clustering the queries works.

Example
-------
>>> import numpy as np
>>> bound = epsilon_bound(np.zeros(4), np.full(4, 0.1), np.eye(4))
>>> bool(bound.difference <= bound.bound)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

__all__ = [
    "EpsilonBound",
    "OperationCount",
    "QueryProjection",
    "epsilon_bound",
    "operation_counts",
    "project_queries",
    "relative_error",
]

Array = npt.NDArray[np.floating]


def relative_error(approx: Array | torch.Tensor, exact: Array | torch.Tensor) -> float:
    """‖approx − exact‖_F / ‖exact‖_F (0 when both are 0)."""
    approx = np.asarray(approx, dtype=np.float64)
    exact = np.asarray(exact, dtype=np.float64)
    norm = float(np.linalg.norm(exact))
    diff = float(np.linalg.norm(approx - exact))
    return diff / norm if norm > 0 else diff


@dataclass(frozen=True)
class OperationCount:
    """Multiply-adds of one head, full attention against clustered and i-clustered.

    Attributes
    ----------
    full : int
        L·S·d for the scores plus L·S·d_v for the weighted sum of values.
    clustering : int
        Exact K-means: n_iter · L · C · d distances. Hashed: L · bits · d for the hashes
        plus n_iter · L · C · bits bit comparisons.
    clustered : int
        C·S·d + C·S·d_v: attention once per centroid (plus L·d to average the queries).
    improved : int
        The centroids' attention, plus L·k·(d + d_v) for each query's exact top-k keys.
    """

    full: int
    clustering: int
    clustered: int
    improved: int

    @property
    def clustered_total(self) -> int:
        return self.clustering + self.clustered

    @property
    def improved_total(self) -> int:
        return self.clustering + self.improved


def operation_counts(
    L: int,
    S: int,
    d: int,
    d_v: int,
    n_clusters: int,
    *,
    topk: int,
    n_iter: int = 10,
    hash_bits: int | None = None,
) -> OperationCount:
    """Count the multiply-adds of each way to attend (see :class:`OperationCount`)."""
    C = n_clusters
    if hash_bits is None:
        clustering = n_iter * L * C * d
    else:
        clustering = L * hash_bits * d + n_iter * L * C * hash_bits
    centroids = L * d + C * S * (d + d_v)
    return OperationCount(
        full=L * S * (d + d_v),
        clustering=clustering,
        clustered=centroids,
        improved=centroids + L * topk * (d + d_v),
    )


@dataclass(frozen=True, eq=False)
class EpsilonBound:
    """The ε bound for one pair of queries, and how close it is.

    Attributes
    ----------
    i, j : int
        The two queries.
    epsilon : float
        ‖qᵢ − qⱼ‖₂.
    key_norm : float
        ‖K‖₂, the largest singular value of the keys.
    bound : float
        ε ‖K‖₂ / √d.
    difference : float
        ‖softmax(qᵢKᵀ/√d) − softmax(qⱼKᵀ/√d)‖₂, never above ``bound``.
    row_i, row_j : ndarray of shape (S,)
        The two softmax rows, over every key (no mask: the bound is about the softmax).
    """

    i: int
    j: int
    epsilon: float
    key_norm: float
    bound: float
    difference: float
    row_i: Array
    row_j: Array


def epsilon_bound(q_i: Array, q_j: Array, keys: Array, *, i: int = 0, j: int = 1) -> EpsilonBound:
    """The ε bound for queries ``q_i``, ``q_j`` (d,) against ``keys`` (S, d)."""
    q_i, q_j = np.asarray(q_i, dtype=np.float64), np.asarray(q_j, dtype=np.float64)
    keys = np.asarray(keys, dtype=np.float64)
    scale = math.sqrt(keys.shape[1])
    rows = [_softmax(keys @ q / scale) for q in (q_i, q_j)]  # (S,) each
    epsilon = float(np.linalg.norm(q_i - q_j))
    key_norm = float(np.linalg.norm(keys, ord=2))  # largest singular value
    return EpsilonBound(
        i=i, j=j, epsilon=epsilon, key_norm=key_norm, bound=epsilon * key_norm / scale,
        difference=float(np.linalg.norm(rows[0] - rows[1])), row_i=rows[0], row_j=rows[1],
    )  # fmt: skip


def _softmax(x: Array) -> Array:
    e = np.exp(x - x.max())
    return e / e.sum()


@dataclass(frozen=True, eq=False)
class QueryProjection:
    """Queries and centroids in the plane of the queries' two principal components.

    Attributes
    ----------
    queries : ndarray of shape (L, 2)
    centroids : ndarray of shape (C, 2)
    explained : float
        Share of the queries' variance the plane shows (0-1).
    """

    queries: Array
    centroids: Array
    explained: float


def project_queries(queries: Array, centroids: Array) -> QueryProjection:
    """PCA of the queries (L, d) to 2-D; the centroids (C, d) go through the same map."""
    queries = np.asarray(queries, dtype=np.float64)
    centroids = np.asarray(centroids, dtype=np.float64)
    mean = queries.mean(axis=0)
    _, sigma, vt = np.linalg.svd(queries - mean, full_matrices=False)
    # Each axis points where its largest loading is positive (scikit-learn's svd_flip), so
    # the picture does not mirror from one machine to the next.
    vt = vt * np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(axis=1)])[:, np.newaxis]
    axes = np.zeros((2, queries.shape[1]))
    axes[: min(2, len(vt))] = vt[:2]  # one query, or d = 1: the missing axis stays 0
    total = float((sigma**2).sum())
    explained = float((sigma[:2] ** 2).sum()) / total if total > 0 else 1.0
    return QueryProjection(
        queries=(queries - mean) @ axes.T, centroids=(centroids - mean) @ axes.T,
        explained=explained,
    )  # fmt: skip
