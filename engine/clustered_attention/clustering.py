"""Grouping the queries of every head: the engine's exact K-means, or hashing as the paper does.

Two ways, one result (:class:`QueryClusters`):

- ``hash_bits=None``: exact K-means on the queries themselves, by the Lab's own
  :class:`engine.kmeans.KMeans` (Lloyd's algorithm, ``n_iter`` iterations, one head at a
  time). It starts from C *distinct* queries drawn at random, as the paper's code starts
  from random queries; distinct, so that with C equal to the number of distinct queries
  every query is its own centroid and clustered attention is exact.
- ``hash_bits=B``: the paper's clustering. Each query becomes a B-bit code, one bit per
  random hyperplane (which side of it the query lies on), and Lloyd's algorithm runs in
  Hamming space: a code joins the centre it differs from in the fewest bits, and a centre
  becomes the majority vote of its codes' bits. Nearby queries share most bits, and a code
  of up to 64 bits is one machine word: the distance between two codes is
  popcount(a XOR b), two instructions instead of d multiply-adds. That Lloyd loop is written
  here by hand because the engine's K-means is Euclidean; it counts whole bits only, so the
  result is the same on every CPU. (On a CPU the engine's compiled K-means, whose distances
  are one BLAS product, is as fast: the hashes pay off on the paper's GPU kernels. See the
  README's benchmark.)

Either way the centroids attention uses are the means of each cluster's queries.

Example
-------
>>> import torch
>>> q = torch.randn(1, 2, 50, 8)  # (B, H, L, d)
>>> clusters = cluster_queries(q, 5, random_state=0)
>>> tuple(clusters.labels.shape), tuple(clusters.centroids.shape)
((1, 2, 50), (1, 2, 5, 8))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from torch import Tensor

from engine.kmeans import KMeans

__all__ = ["QueryClusters", "cluster_queries", "hash_codes"]


@dataclass(frozen=True)
class QueryClusters:
    """The clusters of every head's queries.

    Attributes
    ----------
    labels : Tensor of long, shape (B, H, L)
        The cluster of each query.
    centroids : Tensor of shape (B, H, C, d)
        Mean of each cluster's queries (zeros for a cluster left empty, which can only
        happen when there are fewer distinct queries, or codes, than clusters).
    counts : Tensor of long, shape (B, H, C)
        Queries per cluster.
    codes : Tensor of bool, shape (B, H, L, hash_bits), or None
        The queries' hash codes when they were clustered in Hamming space.
    """

    labels: Tensor
    centroids: Tensor
    counts: Tensor
    codes: Tensor | None = None

    def __repr__(self) -> str:
        B, H, C, d = self.centroids.shape
        how = "exact K-means" if self.codes is None else f"{self.codes.shape[-1]}-bit hashes"
        return f"QueryClusters(batch={B}, heads={H}, n_clusters={C}, d={d}, {how})"


def cluster_queries(
    query: Tensor,
    n_clusters: int,
    *,
    n_iter: int = 10,
    hash_bits: int | None = None,
    random_state: int | np.random.RandomState | None = None,
) -> QueryClusters:
    """Group every head's L queries into ``n_clusters`` clusters.

    Prior validation is assumed (see :func:`engine.clustered_attention.clustered_attention`).

    Parameters
    ----------
    query : Tensor of shape (B, H, L, d)
    n_clusters : int
        C, between 1 and L.
    n_iter : int, default=10
        Lloyd iterations (at most; exact K-means stops early once no label changes).
    hash_bits : int or None, default=None
        None: exact K-means on the queries. An integer: K-means in Hamming space on codes
        of that many random-hyperplane bits.
    random_state : int, RandomState or None
        Seeds the initial centres and the hyperplanes.

    Returns
    -------
    QueryClusters
    """
    B, H, L, d = query.shape
    rng = check_random_state(random_state)
    flat = query.detach().reshape(B * H, L, d)  # one row per head
    codes = None
    if hash_bits is None:
        points = flat.cpu().numpy()
        labels = torch.stack([
            torch.from_numpy(_kmeans_labels(points[n], n_clusters, n_iter, rng))
            for n in range(B * H)
        ])  # fmt: skip
    else:
        generator = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
        codes = hash_codes(flat, hash_bits, generator)  # (B*H, L, bits)
        labels = _hamming_lloyd(codes, n_clusters, n_iter, rng)
        codes = codes.reshape(B, H, L, hash_bits)
    labels = labels.to(device=query.device, dtype=torch.long).reshape(B, H, L)
    centroids, counts = cluster_means(query, labels, n_clusters)
    return QueryClusters(labels=labels, centroids=centroids, counts=counts, codes=codes)


def cluster_means(query: Tensor, labels: Tensor, n_clusters: int) -> tuple[Tensor, Tensor]:
    """The mean of each cluster's queries (B, H, C, d) and the cluster sizes (B, H, C)."""
    B, H, L, d = query.shape
    index = labels.unsqueeze(-1).expand(B, H, L, d)  # (B, H, L, d)
    sums = query.new_zeros(B, H, n_clusters, d).scatter_add_(2, index, query)  # (B, H, C, d)
    counts = torch.zeros(B, H, n_clusters, dtype=torch.long, device=query.device)
    counts.scatter_add_(2, labels, torch.ones_like(labels))  # (B, H, C)
    return sums / counts.clamp(min=1).unsqueeze(-1).to(query.dtype), counts


