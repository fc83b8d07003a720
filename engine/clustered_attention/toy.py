"""The shipped toy transformers with one head's attention replaced: does the task survive?

:func:`with_clustered_head` copies a trained :class:`~engine.attention.model.ToyTransformer`
and swaps one layer's attention for a :class:`ClusteredHeadAttention`: the same weights, the
same other heads, but the chosen head attends through clustered or i-clustered attention.
:func:`toy_accuracy` measures the task accuracy of that model on held-out strings, and
:func:`accuracy_curve` does so for a range of C - how many clusters a trained head needs
before the model stops working.

A toy sequence can be shorter than C; such a sequence uses one cluster per query (C = L),
which is exact, so a curve ends at full accuracy.

Example
-------
>>> from engine.attention.tasks import TASKS
>>> from engine.attention.weights import load_pretrained
>>> model = load_pretrained("previous_token")  # doctest: +SKIP
>>> toy_accuracy(model, TASKS["previous_token"], layer=0, head=0, n_clusters=2)  # doctest: +SKIP
0.31
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from engine.attention import MultiHeadAttention
from engine.attention.model import ToyTransformer
from engine.attention.tasks import ToyTask
from engine.attention.training import evaluate
from engine.clustered_attention.attention import clustered_attention, improved_clustered_attention
from engine.clustered_attention.errors import MaskError

__all__ = [
    "METHODS",
    "AccuracyCurve",
    "ClusteredHeadAttention",
    "accuracy_curve",
    "toy_accuracy",
    "with_clustered_head",
]

#: The two ways a head can attend through clusters.
METHODS = ("clustered", "i-clustered")


class ClusteredHeadAttention(MultiHeadAttention):
    """A trained attention layer in which head ``head`` attends through clusters of queries.

    Parameters
    ----------
    layer : MultiHeadAttention
        The trained layer; its weights are copied.
    head : int
        The head to replace (0-based).
    method : {"clustered", "i-clustered"}
    n_clusters : int
        C; a sequence with fewer queries uses one cluster per query.
    topk : int, default=4
        Keys per cluster recomputed exactly (i-clustered; capped at the sequence length).
    hash_bits : int or None, default=None
        None: exact K-means; an integer: hashes and K-means in Hamming space.
    n_iter : int, default=10
    seed : int, default=0
        Seeds the clustering; the same for every forward pass.
    """

    def __init__(
        self,
        layer: MultiHeadAttention,
        head: int,
        method: str,
        n_clusters: int,
        *,
        topk: int = 4,
        hash_bits: int | None = None,
        n_iter: int = 10,
        seed: int = 0,
    ):
        super().__init__(layer.d_model, layer.n_heads, bias=layer.bias, dropout=layer.dropout)
        if method not in METHODS:
            raise ValueError(f"method={method!r} should be one of {METHODS}.")
        if not 0 <= head < layer.n_heads:
            raise ValueError(f"head={head} should be between 0 and {layer.n_heads - 1}.")
        self.load_state_dict(layer.state_dict())
        self.head, self.method, self.n_clusters, self.topk = head, method, n_clusters, topk
        self.hash_bits, self.n_iter, self.seed = hash_bits, n_iter, seed
        self.train(layer.training)

    def __repr__(self) -> str:
        return (
            f"ClusteredHeadAttention(head={self.head}, method={self.method!r}, "
            f"n_clusters={self.n_clusters}, topk={self.topk}, hash_bits={self.hash_bits})"
        )

    def forward(self, query, key, value, *, attn_mask=None, key_padding_mask=None,
                is_causal=False, return_intermediates=False):  # fmt: skip
        """As :meth:`MultiHeadAttention.forward`, with head ``self.head`` clustered."""
        if attn_mask is not None:
            raise MaskError("a clustered head supports key padding and causal masks only.")
        trace = super().forward(query, key, value, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, return_intermediates=True)  # fmt: skip
        h = self.head
        q, k, v = (t[:, h : h + 1] for t in (trace.q, trace.k, trace.v))  # (B, 1, L, d_head)
        L, S = q.shape[2], k.shape[2]
        common = dict(n_iter=self.n_iter, hash_bits=self.hash_bits, random_state=self.seed,
                      key_padding_mask=_bool_padding(key_padding_mask), is_causal=is_causal)
        if self.method == "clustered":
            out, info = clustered_attention(q, k, v, min(self.n_clusters, L), **common)
        else:
            out, info = improved_clustered_attention(
                q, k, v, min(self.n_clusters, L), topk=min(self.topk, S), **common
            )
        head_outputs = trace.head_outputs.clone()  # (B, H, L, d_head)
        head_outputs[:, h] = out[:, 0]
        weights = trace.weights.clone()  # (B, H, L, S)
        weights[:, h] = info.weights[:, 0]
        B = query.shape[0]
        concat = head_outputs.transpose(1, 2).reshape(B, L, self.d_model)  # (B, L, d_model)
        output = self.out_proj(concat)  # (B, L, d_model)
        if not return_intermediates:
            return output, weights
        return dataclasses.replace(trace, weights=weights, head_outputs=head_outputs,
                                   concat=concat, output=output)  # fmt: skip


def _bool_padding(mask: Tensor | None) -> Tensor | None:
    """A float padding mask (-inf at padding) as the bool mask clustered attention takes."""
    if mask is None or mask.dtype == torch.bool:
        return mask
    return mask.isneginf()


def with_clustered_head(
    model: ToyTransformer, layer: int, head: int, method: str, n_clusters: int, **kwargs
) -> ToyTransformer:
    """A copy of ``model`` whose layer ``layer`` has head ``head`` clustered (see
    :class:`ClusteredHeadAttention` for ``kwargs``); ``model`` itself is left as it was."""
    if not 0 <= layer < len(model.blocks):
        raise ValueError(f"layer={layer} should be between 0 and {len(model.blocks) - 1}.")
    clone = copy.deepcopy(model)
    block = clone.blocks[layer]
    block.attn = ClusteredHeadAttention(block.attn, head, method, n_clusters, **kwargs)
    return clone.eval()


def toy_accuracy(
    model: ToyTransformer,
    task: ToyTask,
    layer: int,
    head: int,
    n_clusters: int,
    *,
    method: str = "clustered",
    n_per_length: int = 16,
    **kwargs,
) -> float:
    """Task accuracy on held-out strings with one head clustered (``kwargs``: topk, ...)."""
    clustered = with_clustered_head(model, layer, head, method, n_clusters, **kwargs)
    return evaluate(clustered, task, n_per_length=n_per_length)


@dataclass(frozen=True, eq=False)
class AccuracyCurve:
    """Task accuracy against C, for both methods, beside the unchanged model's.

    Attributes
    ----------
    n_clusters : ndarray of int
    clustered, improved : ndarray of float
        Accuracy at each C (i-clustered with ``topk`` keys).
    full : float
        The unchanged model's accuracy on the same strings.
    topk : int
    """

    n_clusters: npt.NDArray[np.int64]
    clustered: npt.NDArray[np.float64]
    improved: npt.NDArray[np.float64]
    full: float
    topk: int


def accuracy_curve(
    model: ToyTransformer,
    task: ToyTask,
    layer: int,
    head: int,
    n_clusters: Sequence[int],
    *,
    topk: int = 4,
    hash_bits: int | None = None,
    n_per_length: int = 16,
    seed: int = 0,
    callback: Callable[[int, int], None] | None = None,
) -> AccuracyCurve:
    """Accuracy with head ``head`` of layer ``layer`` clustered, for every C in ``n_clusters``.

    ``callback(done, total)`` is called after each evaluation (for a progress bar).
    """
    total = 2 * len(n_clusters)
    results: dict[str, list[float]] = {m: [] for m in METHODS}
    done = 0
    for c in n_clusters:
        for method in METHODS:
            results[method].append(toy_accuracy(
                model, task, layer, head, c, method=method, n_per_length=n_per_length,
                topk=topk, hash_bits=hash_bits, seed=seed,
            ))  # fmt: skip
            done += 1
            if callback is not None:
                callback(done, total)
    return AccuracyCurve(
        n_clusters=np.array(list(n_clusters)), clustered=np.array(results["clustered"]),
        improved=np.array(results["i-clustered"]),
        full=evaluate(model, task, n_per_length=n_per_length), topk=topk,
    )  # fmt: skip
