"""Clustered and i-clustered attention on every head at once: the functions the Lab runs.

The same algorithms as :mod:`engine.clustered_attention.readable` (read that first),
vectorised over batch and heads. Shapes are batch first, per head, as in
:class:`engine.attention.AttentionTrace`: queries (B, H, L, d), keys (B, H, S, d), values
(B, H, S, d_v). Memory grows with C × S, never L × S, unless the weights are asked for
(``need_weights=True``) or a causal mask makes every query's row its own.

Masks: a key padding mask (True = padding) is supported, as in the paper's code. A causal
mask is the Lab's addition, for its causal toy models: a query then reads its centroid's
scores only on the keys it may see, softmaxed over those keys. Any other mask is refused.

Example
-------
>>> import torch
>>> q, k, v = torch.randn(1, 2, 40, 8), torch.randn(1, 2, 30, 8), torch.randn(1, 2, 30, 8)
>>> out, info = clustered_attention(q, k, v, 4, random_state=0)
>>> tuple(out.shape), tuple(info.weights.shape)
((1, 2, 40, 8), (1, 2, 40, 30))
>>> out, info = improved_clustered_attention(q, k, v, 4, topk=30, random_state=0)
>>> torch.allclose(out, torch.nn.functional.scaled_dot_product_attention(q, k, v), atol=1e-5)
True
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from engine.clustered_attention.clustering import cluster_queries
from engine.clustered_attention.errors import (
    ClusterCountError,
    ClusteredAttentionError,
    MaskError,
    NonFiniteError,
    ShapeError,
    TopKError,
)

__all__ = ["ClusteredAttentionInfo", "clustered_attention", "improved_clustered_attention"]

@dataclass(frozen=True)
class ClusteredAttentionInfo:
    """What clustered attention did, beside its output.

    Attributes
    ----------
    labels : Tensor of long, shape (B, H, L)
        Each query's cluster.
    centroids : Tensor of shape (B, H, C, d)
        Mean query of each cluster.
    counts : Tensor of long, shape (B, H, C)
        Queries per cluster.
    weights : Tensor of shape (B, H, L, S), or None
        The attention each query effectively used (rows sum to 1); None when not asked for.
    topk_keys : Tensor of long, shape (B, H, C, topk), or None
        i-clustered only: the keys each cluster recomputed exactly.
    codes : Tensor of bool, shape (B, H, L, hash_bits), or None
        The queries' hash codes when clustered in Hamming space.
    """

    labels: Tensor
    centroids: Tensor
    counts: Tensor
    weights: Tensor | None = None
    topk_keys: Tensor | None = None
    codes: Tensor | None = None

    def __repr__(self) -> str:
        B, H, C, d = self.centroids.shape
        return (
            f"ClusteredAttentionInfo(batch={B}, heads={H}, n_clusters={C}, "
            f"L={self.labels.shape[-1]}, weights={self.weights is not None}, "
            f"topk={None if self.topk_keys is None else self.topk_keys.shape[-1]})"
        )


def clustered_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    n_clusters: int,
    *,
    n_iter: int = 10,
    hash_bits: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    key_padding_mask: Tensor | None = None,
    is_causal: bool = False,
    need_weights: bool = True,
) -> tuple[Tensor, ClusteredAttentionInfo]:
    """Attention computed once per cluster of queries, shared by the cluster's members.

    Parameters
    ----------
    query : Tensor of shape (B, H, L, d)
    key : Tensor of shape (B, H, S, d)
    value : Tensor of shape (B, H, S, d_v)
    n_clusters : int
        C, from 1 to L.
    n_iter : int, default=10
        Lloyd iterations of the clustering.
    hash_bits : int or None, default=None
        None clusters the queries with the engine's exact K-means; an integer (1-64) hashes
        them with that many random hyperplanes and clusters the codes in Hamming space.
    random_state : int, RandomState or None
        Seeds the clustering.
    key_padding_mask : Tensor of bool, shape (B, S), optional
        True at padding keys, which get no attention.
    is_causal : bool, default=False
        Query i sees keys 0..i only (needs L == S; builds an (L, S) matrix).
    need_weights : bool, default=True
        Return each query's effective weights in ``info.weights`` (an (L, S) matrix per head).

    Returns
    -------
    output : Tensor of shape (B, H, L, d_v)
    info : ClusteredAttentionInfo

    Raises
    ------
    ClusteredAttentionError
        ShapeError, ClusterCountError, NonFiniteError or MaskError, naming the argument.
    """
    _check(query, key, value, n_clusters, None, n_iter, hash_bits, key_padding_mask, is_causal)
    clusters = cluster_queries(
        query, n_clusters, n_iter=n_iter, hash_bits=hash_bits, random_state=random_state
    )
    labels, scale = clusters.labels, math.sqrt(query.shape[-1])
    scores = clusters.centroids @ key.transpose(-2, -1) / scale  # (B, H, C, S)
    scores = _mask_padding(scores, key_padding_mask)
    weights = None
    if is_causal:  # every query its own row: its centroid's scores on the keys it may see
        weights = torch.softmax(_gather_rows(scores, labels) + _causal(query, key), dim=-1)
        weights = weights.nan_to_num(0.0)  # (B, H, L, S); a row with no key in view: zeros
        output = weights @ value  # (B, H, L, d_v)
    else:
        centroid_weights = torch.softmax(scores, dim=-1)  # (B, H, C, S) one row per cluster
        output = _gather_rows(centroid_weights @ value, labels)  # (B, H, L, d_v)
        if need_weights:
            weights = _gather_rows(centroid_weights, labels)  # (B, H, L, S)
    info = ClusteredAttentionInfo(
        labels=labels, centroids=clusters.centroids, counts=clusters.counts,
        weights=weights if need_weights else None, codes=clusters.codes,
    )  # fmt: skip
    return output, info


def improved_clustered_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    n_clusters: int,
    *,
    topk: int = 32,
    n_iter: int = 10,
    hash_bits: int | None = None,
    random_state: int | np.random.RandomState | None = None,
    key_padding_mask: Tensor | None = None,
    is_causal: bool = False,
    need_weights: bool = True,
) -> tuple[Tensor, ClusteredAttentionInfo]:
    """Clustered attention with each cluster's top-k keys recomputed exactly per query.

    For query i in cluster c, with T the ``topk`` keys of the largest weights Aᶜ of
    c's centroid and m = Σ_{l ∈ T} Aᶜ[l]:

        V̂ᵢ = m · softmax(qᵢ K_Tᵀ / √d) V_T + Σ_{l ∉ T} Aᶜ[l] V_l

    With ``topk = S`` this is full attention for any clustering.

    Parameters
    ----------
    topk : int, default=32
        Keys per cluster recomputed exactly, from 1 to S.
    Other parameters as in :func:`clustered_attention`.

    Returns
    -------
    output : Tensor of shape (B, H, L, d_v)
    info : ClusteredAttentionInfo
        With ``topk_keys`` (B, H, C, topk).

    Raises
    ------
    ClusteredAttentionError
        ShapeError, ClusterCountError, TopKError, NonFiniteError or MaskError.
    """
    _check(query, key, value, n_clusters, topk, n_iter, hash_bits, key_padding_mask, is_causal)
    clusters = cluster_queries(
        query, n_clusters, n_iter=n_iter, hash_bits=hash_bits, random_state=random_state
    )
    labels, scale = clusters.labels, math.sqrt(query.shape[-1])
    scores = clusters.centroids @ key.transpose(-2, -1) / scale  # (B, H, C, S)
    scores = _mask_padding(scores, key_padding_mask)
    centroid_weights = torch.softmax(scores, dim=-1)  # (B, H, C, S)
    top_weights, top = centroid_weights.topk(topk, dim=-1)  # (B, H, C, k) each
    if need_weights or is_causal:
        weights = _improved_weights(query, key, scores, centroid_weights, top, labels,
                                    key_padding_mask, is_causal)  # fmt: skip
        output = weights @ value  # (B, H, L, d_v)
    else:
        weights = None
        output = _improved_output(query, key, value, centroid_weights, top_weights, top,
                                  labels, key_padding_mask)  # fmt: skip
    info = ClusteredAttentionInfo(
        labels=labels, centroids=clusters.centroids, counts=clusters.counts,
        weights=weights if need_weights else None, topk_keys=top, codes=clusters.codes,
    )  # fmt: skip
    return output, info


# ----------------------------------------------------------------------------- i-clustered


def _improved_output(query, key, value, centroid_weights, top_weights, top, labels, padding):
    """The i-clustered output without any (L, S) matrix: (B, H, L, d_v).

    Each query needs its own softmax over its cluster's top-k keys. Gathering those keys
    once per query would copy L × k × d numbers; instead the queries are sorted by cluster
    (as the paper's code does) and cut into tiles of at most ⌈L/C⌉ queries of one cluster
    - at most 2C tiles per head - and each tile takes one small product with its cluster's
    keys.
    """
    B, H, L, d = query.shape
    C, d_v, N = top.shape[2], value.shape[-1], B * H
    # Σ_{l ∉ T} Aᶜ[l] V_l for every cluster: its weights with the top-k keys zeroed.
    rest = (centroid_weights.scatter(-1, top, 0.0) @ value).reshape(N, C, d_v)
    mass = top_weights.sum(dim=-1).reshape(N, C)  # m of every cluster

    # Where each query goes: sorted by cluster, then tile by tile.
    tile = math.ceil(L / C)
    labels = labels.reshape(N, L)
    order = labels.argsort(dim=-1, stable=True)  # (N, L) the queries, cluster by cluster
    by_cluster = labels.gather(1, order)  # (N, L) their clusters, ascending
    device = query.device
    counts = torch.zeros(N, C, dtype=torch.long, device=device).scatter_add_(
        1, labels, torch.ones_like(labels)
    )  # (N, C)
    n_tiles = (counts + tile - 1) // tile  # (N, C) tiles per cluster
    rank = torch.arange(L, device=device) - (counts.cumsum(1) - counts).gather(1, by_cluster)
    place = ((n_tiles.cumsum(1) - n_tiles).gather(1, by_cluster) + rank // tile) * tile
    place = place + rank % tile  # (N, L) row of each sorted query among all tiles' rows
    T = int(n_tiles.sum(dim=1).max())  # tiles of the busiest head

    rows = query.reshape(N, L, d).gather(1, order.unsqueeze(-1).expand(N, L, d))
    tiles = query.new_zeros(N, T * tile, d).scatter_(1, place.unsqueeze(-1).expand(N, L, d), rows)
    tile_cluster = torch.zeros(N, T, dtype=torch.long, device=device).scatter_(
        1, place // tile, by_cluster
    )  # (N, T) the cluster of each tile
    keys = _per_tile(_gather_keys(key, top), tile_cluster)  # (N, T, k, d)
    values = _per_tile(_gather_keys(value, top), tile_cluster)  # (N, T, k, d_v)

    s = tiles.view(N, T, tile, d) @ keys.transpose(-2, -1) / math.sqrt(d)  # (N, T, tile, k)
    if padding is not None:  # padding keys enter T only when k exceeds the real keys
        pad = padding[:, None, None, :].expand(B, H, C, padding.shape[-1]).gather(-1, top)
        s = s.masked_fill(_per_tile(pad, tile_cluster).unsqueeze(-2), -math.inf)
    exact = (torch.softmax(s, dim=-1) @ values).view(N, T * tile, d_v)  # (N, T*tile, d_v)
    exact = exact.gather(1, place.unsqueeze(-1).expand(N, L, d_v))  # (N, L, d_v) sorted order
    out = mass.gather(1, by_cluster).unsqueeze(-1) * exact + rest.gather(
        1, by_cluster.unsqueeze(-1).expand(N, L, d_v)
    )  # (N, L, d_v)
    output = torch.empty_like(out).scatter_(1, order.unsqueeze(-1).expand(N, L, d_v), out)
    return output.view(B, H, L, d_v)


def _per_tile(table: Tensor, tile_cluster: Tensor) -> Tensor:
    """Each tile's row of a per-cluster table: (B, H, C, *r), (N, T) → (N, T, *r)."""
    N, T = tile_cluster.shape
    flat = table.reshape(N, table.shape[2], *table.shape[3:])
    rest = flat.shape[2:]
    index = tile_cluster.reshape(N, T, *([1] * len(rest))).expand(N, T, *rest)
    return flat.gather(1, index)


def _improved_weights(query, key, scores, centroid_weights, top, labels, padding, is_causal):
    """Every query's effective i-clustered weights (B, H, L, S)."""
    in_top = torch.zeros_like(scores, dtype=torch.bool).scatter_(-1, top, True)  # (B, H, C, S)
    if is_causal:
        mask = _causal(query, key)  # (L, S)
        weights = torch.softmax(_gather_rows(scores, labels) + mask, dim=-1).nan_to_num(0.0)
        exact_keys = _gather_rows(in_top, labels) & ~torch.isneginf(mask)  # T ∩ keys in view
    else:
        weights = _gather_rows(centroid_weights, labels)  # (B, H, L, S) Aᶜ of each query
        exact_keys = _gather_rows(in_top, labels)
    if padding is not None:
        exact_keys = exact_keys & ~padding[:, None, None, :]
    own = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])  # (B, H, L, S)
    exact = torch.softmax(own.masked_fill(~exact_keys, -math.inf), dim=-1)
    exact = exact.nan_to_num(0.0)  # a query whose top keys all lie ahead of it: none exact
    mass = (weights * exact_keys).sum(dim=-1, keepdim=True)  # (B, H, L, 1)  m
    return torch.where(exact_keys, mass * exact, weights)


