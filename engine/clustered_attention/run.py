"""One head, three ways: full, clustered and i-clustered attention side by side, as NumPy.

:class:`HeadInputs` is one head's queries, keys and values on one sequence - taken from a
shipped toy transformer (:meth:`HeadInputs.from_toy`) or from one random attention layer
over the user's own text (:meth:`HeadInputs.from_text`). :class:`ClusteredRun` attends with
it three ways and keeps what the page shows: the three weight matrices, the clusters, the
errors, the operation counts, a 2-D view of the queries and the ε bound for any pair.
Everything is computed in float64, so "exact" shows as an error of 0.

Example
-------
>>> head = HeadInputs.from_text("the cat sat on the mat", d_model=16, n_heads=2)
>>> run = ClusteredRun.compute(head, n_clusters=3, topk=2, seed=0)
>>> run.clustered.shape, run.labels.shape
((6, 6), (6,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from engine.attention import AttentionRun, random_attention
from engine.attention.model import ToyTransformer
from engine.attention.tasks import ToyTask
from engine.clustered_attention.analysis import (
    EpsilonBound,
    OperationCount,
    QueryProjection,
    epsilon_bound,
    operation_counts,
    project_queries,
    relative_error,
)
from engine.clustered_attention.attention import clustered_attention, improved_clustered_attention

__all__ = ["ClusteredRun", "ErrorCurves", "HeadInputs", "error_curves", "sweep_values"]

Array = npt.NDArray[np.floating]


@dataclass(frozen=True, eq=False)
class HeadInputs:
    """One head's queries, keys and values on one sequence.

    Attributes
    ----------
    tokens : tuple of str
    q, k, v : ndarray of shape (L, d)
        The head's projected queries, keys and values (self-attention: S = L).
    causal : bool
        Whether query i may only look at keys 0..i.
    name : str
        Where the head comes from ("Reverse · layer 2 · head 1").
    """

    tokens: tuple[str, ...]
    q: Array
    k: Array
    v: Array
    causal: bool
    name: str

    @property
    def length(self) -> int:
        return len(self.tokens)

    @classmethod
    def from_toy(
        cls, model: ToyTransformer, task: ToyTask, line: str, layer: int, head: int
    ) -> HeadInputs:
        """Head ``head`` of layer ``layer`` of a toy model reading ``line`` (checked letters)."""
        cfg = model.config
        if not (0 <= layer < cfg.n_layers and 0 <= head < cfg.n_heads):
            raise ValueError(
                f"layer {layer} / head {head} do not exist: the {task.title} model has "
                f"{cfg.n_layers} layer(s) of {cfg.n_heads} heads (0-based)."
            )
        run = AttentionRun.from_toy(model, task, [line])
        arrays = run.layers[layer]
        return cls(
            tokens=run.tokens[0], q=arrays.q[0, head], k=arrays.k[0, head], v=arrays.v[0, head],
            causal=run.causal, name=f"{task.title} · layer {layer + 1} · head {head + 1}",
        )  # fmt: skip

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        d_model: int = 64,
        n_heads: int = 4,
        head: int = 0,
        seed: int = 0,
        sharpness: float = 2.0,
        mode: str = "words",
    ) -> HeadInputs:
        """Head ``head`` of a random attention layer (W_K = W_Q) over ``text`` as one sequence.

        Tying W_K to W_Q makes a token attend to tokens like itself, so repeated words
        form clusters worth seeing.

        Raises
        ------
        EmptyTextError, SequenceTooLongError
            From :mod:`engine.attention.tokens`.
        """
        layer = random_attention(d_model, n_heads, seed, sharpness=sharpness, shared_qk=True)
        one_line = " ".join(text.splitlines())
        run = AttentionRun.from_text(layer, one_line, mode=mode, seed=seed)
        arrays = run.layers[0]
        return cls(
            tokens=run.tokens[0], q=arrays.q[0, head], k=arrays.k[0, head], v=arrays.v[0, head],
            causal=False, name=f"random layer · head {head + 1}",
        )  # fmt: skip


def _as_heads(*arrays: Array) -> list[torch.Tensor]:
    """(L, d) arrays → (1, 1, L, d) float64 tensors, the engine's per-head layout."""
    return [torch.as_tensor(np.asarray(a, dtype=np.float64))[None, None] for a in arrays]


def full_attention(head: HeadInputs) -> Array:
    """softmax(QKᵀ/√d + M) of the head, (L, S), float64."""
    scores = head.q.astype(np.float64) @ head.k.astype(np.float64).T / math.sqrt(head.q.shape[1])
    if head.causal:
        scores = np.where(np.triu(np.ones(scores.shape, dtype=bool), 1), -np.inf, scores)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True, eq=False)
