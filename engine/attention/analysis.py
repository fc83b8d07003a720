"""Numbers that summarise attention maps: entropy, sparsity, rollout, head similarity.

Everything works on NumPy arrays of attention weights for *one* sequence, without
padding (slice it off first): ``weights`` has shape (H, L_q, L_k), one row per query,
and each row is a probability distribution over keys (or all zeros for a fully
masked query, which is left out of every average).

Example
-------
>>> import numpy as np
>>> from engine.attention.analysis import entropy
>>> uniform = np.full((1, 4, 4), 0.25)
>>> float(entropy(uniform)[0]) == float(np.log(4))
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

__all__ = [
    "aggregate_heads",
    "entropy",
    "group_heads",
    "head_distances",
    "normalized_entropy",
    "query_attention",
    "rollout",
    "sparsity",
]

Array = npt.NDArray[np.floating]


def _rows_in_use(weights: Array) -> npt.NDArray[np.bool_]:
    """(H, L_q) True where the row is a distribution (not fully masked)."""
    return weights.sum(axis=-1) > 0


def _row_entropy(weights: Array) -> Array:
    """-Σ w log w along the last axis, with 0 log 0 = 0."""
    logs = np.log(np.where(weights > 0, weights, 1.0))
    return -(weights * logs).sum(axis=-1)


def entropy(weights: Array) -> Array:
    """Mean entropy (nats) of each head's rows.

    0 when every query looks at one key; ``log(L_k)`` when it spreads evenly.

    Parameters
    ----------
    weights : ndarray of shape (H, L_q, L_k)

    Returns
    -------
    ndarray of shape (H,)
    """
    weights = np.asarray(weights, dtype=np.float64)
    used = _rows_in_use(weights)
    h = _row_entropy(weights)
    return np.array([h[i][used[i]].mean() if used[i].any() else 0.0 for i in range(len(h))])


def normalized_entropy(weights: Array, allowed: npt.ArrayLike | None = None) -> Array:
    """Entropy divided by its maximum, ``log(number of keys a row may attend to)``.

    Parameters
    ----------
    weights : ndarray of shape (H, L_q, L_k)
    allowed : bool array broadcastable to (H, L_q, L_k), optional
        Keys each query may attend to (not masked); all of them by default.

    Returns
    -------
    ndarray of shape (H,), values in [0, 1]
        A row that may attend to a single key (the first query under a causal mask)
        has no choice and is left out.
    """
    weights = np.asarray(weights, dtype=np.float64)
    n_allowed = _n_allowed(weights, allowed)  # (H, L_q)
    used = _rows_in_use(weights) & (n_allowed > 1)
    ratio = _row_entropy(weights) / np.log(np.maximum(n_allowed, 2))
    return np.array([ratio[i][used[i]].mean() if used[i].any() else 0.0 for i in range(len(ratio))])


def _n_allowed(weights: Array, allowed: npt.ArrayLike | None) -> npt.NDArray[np.intp]:
    """(H, L_q) number of keys each row may attend to."""
    if allowed is None:
        return np.full(weights.shape[:-1], weights.shape[-1])
    return np.broadcast_to(np.asarray(allowed, dtype=bool), weights.shape).sum(axis=-1)


def sparsity(weights: Array, mass: float = 0.9, allowed: npt.ArrayLike | None = None) -> Array:
    """Share of keys a head can ignore: ``1 - (keys holding `mass` of the weight) / keys``.

    A sparsity of 0.9 means 10% of the keys carry 90% of the attention; 0 means the
    weight is spread so evenly that (almost) every key is needed.

    Parameters
    ----------
    weights : ndarray of shape (H, L_q, L_k)
    mass : float, default=0.9
    allowed : bool array broadcastable to (H, L_q, L_k), optional
        Keys each query may attend to; all of them by default.

    Returns
    -------
    ndarray of shape (H,), values in [0, 1)
        Averaged over the rows that are not fully masked.
    """
    if not 0 < mass <= 1:
        raise ValueError(f"mass must be in (0, 1], got {mass}.")
    weights = np.asarray(weights, dtype=np.float64)
    ordered = -np.sort(-weights, axis=-1)  # largest first
    cumulative = np.cumsum(ordered, axis=-1)
    needed = (cumulative < mass - 1e-9).sum(axis=-1) + 1  # (H, L_q)
    n_allowed = np.maximum(_n_allowed(weights, allowed), 1)
    share = 1.0 - np.minimum(needed, n_allowed) / n_allowed
    used = _rows_in_use(weights)
    return np.array([share[i][used[i]].mean() if used[i].any() else 0.0 for i in range(len(share))])


def aggregate_heads(weights: Array, how: str = "mean") -> Array:
    """Combine heads into one (L_q, L_k) map: ``"mean"`` or ``"max"`` over heads."""
    weights = np.asarray(weights)
    if how == "mean":
        return weights.mean(axis=0)
    if how == "max":
        return weights.max(axis=0)
    raise ValueError(f"how must be 'mean' or 'max', got {how!r}.")


def query_attention(weights: Array, queries: Sequence[int]) -> Array:
    """Attention that the chosen query rows pay to each key, summed: shape (L_k,).

    Parameters
    ----------
    weights : ndarray of shape (L_q, L_k)
        One head (or an aggregate).
    queries : sequence of int
        Query positions.
    """
    weights = np.asarray(weights)
    queries = list(queries)
    if not queries:
        return np.zeros(weights.shape[-1])
    if min(queries) < 0 or max(queries) >= weights.shape[0]:
        raise ValueError(f"query positions must be in [0, {weights.shape[0]}), got {queries}.")
    return weights[queries].sum(axis=0)


def rollout(layers: Sequence[Array], residual: bool = True) -> Array:
    """Attention rollout (Abnar & Zuidema, 2020): how much each output position draws on
    each input token, through all layers.

    Each layer's heads are averaged; with ``residual`` the skip connection is counted as
    attention to oneself, ``0.5 * A + 0.5 * I``, rows renormalised. The layers are then
    multiplied, last layer on the left.

    Parameters
    ----------
    layers : sequence of ndarray of shape (H, L, L)
        Self-attention weights, first layer first.

    Returns
    -------
    ndarray of shape (L, L)
        Rows sum to 1 (for queries that are not fully masked).
    """
    if not layers:
        raise ValueError("rollout needs at least one layer.")
    L = np.asarray(layers[0]).shape[-1]
    result = np.eye(L)
    for weights in layers:
        a = np.asarray(weights, dtype=np.float64).mean(axis=0)  # (L, L)
        if residual:
            a = 0.5 * a + 0.5 * np.eye(L)
            a = a / a.sum(axis=-1, keepdims=True)
        result = a @ result
    return result


def head_distances(weights: Array) -> Array:
    """Jensen-Shannon distance between every pair of heads, averaged over query rows.

    Parameters
    ----------
    weights : ndarray of shape (N, L_q, L_k)
        N heads (for several layers, stack them).

    Returns
    -------
    ndarray of shape (N, N)
        Symmetric, zero on the diagonal, in [0, 1] (base-2 logarithms): 0 for identical
        patterns, 1 for heads that never look at the same keys.
    """
    w = np.asarray(weights, dtype=np.float64)
    used = _rows_in_use(w).all(axis=0)  # rows every head uses, (L_q,)
    w = w[:, used]
    n = len(w)
    distances = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            m = 0.5 * (w[i] + w[j])
            js = 0.5 * (_kl2(w[i], m) + _kl2(w[j], m))  # (rows,)
            distances[i, j] = distances[j, i] = np.sqrt(max(js.mean(), 0.0)) if len(js) else 0.0
    return distances


def _kl2(p: Array, q: Array) -> Array:
    """KL(p || q) in bits along the last axis; q > 0 wherever p > 0 is assumed."""
    ratio = np.where(p > 0, p / np.where(q > 0, q, 1.0), 1.0)
    return (p * np.log2(ratio)).sum(axis=-1)


def group_heads(distances: Array, threshold: float = 0.5) -> npt.NDArray[np.intp]:
    """Group heads whose patterns are within ``threshold`` of each other.

    Average-linkage hierarchical clustering on :func:`head_distances`, cut at
    ``threshold``. Groups are numbered 0, 1, ... in order of their first head.

    Returns
    -------
    ndarray of int, shape (N,)
    """
    distances = np.asarray(distances, dtype=np.float64)
    n = len(distances)
    if n == 1:
        return np.zeros(1, dtype=np.intp)
    labels = fcluster(
        linkage(squareform(distances, checks=False), "average"), threshold, "distance"
    )
    order = {label: k for k, label in enumerate(dict.fromkeys(labels))}
    return np.array([order[label] for label in labels], dtype=np.intp)
