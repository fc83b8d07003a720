"""The paper's two algorithms for one head, one cluster at a time: read this first.

Vyas, Katharopoulos & Fleuret (NeurIPS 2020), "Fast Transformers with Clustered Attention".
Full attention computes one softmax row per query: L × S scores. Clustered attention groups
the L queries into C clusters and computes one row per cluster, from the cluster's centroid
(the mean of its queries): C × S scores. Every query then receives its centroid's result.

The improved variant ("i-clustered") repairs what matters most: each cluster takes the
``topk`` keys its centroid attends to most, and every member query recomputes an exact
softmax over just those keys, scaled by the attention mass ``m`` the centroid put on them;
the centroid's weights stay on every other key:

    V̂ᵢ = m · softmax(qᵢ K_Tᵀ / √d) V_T  +  Σ_{l ∉ T} Aᶜ[l] V_l

These loops are the test oracle of the vectorised functions in
:mod:`engine.clustered_attention.attention`, which compute the same thing for every
head and batch at once (and never build an L × S matrix unless asked to).

Example
-------
>>> import torch
>>> q, k, v = torch.randn(6, 4), torch.randn(5, 4), torch.randn(5, 3)
>>> labels = torch.tensor([0, 0, 1, 1, 2, 2])
>>> clustered_head(q, k, v, labels).shape
torch.Size([6, 3])
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["clustered_head", "improved_clustered_head"]


def clustered_head(q: Tensor, k: Tensor, v: Tensor, labels: Tensor) -> Tensor:
    """Clustered attention of one head: q (L, d), k (S, d), v (S, d_v), labels (L,) → (L, d_v)."""
    out = q.new_zeros(q.shape[0], v.shape[1])  # (L, d_v)
    for c in labels.unique():
        members = labels == c  # (L,) the queries of cluster c
        centroid = q[members].mean(dim=0)  # (d,)
        weights = torch.softmax(k @ centroid / math.sqrt(q.shape[1]), dim=0)  # (S,)
        out[members] = weights @ v  # every member gets the centroid's row
    return out


def improved_clustered_head(
    q: Tensor, k: Tensor, v: Tensor, labels: Tensor, topk: int
) -> Tensor:
    """i-clustered attention of one head: as :func:`clustered_head`, then the top-k keys exact."""
    scale = math.sqrt(q.shape[1])
    out = q.new_zeros(q.shape[0], v.shape[1])  # (L, d_v)
    for c in labels.unique():
        members = labels == c
        centroid = q[members].mean(dim=0)  # (d,)
        weights = torch.softmax(k @ centroid / scale, dim=0)  # (S,) the centroid's attention
        top = weights.topk(topk).indices  # (topk,) the keys it attends to most
        mass = weights[top].sum()  # m: the attention the centroid put on them
        rest = weights.clone()
        rest[top] = 0.0  # the centroid's weights on every other key
        exact = torch.softmax(q[members] @ k[top].T / scale, dim=-1)  # (n_c, topk) per member
        out[members] = mass * exact @ v[top] + rest @ v
    return out