# ----------------------------------------------------------------------------- helpers


def _gather_rows(table: Tensor, labels: Tensor) -> Tensor:
    """Row ``labels[b, h, i]`` of ``table[b, h]`` for every query: (B, H, C, *r) → (B, H, L, *r)."""
    B, H, L = labels.shape
    rest = table.shape[3:]
    index = labels.reshape(B, H, L, *([1] * len(rest))).expand(B, H, L, *rest)
    return table.gather(2, index)


def _gather_keys(table: Tensor, top: Tensor) -> Tensor:
    """Rows ``top`` of every head's keys or values: (B, H, S, e), (B, H, C, k) → (B, H, C, k, e)."""
    B, H, C, k = top.shape
    e = table.shape[-1]
    flat = table.gather(2, top.reshape(B, H, C * k, 1).expand(B, H, C * k, e))
    return flat.reshape(B, H, C, k, e)


def _mask_padding(scores: Tensor, padding: Tensor | None) -> Tensor:
    if padding is None:
        return scores
    return scores.masked_fill(padding[:, None, None, :], -math.inf)


def _causal(query: Tensor, key: Tensor) -> Tensor:
    """(L, S) additive mask: 0 where key j ≤ query i, -inf after it."""
    L, S = query.shape[-2], key.shape[-2]
    future = torch.ones(L, S, dtype=torch.bool, device=query.device).triu(1)
    return torch.zeros(L, S, dtype=query.dtype, device=query.device).masked_fill(
        future, -math.inf
    )


