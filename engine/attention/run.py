"""One attention run, as the Lab shows it: every layer's trace as NumPy, and its views.

A run is multi-head attention applied to a batch of token sequences - a trained toy
model on letter strings (:meth:`AttentionRun.from_toy`) or one random layer on the
user's own text (:meth:`AttentionRun.from_text`). :class:`AttentionRun` keeps each
layer's every intermediate as read-only NumPy arrays (so one cached run can be shared)
and hands out exactly what a view needs: one sequence's weights without padding (or
with it), an aggregate or the rollout, the matrices of one head step by step, the head
statistics, and the weights as a table or a JSON-ready dict for the downloads.

Example
-------
>>> from engine.attention.multi_head import random_attention
>>> run = AttentionRun.from_text(random_attention(8, 2, 0), "the cat sat\\nhello")
>>> run.n_sequences, run.n_layers, run.n_heads, run.length
(2, 1, 2, 3)
>>> run.weights(1, 0).shape, run.weights(1, 0, padded=True).shape
((2, 1, 1), (2, 3, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch import Tensor

from engine.attention import analysis, tokens
from engine.attention.model import ToyTransformer
from engine.attention.multi_head import AttentionTrace, MultiHeadAttention
from engine.attention.tasks import ToyTask
from engine.attention.tokens import PAD, VOCAB

__all__ = ["AttentionRun", "HeadStats", "HeadSteps", "LayerArrays", "ToyRun", "run_task"]

Array = npt.NDArray[np.floating]


# ----------------------------------------------------------------------------- toy models


@dataclass(frozen=True)
class ToyRun:
    """A model run on a batch of user inputs.

    Attributes
    ----------
    tokens : list of list of str
        Each sequence's input tokens as the model saw them (unpadded).
    expected, predicted : list of list of (str or None)
        Per position: the task's target and the model's arg-max (None where nothing
        is predicted).
    key_padding_mask : Tensor of bool, shape (B, L)
    traces : list of AttentionTrace
        One per layer, for the whole padded batch.
    """

    tokens: list[list[str]]
    expected: list[list[str | None]]
    predicted: list[list[str | None]]
    key_padding_mask: Tensor
    traces: list[AttentionTrace]

    @property
    def accuracy(self) -> float:
        """Fraction of predicted positions that are right, over the whole batch."""
        pairs = [
            (e, p)
            for exp, pred in zip(self.expected, self.predicted, strict=True)
            for e, p in zip(exp, pred, strict=True)
            if e is not None
        ]
        return sum(e == p for e, p in pairs) / max(len(pairs), 1)


@torch.inference_mode()
def run_task(
    model: ToyTransformer, task: ToyTask, batch_letters: Sequence[Sequence[str]]
) -> ToyRun:
    """Run ``model`` on the user's letter strings (one per sequence) and keep every trace.

    Sequences are padded on the right and masked, so each one's result does not
    depend on the others. What the model reads is the task's
    :meth:`~engine.attention.tasks.ToyTask.model_input` (for sort, the model writes its
    own answer, so what you see is what the model writes, not the answer key).

    Raises
    ------
    ValueError
        If a string has letters the model does not know or a length it was not trained on.
    """
    for letters in batch_letters:
        task.check_letters(letters)
    expected = [task.build(letters)[1] for letters in batch_letters]
    inputs = [task.model_input(model, list(letters)) for letters in batch_letters]
    key_padding_mask = tokens.pad(inputs).key_padding_mask  # (B, L)
    ids = torch.zeros(key_padding_mask.shape, dtype=torch.long)  # (B, L), 0 = <pad>
    for b, t in enumerate(inputs):
        ids[b, : len(t)] = torch.tensor(VOCAB.encode(t))
    logits, traces = model(ids, key_padding_mask, return_traces=True)
    best = logits.argmax(dim=-1)  # (B, L)
    predicted = [
        [VOCAB.tokens[int(best[b, i])] if e is not None else None for i, e in enumerate(exp)]
        for b, exp in enumerate(expected)
    ]
    return ToyRun(inputs, expected, predicted, key_padding_mask, traces)


# ----------------------------------------------------------------------------- the run


def _frozen(t: Tensor | None) -> np.ndarray | None:
    """A read-only NumPy view: a cached run is shared, so nobody may write into it."""
    if t is None:
        return None
    a = t.detach().numpy()
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class LayerArrays:
    """One layer's :class:`~engine.attention.multi_head.AttentionTrace` as NumPy.

    Shapes: B sequences, H heads, L padded length, d_head = d_model / H.

    Attributes
    ----------
    q, k, v, head_outputs : ndarray of shape (B, H, L, d_head)
    scores, masked_scores, weights : ndarray of shape (B, H, L, L)
    mask : ndarray of shape (B, H, L, L) or None
        0 where a query may look, ``-inf`` where it may not; None when nothing is masked.
    concat, output : ndarray of shape (B, L, d_model)
    out_weight : ndarray of shape (d_model, d_model)
        The output projection W_O (rows: output feature).
    """

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    scores: np.ndarray
    mask: np.ndarray | None
    masked_scores: np.ndarray
    weights: np.ndarray
    head_outputs: np.ndarray
    concat: np.ndarray
    output: np.ndarray
    out_weight: np.ndarray

    @classmethod
    def from_trace(cls, trace: AttentionTrace, layer: MultiHeadAttention) -> LayerArrays:
        names = ("q", "k", "v", "scores", "mask", "masked_scores", "weights", "head_outputs",
                 "concat", "output")  # fmt: skip
        arrays = {name: _frozen(getattr(trace, name)) for name in names}
        return cls(**arrays, out_weight=_frozen(layer.out_proj.weight))


@dataclass(frozen=True, eq=False)
class HeadSteps:
    """One head of one layer on one sequence, step by step through the formula.

    ``n`` tokens, no padding. Every matrix is what the head computed, not a re-derivation,
    except ``qk``, the unscaled product Q Kᵀ shown before the division by √d_k.
    """

    tokens: list[str]
    q: Array  # (n, d_head)
    k: Array  # (n, d_head)
    v: Array  # (n, d_head)
    qk: Array  # (n, n) Q Kᵀ
    scores: Array  # (n, n) Q Kᵀ / √d_k
    mask: Array  # (n, n) M: 0 (may look) or -inf; all 0 when nothing is masked
    masked_scores: Array  # (n, n) Q Kᵀ / √d_k + M
    weights: Array  # (n, n) softmax of each row
    head_output: Array  # (n, d_head) weights · V
    concat: Array  # (n, d_model) every head's output side by side
    output: Array  # (n, d_model) concat · W_Oᵀ + b_O
    out_weight: Array  # (d_model, d_model) W_O

    @property
    def d_head(self) -> int:
        return self.q.shape[1]

    @property
    def d_model(self) -> int:
        return self.concat.shape[1]


@dataclass(frozen=True, eq=False)
class HeadStats:
    """Every head of every layer on one sequence, compared (see :mod:`.analysis`).

    Heads are numbered layer by layer: index ``layer * n_heads + head``.
    """

    entropy: Array  # (N,) normalised: 0 = one key, 1 = spread evenly
    sparsity: Array  # (N,) share of keys outside the top-90% mass
    distances: Array  # (N, N) Jensen-Shannon distances between heads

    def groups(self, threshold: float) -> npt.NDArray[np.intp]:
        """Groups of heads closer than ``threshold`` (numbered in order of first head)."""
        return analysis.group_heads(self.distances, threshold)


@dataclass(frozen=True, eq=False)
class AttentionRun:
    """Multi-head attention on a batch of sequences: every layer, every intermediate.

    Build one with :meth:`from_toy` or :meth:`from_text`. ``seq`` and ``layer`` below are
    0-based indices; a view "without padding" keeps sequence ``seq``'s own n tokens.

    Attributes
    ----------
    tokens : tuple of tuple of str
        Each sequence's tokens, unpadded.
    padding : ndarray of bool, shape (B, L)
        True at padding positions.
    layers : tuple of LayerArrays
        One per layer, first layer first.
    causal : bool
        Whether a query may only look at itself and earlier tokens.
    truncated : tuple of int
        Tokens cut off each line (free text longer than the limit).
    expected, predicted : tuple of tuple of (str or None), or None
        Toy models only: the task's target and the model's answer at each position.
    accuracy : float or None
        Toy models only: the share of predicted positions that are right, over the batch.
    """

    tokens: tuple[tuple[str, ...], ...]
    padding: np.ndarray
    layers: tuple[LayerArrays, ...]
    causal: bool
    truncated: tuple[int, ...] = ()
    expected: tuple[tuple[str | None, ...], ...] | None = None
    predicted: tuple[tuple[str | None, ...], ...] | None = None
    accuracy: float | None = None

    # ------------------------------------------------------------------ building

    @classmethod
    def from_toy(
        cls, model: ToyTransformer, task: ToyTask, lines: Sequence[str]
    ) -> AttentionRun:
        """A toy model on letter strings (checked with ``task.read_lines`` first)."""
        result = run_task(model, task, [list(line) for line in lines])
        return cls(
            tokens=tuple(tuple(t) for t in result.tokens),
            padding=_frozen(result.key_padding_mask),
            layers=tuple(LayerArrays.from_trace(t, block.attn)
                         for t, block in zip(result.traces, model.blocks, strict=True)),
            causal=model.config.causal,
            expected=tuple(tuple(e) for e in result.expected),
            predicted=tuple(tuple(p) for p in result.predicted),
            accuracy=result.accuracy,
        )  # fmt: skip

    @classmethod
    @torch.inference_mode()
    def from_text(
        cls,
        layer: MultiHeadAttention,
        text: str,
        *,
        mode: str = "words",
        truncate: bool = False,
        seed: int = 0,
        positional: bool = True,
        causal: bool = False,
    ) -> AttentionRun:
        """One attention layer on the user's text, one sequence per line.

        Tokens get seeded random embeddings (and sinusoidal positions if ``positional``);
        see :mod:`engine.attention.tokens`.

        Raises
        ------
        EmptyTextError, SequenceTooLongError
            From :func:`~engine.attention.tokens.tokenize_lines`.
        """
        batch = tokens.tokenize_lines(text, mode, truncate=truncate)
        x = tokens.embed(batch, layer.d_model, seed, positional=positional)  # (B, L, d_model)
        trace = layer(x, x, x, key_padding_mask=batch.key_padding_mask, is_causal=causal,
                      return_intermediates=True)  # fmt: skip
        return cls(
            tokens=tuple(tuple(t) for t in batch.tokens),
            padding=_frozen(batch.key_padding_mask),
            layers=(LayerArrays.from_trace(trace, layer),),
            causal=causal,
            truncated=tuple(batch.truncated),
        )

    # ------------------------------------------------------------------ sizes

    @property
    def n_sequences(self) -> int:
        return len(self.tokens)

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_heads(self) -> int:
        return self.layers[0].weights.shape[1]

    @property
    def length(self) -> int:
        """L, the padded length (the longest sequence)."""
        return self.padding.shape[1]

    def has_padding(self, seq: int) -> bool:
        return bool(self.padding[seq].any())

    def __repr__(self) -> str:
        return (
            f"AttentionRun(sequences={self.n_sequences}, layers={self.n_layers}, "
            f"heads={self.n_heads}, length={self.length}, causal={self.causal})"
        )

    # ------------------------------------------------------------------ one sequence

    def _size(self, seq: int, padded: bool) -> int:
        return self.length if padded else len(self.tokens[seq])

    def labels(self, seq: int, *, padded: bool = False) -> list[str]:
        """Sequence ``seq``'s tokens, followed by ``<pad>`` at padding if ``padded``."""
        own = list(self.tokens[seq])
        return own + [PAD] * (self._size(seq, padded) - len(own))

    def padding_of(self, seq: int, *, padded: bool = False) -> np.ndarray:
        """(n,) or (L,) bool: True at padding positions."""
        return self.padding[seq, : self._size(seq, padded)]

    def weights(self, seq: int, layer: int, *, padded: bool = False) -> Array:
        """(H, n, n) attention weights of every head (``padded``: (H, L, L))."""
        n = self._size(seq, padded)
        return self.layers[layer].weights[seq, :, :n, :n]

    def focus(self, seq: int, layer: int, how: int | str, *, padded: bool = False) -> Array:
        """One (n, n) map: head ``how`` (an int), or ``"mean"``/``"max"`` over the layer's
        heads, or ``"rollout"`` through every layer (zero at padding when ``padded``)."""
        if isinstance(how, int | np.integer):
            return self.weights(seq, layer, padded=padded)[how]
        if how != "rollout":
            return analysis.aggregate_heads(self.weights(seq, layer, padded=padded), how)
        n, size = len(self.tokens[seq]), self._size(seq, padded)
        out = np.zeros((size, size))
        out[:n, :n] = analysis.rollout([self.weights(seq, i) for i in range(self.n_layers)])
        return out

    def steps(self, seq: int, layer: int, head: int) -> HeadSteps:
        """Head ``head`` of ``layer`` on sequence ``seq``, each step of the formula."""
        a, n = self.layers[layer], len(self.tokens[seq])
        q, k = a.q[seq, head, :n], a.k[seq, head, :n]  # (n, d_head)
        mask = np.zeros((n, n)) if a.mask is None else a.mask[seq, head, :n, :n]
        return HeadSteps(
            tokens=list(self.tokens[seq]), q=q, k=k, v=a.v[seq, head, :n], qk=q @ k.T,
            scores=a.scores[seq, head, :n, :n], mask=mask,
            masked_scores=a.masked_scores[seq, head, :n, :n], weights=a.weights[seq, head, :n, :n],
            head_output=a.head_outputs[seq, head, :n], concat=a.concat[seq, :n],
            output=a.output[seq, :n], out_weight=a.out_weight,
        )  # fmt: skip

    def allowed(self, seq: int) -> npt.NDArray[np.bool_]:
        """(n_layers * H, n, n) True where a query may look at a key, every head stacked."""
        n = len(self.tokens[seq])
        return np.concatenate([
            np.ones((self.n_heads, n, n), dtype=bool) if a.mask is None
            else ~np.isneginf(a.mask[seq, :, :n, :n])
            for a in self.layers
        ])  # fmt: skip

    def head_stats(self, seq: int) -> HeadStats:
        """Entropy, sparsity and distances of every head of every layer on ``seq``."""
        heads = np.concatenate([self.weights(seq, i) for i in range(self.n_layers)])
        allowed = self.allowed(seq)
        return HeadStats(
            entropy=analysis.normalized_entropy(heads, allowed),
            sparsity=analysis.sparsity(heads, 0.9, allowed),
            distances=analysis.head_distances(heads),
        )

    # ------------------------------------------------------------------ exports

    def weights_table(self, layer: int) -> pd.DataFrame:
        """Every weight of ``layer`` as one row per (sequence, head, query, key), no padding.

        Columns: sequence, layer, head (1-based), query_pos, query_token, key_pos,
        key_token (0-based positions), weight. Tokens are the user's text: write the
        table with :func:`engine.data.to_csv_bytes`, which defuses spreadsheet formulas.
        """
        frames = []
        H = self.n_heads
        for b, own in enumerate(self.tokens):
            n = len(own)
            h, i, j = np.indices((H, n, n)).reshape(3, -1)  # each (H * n * n,)
            names = np.array(own, dtype=object)
            frames.append(pd.DataFrame({
                "sequence": b + 1, "layer": layer + 1, "head": h + 1,
                "query_pos": i, "query_token": names[i], "key_pos": j, "key_token": names[j],
                "weight": self.weights(b, layer).reshape(-1).astype(np.float64),
            }))  # fmt: skip
        return pd.concat(frames, ignore_index=True)

    def weights_json(self, layer: int) -> dict:
        """``layer``'s weights per sequence, ready for ``json.dumps`` (rounded to 1e-6)."""
        return {
            "layer": layer + 1,
            "causal": self.causal,
            "sequences": [
                {"tokens": list(own), "weights": self.weights(b, layer).round(6).tolist()}
                for b, own in enumerate(self.tokens)
            ],
        }
