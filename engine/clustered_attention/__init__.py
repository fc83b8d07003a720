"""Where clustering meets attention: clustered and i-clustered attention (Vyas et al., 2020).

Group the queries with K-means, attend once per cluster centroid (C × S scores instead of
L × S) and give every query its centroid's result; the improved variant recomputes each
cluster's top-k keys exactly for every query. This package may import both the K-means and
the attention labs (declared in ``tests/test_layering.py``).

=============== ================================================================
module          what it is for
=============== ================================================================
``readable``    the paper's two algorithms for one head, a loop over clusters
``attention``   :func:`clustered_attention`, :func:`improved_clustered_attention`:
                every head at once, no L × S matrix unless asked
``clustering``  exact K-means (the engine's) or random-hyperplane hashes + K-means
                in Hamming space
``analysis``    relative error, operation counts, the ε bound, a 2-D view of queries
``run``         :class:`ClusteredRun`: one head, full vs clustered vs i-clustered
``toy``         the shipped toy transformers with a head replaced; task accuracy
``errors``      typed errors naming the argument and the rule
=============== ================================================================

>>> import torch
>>> from engine.clustered_attention import clustered_attention
>>> q = k = v = torch.randn(1, 8, 100, 64)  # (B, H, L, d)
>>> out, info = clustered_attention(q, k, v, n_clusters=10, random_state=0)
>>> tuple(out.shape), tuple(info.labels.shape)
((1, 8, 100, 64), (1, 8, 100))
"""

from engine.clustered_attention.attention import (
    ClusteredAttentionInfo,
    clustered_attention,
    improved_clustered_attention,
)
from engine.clustered_attention.clustering import QueryClusters, cluster_queries
from engine.clustered_attention.errors import (
    ClusterCountError,
    ClusteredAttentionError,
    MaskError,
    NonFiniteError,
    ShapeError,
    TopKError,
)

__all__ = [
    "ClusterCountError",
    "ClusteredAttentionError",
    "ClusteredAttentionInfo",
    "MaskError",
    "NonFiniteError",
    "QueryClusters",
    "ShapeError",
    "TopKError",
    "cluster_queries",
    "clustered_attention",
    "improved_clustered_attention",
]