def _distinct_rows(points: np.ndarray, n: int, rng: np.random.RandomState) -> np.ndarray:
    """``n`` distinct rows of ``points`` at random (repeated when there are fewer).

    Walks a random permutation and keeps each row not seen before: about n look-ups,
    where sorting all rows to find the distinct ones would cost a sort of L rows.
    """
    chosen, seen = [], set()
    for i in rng.permutation(len(points)):
        row = (points[i] + 0.0).tobytes()  # + 0.0: -0.0 and 0.0 are the same query
        if row not in seen:
            seen.add(row)
            chosen.append(i)
            if len(chosen) == n:
                return points[chosen]
    return points[np.resize(chosen, n)]  # fewer distinct rows: the extra centres stay empty


def _kmeans_labels(
    points: np.ndarray, n_clusters: int, n_iter: int, rng: np.random.RandomState
) -> np.ndarray:
    """Exact K-means of one head's queries (L, d) by the engine: the labels (L,)."""
    init = _distinct_rows(points, n_clusters, rng)
    with warnings.catch_warnings():
        # Fewer distinct queries than clusters leaves some empty: that is allowed here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters, init=init, n_init=1, max_iter=n_iter).fit(points)
    return km.labels_.astype(np.int64)


def hash_codes(points: Tensor, hash_bits: int, generator: torch.Generator) -> Tensor:
    """Random-hyperplane hashes (N, L, d) → (N, L, hash_bits) bool: which side of each plane.

    The planes pass through each head's mean query, so each bit splits the queries
    somewhere in the middle rather than leaving them all on one side.
    """
    planes = torch.randn(hash_bits, points.shape[-1], generator=generator)  # (bits, d), on CPU
    planes = planes.to(device=points.device, dtype=points.dtype)
    centred = points - points.mean(dim=-2, keepdim=True)  # (N, L, d)
    return centred @ planes.T > 0  # (N, L, bits)


def _pack(bits: np.ndarray) -> np.ndarray:
    """Bit rows (..., B ≤ 64) as one uint64 word each (...,)."""
    packed = np.packbits(bits, axis=-1, bitorder="little")  # (..., ⌈B/8⌉) bytes
    words = np.zeros((*packed.shape[:-1], 8), dtype=np.uint8)
    words[..., : packed.shape[-1]] = packed
    return words.view(np.uint64)[..., 0]


def _hamming_lloyd(
    codes: Tensor, n_clusters: int, n_iter: int, rng: np.random.RandomState
) -> Tensor:
    """Lloyd's algorithm in Hamming space, head by head: the labels (N, L)."""
    N, L, bits = codes.shape
    all_bits = codes.cpu().numpy()  # (N, L, bits) bool
    labels = np.empty((N, L), dtype=np.int64)
    for n in range(N):
        words = _pack(all_bits[n])  # (L,) one word per query
        centres = _distinct_rows(all_bits[n], n_clusters, rng)  # (C, bits) bool
        for step in range(n_iter + 1):  # n_iter updates, then the final assignment
            # Hamming distance = number of differing bits = popcount(code XOR centre).
            distance = np.bitwise_count(words[:, None] ^ _pack(centres)[None, :])  # (L, C)
            labels[n] = distance.argmin(axis=1)  # the nearest centre; ties go to the first
            if step == n_iter:
                break
            size = np.bincount(labels[n], minlength=n_clusters)[:, None]  # (C, 1)
            # For each bit, how many of each cluster's members have it set: (C, bits).
            ones = np.stack([
                np.bincount(labels[n], weights=all_bits[n][:, b], minlength=n_clusters)
                for b in range(bits)
            ], axis=1)  # fmt: skip
            # Majority vote per bit; a tie, or an empty cluster, keeps the centre's bit.
            centres = np.where(2 * ones == size, centres, 2 * ones > size)
    return torch.from_numpy(labels)