class ClusteredRun:
    """Full, clustered and i-clustered attention of one head (all (L, S) or (L, d_v)).

    Build one with :meth:`compute`. ``error_*`` are relative errors of the head's output,
    ‖Ô − O‖_F / ‖O‖_F.
    """

    head: HeadInputs
    n_clusters: int
    topk: int
    hash_bits: int | None
    n_iter: int
    seed: int
    full: Array
    clustered: Array
    improved: Array
    labels: npt.NDArray[np.int64]  # (L,)
    centroids: Array  # (C, d)
    counts: npt.NDArray[np.int64]  # (C,)
    topk_keys: npt.NDArray[np.int64]  # (C, topk)
    error_clustered: float
    error_improved: float

    @classmethod
    def compute(
        cls,
        head: HeadInputs,
        n_clusters: int,
        topk: int,
        *,
        hash_bits: int | None = None,
        n_iter: int = 10,
        seed: int = 0,
    ) -> ClusteredRun:
        """Attend three ways. Raises the engine's typed errors (C > L, k > S, ...)."""
        q, k, v = _as_heads(head.q, head.k, head.v)
        common = dict(n_iter=n_iter, hash_bits=hash_bits, random_state=seed,
                      is_causal=head.causal)  # fmt: skip
        out_c, info_c = clustered_attention(q, k, v, n_clusters, **common)
        out_i, info_i = improved_clustered_attention(q, k, v, n_clusters, topk=topk, **common)
        full = full_attention(head)
        exact = full @ head.v.astype(np.float64)
        return cls(
            head=head, n_clusters=n_clusters, topk=topk, hash_bits=hash_bits, n_iter=n_iter,
            seed=seed, full=full, clustered=info_c.weights[0, 0].numpy(),
            improved=info_i.weights[0, 0].numpy(), labels=info_c.labels[0, 0].numpy(),
            centroids=info_c.centroids[0, 0].numpy(), counts=info_c.counts[0, 0].numpy(),
            topk_keys=info_i.topk_keys[0, 0].numpy(),
            error_clustered=relative_error(out_c[0, 0], exact),
            error_improved=relative_error(out_i[0, 0], exact),
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"ClusteredRun({self.head.name!r}, L={self.head.length}, C={self.n_clusters}, "
            f"topk={self.topk}, error={self.error_clustered:.3g}/{self.error_improved:.3g})"
        )

    @property
    def stack(self) -> Array:
        """(3, L, S): full, clustered, i-clustered weights, for one picture."""
        return np.stack([self.full, self.clustered, self.improved])

    def projection(self) -> QueryProjection:
        return project_queries(self.head.q, self.centroids[self.counts > 0])

    def operations(self) -> OperationCount:
        (L, d), (S, d_v) = self.head.q.shape, self.head.v.shape
        return operation_counts(L, S, d, d_v, self.n_clusters, topk=self.topk,
                                n_iter=self.n_iter, hash_bits=self.hash_bits)  # fmt: skip

    def epsilon(self, i: int, j: int) -> EpsilonBound:
        """The ε bound for queries ``i`` and ``j`` (0-based positions)."""
        return epsilon_bound(self.head.q[i], self.head.q[j], self.head.k, i=i, j=j)

    def default_pair(self) -> tuple[int, int]:
        """Two queries of the largest cluster (or the first two queries)."""
        members = np.flatnonzero(self.labels == np.argmax(self.counts))
        if len(members) >= 2:
            return int(members[0]), int(members[1])
        return 0, min(1, self.head.length - 1)


def sweep_values(high: int, n_points: int = 12) -> list[int]:
    """Up to ``n_points`` integers from 1 to ``high``, spaced evenly on a log scale."""
    return sorted({int(round(x)) for x in np.geomspace(1, high, num=min(n_points, high))})


@dataclass(frozen=True, eq=False)
class ErrorCurves:
    """Relative error of the head's output against C and against k.

    Attributes
    ----------
    n_clusters : ndarray of int
        The C values tried (at ``topk`` keys for i-clustered).
    clustered, improved : ndarray of float
        Error at each C.
    topk_values : ndarray of int
        The k values tried, at ``fixed_clusters`` clusters.
    improved_by_topk : ndarray of float
        i-clustered error at each k.
    topk, fixed_clusters : int
    """

    n_clusters: npt.NDArray[np.int64]
    clustered: Array
    improved: Array
    topk_values: npt.NDArray[np.int64]
    improved_by_topk: Array
    topk: int
    fixed_clusters: int


def error_curves(
    head: HeadInputs,
    n_clusters: int,
    topk: int,
    *,
    hash_bits: int | None = None,
    n_iter: int = 10,
    seed: int = 0,
    n_points: int = 12,
) -> ErrorCurves:
    """Error against C (1..L, at ``topk``) and against k (1..S, at ``n_clusters``)."""
    cs = sweep_values(head.length, n_points)
    ks = sweep_values(head.k.shape[0], n_points)
    by_c = [ClusteredRun.compute(head, c, min(topk, head.length), hash_bits=hash_bits,
                                 n_iter=n_iter, seed=seed) for c in cs]  # fmt: skip
    by_k = [ClusteredRun.compute(head, n_clusters, k, hash_bits=hash_bits, n_iter=n_iter,
                                 seed=seed).error_improved for k in ks]  # fmt: skip
    return ErrorCurves(
        n_clusters=np.array(cs), clustered=np.array([r.error_clustered for r in by_c]),
        improved=np.array([r.error_improved for r in by_c]), topk_values=np.array(ks),
        improved_by_topk=np.array(by_k), topk=topk, fixed_clusters=n_clusters,
    )  # fmt: skip
