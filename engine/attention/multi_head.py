"""Multi-head scaled dot-product attention, written the way the formula reads.

    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k + M) · V

computed once per head, then the heads are concatenated and mixed by an output
projection. The mechanism is written by hand, not taken from
``torch.nn.MultiheadAttention``, because its insides are what the Lab shows: every
intermediate (Q, K, V per head, the scaled and masked scores, the weights, each
head's output, the concatenation and the projected output) can be returned in an
:class:`AttentionTrace`. ``torch.nn.MultiheadAttention`` is the test oracle:
:meth:`MultiHeadAttention.from_torch` copies its weights and the results agree.

Masks follow PyTorch's conventions (see :mod:`engine.attention.masks`).

A fully masked row - a query that may attend to no key at all - has no softmax
(every score is ``-inf``; PyTorch returns NaN). Here its weights are all **zero**, so
that head's output for the query is the zero vector, and the row is flagged in
:attr:`AttentionTrace.fully_masked`. NaN never leaves this module because of a mask.

Example
-------
>>> import torch
>>> from engine.attention import MultiHeadAttention
>>> mha = MultiHeadAttention(d_model=512, n_heads=8)
>>> x = torch.randn(1, 10, 512)
>>> out, weights = mha(x, x, x)
>>> tuple(out.shape), tuple(weights.shape)
((1, 10, 512), (1, 8, 10, 10))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from engine.attention.masks import additive_mask, check_mask

__all__ = ["AttentionTrace", "HeadWidthError", "MultiHeadAttention", "random_attention"]


@dataclass(frozen=True)
class AttentionTrace:
    """Every intermediate of one multi-head attention forward pass.

    Shapes use B = batch, H = n_heads, L_q / L_k = query / key length,
    d_head = d_model // n_heads.

    Attributes
    ----------
    q, k, v : Tensor of shape (B, H, L_q or L_k, d_head)
        The projected query, key and value, split into heads.
    scores : Tensor of shape (B, H, L_q, L_k)
        Scaled scores ``q @ kᵀ / √d_head``, before any mask.
    mask : Tensor of shape (B, H, L_q, L_k) or None
        The additive mask that was applied: 0 where attention is allowed, ``-inf``
        where it is blocked, or the user's float values. None when nothing was masked.
    masked_scores : Tensor of shape (B, H, L_q, L_k)
        ``scores + mask`` (the same tensor as ``scores`` when there is no mask).
    weights : Tensor of shape (B, H, L_q, L_k)
        ``softmax(masked_scores)`` along the keys; each row sums to 1, except fully
        masked rows, which are all 0.
    fully_masked : Tensor of bool, shape (B, H, L_q)
        True for the query rows whose every key was masked.
    head_outputs : Tensor of shape (B, H, L_q, d_head)
        ``weights @ v``: each head's weighted sum of values.
    concat : Tensor of shape (B, L_q, d_model)
        The head outputs side by side: head h fills columns ``h*d_head:(h+1)*d_head``.
    output : Tensor of shape (B, L_q, d_model)
        ``out_proj(concat)``, the layer's result.
    """

    q: Tensor
    k: Tensor
    v: Tensor
    scores: Tensor
    mask: Tensor | None
    masked_scores: Tensor
    weights: Tensor
    fully_masked: Tensor
    head_outputs: Tensor
    concat: Tensor
    output: Tensor

    def __repr__(self) -> str:
        B, H, L_q, L_k = self.weights.shape
        d_head = self.q.shape[-1]
        return f"AttentionTrace(batch={B}, n_heads={H}, L_q={L_q}, L_k={L_k}, d_head={d_head})"


class HeadWidthError(ValueError):
    """``d_model`` cannot be split into ``n_heads`` equal heads.

    ``divisors`` lists the head counts (up to 16) that do divide it.
    """

    def __init__(self, d_model: int, n_heads: int):
        self.d_model, self.n_heads = d_model, n_heads
        self.divisors = [h for h in range(1, min(d_model, 16) + 1) if d_model % h == 0]
        super().__init__(
            f"d_model={d_model} is not divisible by n_heads={n_heads}: every head needs "
            f"the same width d_model / n_heads. Try n_heads in {self.divisors}."
        )


class MultiHeadAttention(nn.Module):
    """Multi-head attention with per-head weights, batch first.

    Parameters
    ----------
    d_model : int
        Width of the token vectors (PyTorch's ``embed_dim``).
    n_heads : int
        Number of heads; must divide ``d_model``. Each head works in
        ``d_head = d_model // n_heads`` dimensions.
    bias : bool, default=True
        Whether the four projections (q, k, v, out) have a bias.
    dropout : float, default=0.0
        Dropout on the attention weights, in training mode only.

    Attributes
    ----------
    q_proj, k_proj, v_proj : nn.Linear
        Input projections, d_model → d_model (all heads at once).
    out_proj : nn.Linear
        Output projection, d_model → d_model.

    Examples
    --------
    >>> mha = MultiHeadAttention(d_model=16, n_heads=4)
    >>> x = torch.randn(2, 5, 16)
    >>> out, weights = mha(x, x, x, is_causal=True)
    >>> weights.shape
    torch.Size([2, 4, 5, 5])
    >>> trace = mha(x, x, x, return_intermediates=True)
    >>> trace.q.shape  # (B, H, L, d_head)
    torch.Size([2, 4, 5, 4])
    """

    def __init__(self, d_model: int, n_heads: int, *, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        for name, value in (("d_model", d_model), ("n_heads", n_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if d_model % n_heads != 0:
            raise HeadWidthError(d_model, n_heads)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.bias = bias
        self.dropout = dropout
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.attn_dropout = nn.Dropout(dropout)

    def __repr__(self) -> str:
        return (
            f"MultiHeadAttention(d_model={self.d_model}, n_heads={self.n_heads}, "
            f"d_head={self.d_head}, bias={self.bias}, dropout={self.dropout})"
        )

    @classmethod
    def from_torch(cls, m: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention(batch_first=True)``.

        Parameters
        ----------
        m : torch.nn.MultiheadAttention
            Must use ``batch_first=True``, equal q/k/v widths and neither
            ``add_bias_kv`` nor ``add_zero_attn``.

        Returns
        -------
        MultiHeadAttention
            Same dtype, device and training mode as ``m``; its output and per-head
            weights equal ``m(q, k, v, need_weights=True, average_attn_weights=False)``.
        """
        if not isinstance(m, nn.MultiheadAttention):
            raise ValueError(
                f"from_torch expects torch.nn.MultiheadAttention, got {type(m).__name__}."
            )
        if not m.batch_first:
            raise ValueError("from_torch needs batch_first=True; this engine is batch first.")
        if not m._qkv_same_embed_dim:
            raise ValueError(
                f"from_torch needs kdim == vdim == embed_dim, got kdim={m.kdim}, vdim={m.vdim}, "
                f"embed_dim={m.embed_dim}."
            )
        if m.bias_k is not None or m.add_zero_attn:
            raise ValueError("from_torch does not support add_bias_kv or add_zero_attn.")
        has_bias = m.in_proj_bias is not None
        ours = cls(m.embed_dim, m.num_heads, bias=has_bias, dropout=m.dropout)
        ours.to(device=m.in_proj_weight.device, dtype=m.in_proj_weight.dtype)
        d = m.embed_dim
        with torch.no_grad():
            # in_proj_weight stacks W_q, W_k, W_v along the output dimension: (3 * d, d).
            for i, proj in enumerate((ours.q_proj, ours.k_proj, ours.v_proj)):
                proj.weight.copy_(m.in_proj_weight[i * d : (i + 1) * d])
                if has_bias:
                    proj.bias.copy_(m.in_proj_bias[i * d : (i + 1) * d])
            ours.out_proj.weight.copy_(m.out_proj.weight)
            if has_bias:
                ours.out_proj.bias.copy_(m.out_proj.bias)
        return ours.train(m.training)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        *,
        attn_mask: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
        return_intermediates: bool = False,
    ) -> tuple[Tensor, Tensor] | AttentionTrace:
        """Attend from every query to every (unmasked) key, in every head.

        Parameters
        ----------
        query : Tensor of shape (B, L_q, d_model)
        key, value : Tensor of shape (B, L_k, d_model)
            For self-attention pass the same tensor three times.
        attn_mask : Tensor of shape (L_q, L_k) or (B * n_heads, L_q, L_k), optional
            Bool (True = may not attend) or float (added to the scores).
        key_padding_mask : Tensor of shape (B, L_k), optional
            Bool (True = padding, ignored) or float (added to the scores).
        is_causal : bool, default=False
            Block key ``j > i`` for query ``i`` (needs L_q == L_k).
        return_intermediates : bool, default=False
            Return an :class:`AttentionTrace` with every step instead of a tuple.

        Returns
        -------
        (output, weights) : tuple of Tensor
            ``output`` of shape (B, L_q, d_model) and per-head ``weights`` of shape
            (B, n_heads, L_q, L_k). Or the full :class:`AttentionTrace` when
            ``return_intermediates=True``.

        Raises
        ------
        ValueError
            When a rank, width, length or mask shape does not fit.
        """
        self._check_inputs(query, key, value, attn_mask, key_padding_mask, is_causal)
        (B, L_q, _), L_k = query.shape, key.shape[1]
        H, d_head = self.n_heads, self.d_head

        # Project, then split d_model into H heads of d_head.
        q = self.q_proj(query).view(B, L_q, H, d_head).transpose(1, 2)  # (B, H, L_q, d_head)
        k = self.k_proj(key).view(B, L_k, H, d_head).transpose(1, 2)  # (B, H, L_k, d_head)
        v = self.v_proj(value).view(B, L_k, H, d_head).transpose(1, 2)  # (B, H, L_k, d_head)

        # Q Kᵀ / √d_k. Scaling q first is the same maths on L·d_head numbers instead of L·L.
        scores = (q / math.sqrt(d_head)) @ k.transpose(-2, -1)  # (B, H, L_q, L_k)

        # + M. Without a trace or autograd nobody reads the scores again, so they are masked
        # in place: a fresh 8×8×512×512 tensor costs page faults (softmax 54 ms vs 19 ms).
        in_place = not return_intermediates and not scores.requires_grad
        mask = additive_mask(scores, attn_mask, key_padding_mask, is_causal)  # or None
        if mask is None:
            masked_scores = scores
            fully_masked = torch.zeros(B, H, L_q, dtype=torch.bool, device=q.device)  # (B, H, L_q)
        else:
            masked_scores = scores.add_(mask) if in_place else scores + mask  # (B, H, L_q, L_k)
            fully_masked = torch.isneginf(masked_scores).all(dim=-1)  # (B, H, L_q)

        # softmax over the keys: each query's weights sum to 1.
        weights = torch.softmax(masked_scores, dim=-1, out=masked_scores if in_place else None)
        if fully_masked.any():  # a row of -inf has no softmax (0/0 = NaN): define it as 0
            weights = weights.masked_fill(fully_masked.unsqueeze(-1), 0.0)
        weights = self.attn_dropout(weights)  # (B, H, L_q, L_k)

        # · V, then the heads side by side; the output projection mixes them.
        head_outputs = weights @ v  # (B, H, L_q, d_head)
        concat = head_outputs.transpose(1, 2).reshape(B, L_q, self.d_model)  # (B, L_q, d_model)
        output = self.out_proj(concat)  # (B, L_q, d_model)
        if not return_intermediates:
            return output, weights
        mask = None if mask is None else mask.expand(B, H, L_q, L_k)  # (B, H, L_q, L_k)
        return AttentionTrace(
            q=q, k=k, v=v, scores=scores, mask=mask, masked_scores=masked_scores, weights=weights,
            fully_masked=fully_masked, head_outputs=head_outputs, concat=concat, output=output,
        )  # fmt: skip

    # ------------------------------------------------------------------ private helpers

    def _check_inputs(self, query, key, value, attn_mask, key_padding_mask, is_causal) -> None:
        """Raise ValueError naming the first argument whose shape does not fit."""
        d = self.d_model
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}.")
            if t.dim() != 3:
                raise ValueError(
                    f"{name} must have rank 3, shape (batch, length, d_model={d}); got rank "
                    f"{t.dim()} with shape {tuple(t.shape)}."
                    + (" Add a batch dimension with .unsqueeze(0)." if t.dim() == 2 else "")
                )
            if t.shape[-1] != d:
                raise ValueError(
                    f"{name} has last dimension {t.shape[-1]} but this layer has d_model={d}."
                )
            if not t.is_floating_point():
                raise ValueError(f"{name} must be a floating-point tensor, got {t.dtype}.")
        if not (query.shape[0] == key.shape[0] == value.shape[0]):
            raise ValueError(
                f"query, key and value must have the same batch size; got {query.shape[0]}, "
                f"{key.shape[0]} and {value.shape[0]}."
            )
        if key.shape[1] != value.shape[1]:
            raise ValueError(
                f"key and value must have the same length; got {key.shape[1]} and {value.shape[1]}."
            )
        B, L_q, L_k = query.shape[0], query.shape[1], key.shape[1]
        if L_q == 0 or L_k == 0:
            raise ValueError(f"sequences must not be empty; got L_q={L_q}, L_k={L_k}.")
        if is_causal and L_q != L_k:
            raise ValueError(
                f"is_causal=True needs as many queries as keys; got L_q={L_q} and L_k={L_k}."
            )
        if attn_mask is not None:
            per_head = (B * self.n_heads, L_q, L_k)
            shapes = {"(L_q, L_k)": (L_q, L_k), "(batch * n_heads, L_q, L_k)": per_head}
            check_mask("attn_mask", attn_mask, shapes)
        if key_padding_mask is not None:
            check_mask("key_padding_mask", key_padding_mask, {"(batch, L_k)": (B, L_k)})


def random_attention(
    d_model: int, n_heads: int, seed: int = 0, *, sharpness: float = 1.0, shared_qk: bool = False
) -> MultiHeadAttention:
    """An untrained layer with reproducible random weights, in eval mode.

    Parameters
    ----------
    d_model, n_heads : int
        As in :class:`MultiHeadAttention`.
    seed : int, default=0
        Same seed, same weights; the global torch RNG is left untouched.
    sharpness : float, default=1.0
        Multiplies W_Q and W_K, so the scores scale by ``sharpness²``: PyTorch's default
        initialisation gives nearly uniform weights on random embeddings.
    shared_qk : bool, default=False
        Use W_K = W_Q: then a token's key resembles its query, and tokens attend to
        tokens like themselves (repeated words light up).

    Returns
    -------
    MultiHeadAttention
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mha = MultiHeadAttention(d_model, n_heads)
    with torch.no_grad():
        mha.q_proj.weight.mul_(sharpness)
        mha.k_proj.weight.mul_(sharpness)
        if shared_qk:
            mha.k_proj.weight.copy_(mha.q_proj.weight)
            mha.k_proj.bias.copy_(mha.q_proj.bias)
    return mha.eval()