def _check(query, key, value, n_clusters, topk, n_iter, hash_bits, padding, is_causal) -> None:
    """Validate once, at the boundary, naming the argument and the rule."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise ShapeError(f"{name} must be a torch.Tensor, got {type(t).__name__}.")
        if t.dim() != 4:
            raise ShapeError(
                f"{name} must have shape (batch, heads, length, features); got rank {t.dim()} "
                f"with shape {tuple(t.shape)}."
            )
        if not t.is_floating_point():
            raise ShapeError(f"{name} must be a floating-point tensor, got {t.dtype}.")
    (B, H, L, d), S = query.shape, key.shape[2]
    if key.shape[:2] != (B, H) or value.shape[:2] != (B, H):
        raise ShapeError(
            f"query, key and value must share batch and heads; got {tuple(query.shape[:2])}, "
            f"{tuple(key.shape[:2])} and {tuple(value.shape[:2])}."
        )
    if key.shape[3] != d:
        raise ShapeError(
            f"key has {key.shape[3]} features per head but query has {d}: Q Kᵀ needs the same."
        )
    if value.shape[2] != S:
        raise ShapeError(f"key and value must have the same length; got {S} and {value.shape[2]}.")
    if L == 0 or S == 0:
        raise ShapeError(f"sequences must not be empty; got L={L} queries and S={S} keys.")
    if not (query.dtype == key.dtype == value.dtype):
        raise ShapeError(
            f"query, key and value must share a dtype; got {query.dtype}, {key.dtype}, "
            f"{value.dtype}."
        )
    _check_count("n_clusters", n_clusters)
    if not 1 <= n_clusters <= L:
        raise ClusterCountError(n_clusters, L)
    if topk is not None:
        _check_count("topk", topk)
        if not 1 <= topk <= S:
            raise TopKError(topk, S)
    _check_count("n_iter", n_iter)
    if n_iter < 1:
        raise ClusteredAttentionError(f"n_iter={n_iter} should be >= 1.")
    if hash_bits is not None:
        _check_count("hash_bits", hash_bits)
        if not 1 <= hash_bits <= 64:
            raise ClusteredAttentionError(
                f"hash_bits={hash_bits} should be between 1 and 64 (or None for exact K-means)."
            )
    for name, t in (("query", query), ("key", key), ("value", value)):
        bad = int((~torch.isfinite(t)).sum())
        if bad:
            raise NonFiniteError(name, bad)
    if is_causal and L != S:
        raise MaskError(f"is_causal=True needs as many queries as keys; got L={L} and S={S}.")
    if padding is not None:
        if not isinstance(padding, Tensor) or padding.dtype != torch.bool:
            raise MaskError(
                "key_padding_mask must be a bool tensor (True = padding); clustered attention "
                "supports no other mask, as the paper's code."
            )
        if tuple(padding.shape) != (B, S):
            raise MaskError(
                f"key_padding_mask must have shape (batch, S) = ({B}, {S}); got "
                f"{tuple(padding.shape)}."
            )
        if padding.all(dim=-1).any():
            raise MaskError("key_padding_mask masks every key of a sequence: nothing to attend to.")


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ClusteredAttentionError(
            f"{name} must be an integer, got {value!r} ({type(value).__name__})."
        )
