"""Typed errors of clustered attention: each names the argument, its value and the rule.

They all derive from :class:`ClusteredAttentionError` (a ``ValueError``), so a notebook
catches one type and a page can tell a student exactly which setting to change.
"""

from __future__ import annotations

__all__ = [
    "ClusterCountError",
    "ClusteredAttentionError",
    "MaskError",
    "NonFiniteError",
    "ShapeError",
    "TopKError",
]


class ClusteredAttentionError(ValueError):
    """Input that clustered attention cannot take."""


class ShapeError(ClusteredAttentionError):
    """Query, key and value (or a mask) whose shapes do not fit together."""


class ClusterCountError(ClusteredAttentionError):
    """``n_clusters`` outside 1..L: there is no way to group L queries into that many."""

    def __init__(self, n_clusters: int, n_queries: int):
        self.n_clusters, self.n_queries = n_clusters, n_queries
        super().__init__(
            f"n_clusters={n_clusters} should be between 1 and the number of queries "
            f"L={n_queries}: each cluster needs at least one query."
        )


class TopKError(ClusteredAttentionError):
    """``topk`` outside 1..S: a cluster cannot keep more keys than there are."""

    def __init__(self, topk: int, n_keys: int):
        self.topk, self.n_keys = topk, n_keys
        super().__init__(
            f"topk={topk} should be between 1 and the number of keys S={n_keys}."
        )


class NonFiniteError(ClusteredAttentionError):
    """NaN or infinity in a tensor: no softmax, and no cluster, is defined for it."""

    def __init__(self, name: str, count: int):
        self.name, self.count = name, count
        super().__init__(
            f"{name} contains {count} NaN or infinite value(s); clustered attention needs "
            "finite numbers. Replace or drop them first."
        )


class MaskError(ClusteredAttentionError):
    """A mask clustered attention does not support (only key padding and causal are)."""
