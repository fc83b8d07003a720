"""Masks in PyTorch's conventions, combined into the one additive mask the formula adds.

    softmax(Q Kᵀ / √d_k + M) · V

``M`` is 0 where a query may look at a key and ``-inf`` where it may not. Users give it
the way ``torch.nn.MultiheadAttention`` takes it, so a reader can move between the two:

- ``attn_mask``: shape (L_q, L_k) or (B * n_heads, L_q, L_k). Boolean ``True`` means
  *may not attend*; a float mask is *added* to the scores (``-inf`` blocks).
- ``key_padding_mask``: shape (B, L_k). Boolean ``True`` marks a padding key that no
  query may attend to; a float mask is added to the scores.
- ``is_causal=True``: query ``i`` may not attend to key ``j > i``. Unlike PyTorch,
  where it is only a hint that ``attn_mask`` *is* the causal mask, here it builds the
  causal mask itself (and combines it with any ``attn_mask``).

Example
-------
>>> causal_mask(3).int().tolist()
[[0, 1, 1], [0, 0, 1], [0, 0, 0]]
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["additive_mask", "causal_mask", "check_mask"]


def causal_mask(length_q: int, length_k: int | None = None, device=None) -> Tensor:
    """Boolean causal mask, True above the diagonal (key ``j > i``: may not attend).

    Parameters
    ----------
    length_q : int
        Number of queries.
    length_k : int, optional
        Number of keys; defaults to ``length_q``.

    Returns
    -------
    Tensor of bool, shape (length_q, length_k)
        In PyTorch's convention (True blocks), usable as ``attn_mask``.
    """
    length_k = length_q if length_k is None else length_k
    return torch.ones(length_q, length_k, dtype=torch.bool, device=device).triu(1)


def additive_mask(
    scores: Tensor,
    attn_mask: Tensor | None = None,
    key_padding_mask: Tensor | None = None,
    is_causal: bool = False,
) -> Tensor | None:
    """Every mask combined into one float tensor broadcastable to ``scores`` (B, H, L_q, L_k).

    0 where attention is allowed, ``-inf`` where a boolean mask blocks it, plus the
    values of float masks. None when nothing is masked. Prior validation of the shapes
    (:func:`check_mask`) is assumed.
    """
    B, H, L_q, L_k = scores.shape
    mask = None

    def add(mask: Tensor | None, extra: Tensor) -> Tensor:
        if extra.dtype == torch.bool:
            blocked = torch.zeros(extra.shape, dtype=scores.dtype, device=scores.device)
            extra = blocked.masked_fill(extra, float("-inf"))
        extra = extra.to(scores.dtype)
        return extra if mask is None else mask + extra

    if attn_mask is not None:
        if attn_mask.dim() == 3:
            attn_mask = attn_mask.view(B, H, L_q, L_k)  # (B, H, L_q, L_k)
        mask = add(mask, attn_mask)  # (L_q, L_k) broadcasts like (1, 1, L_q, L_k)
    if key_padding_mask is not None:
        mask = add(mask, key_padding_mask.view(B, 1, 1, L_k))  # (B, 1, 1, L_k)
    if is_causal:
        mask = add(mask, causal_mask(L_q, L_k, device=scores.device))  # (L_q, L_k)
    return mask


def check_mask(name: str, mask: object, shapes: dict[str, tuple[int, ...]]) -> None:
    """Raise ValueError unless ``mask`` is a bool or float tensor of one of ``shapes``.

    ``shapes`` maps how a shape is written (``"(batch, L_k)"``) to its sizes, so the
    message names both: ``key_padding_mask must have shape (batch, L_k)=(2, 5); got (1, 5).``
    """
    if not isinstance(mask, Tensor) or tuple(mask.shape) not in shapes.values():
        got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask)
        wanted = " or ".join(f"{written}={sizes}" for written, sizes in shapes.items())
        raise ValueError(f"{name} must have shape {wanted}; got {got}.")
    if mask.dtype != torch.bool and not mask.is_floating_point():
        raise ValueError(f"{name} must be bool or floating point, got {mask.dtype}.")
