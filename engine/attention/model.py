"""The toy transformer: token and position embeddings, attention blocks, a linear read-out.

A small GPT-like model (pre-norm blocks, learned positions) whose every attention layer is
:class:`engine.attention.MultiHeadAttention`, so each layer's :class:`AttentionTrace` can
be shown. :class:`ToyConfig` holds the architecture, as nanoGPT's ``GPTConfig`` does; the
tasks in :mod:`engine.attention.tasks` each name theirs.

Example
-------
>>> model = ToyTransformer(ToyConfig(n_layers=2))
>>> logits, traces = model(torch.zeros(1, 5, dtype=torch.long), return_traces=True)
>>> tuple(logits.shape), len(traces)
((1, 5, 29), 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from engine.attention.multi_head import AttentionTrace, MultiHeadAttention
from engine.attention.tokens import VOCAB

__all__ = ["Block", "ToyConfig", "ToyTransformer"]


@dataclass(frozen=True)
class ToyConfig:
    """Architecture of a :class:`ToyTransformer`.

    Attributes
    ----------
    n_layers : int
        Number of blocks (attention, then an MLP if ``d_ff > 0``).
    n_heads : int
        Heads per attention layer.
    d_model : int
        Width of the residual stream.
    d_ff : int
        Hidden width of each MLP; 0 for attention-only blocks.
    max_len : int
        Longest input (number of learned position embeddings).
    causal : bool
        Whether position i may only attend to positions <= i.
    vocab_size : int
        Number of token ids.
    """

    n_layers: int = 1
    n_heads: int = 2
    d_model: int = 64
    d_ff: int = 128
    max_len: int = 32
    causal: bool = True
    vocab_size: int = len(VOCAB)



class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = MultiHeadAttention(config.d_model, config.n_heads)
        if config.d_ff:
            self.ln_2 = nn.LayerNorm(config.d_model)
            self.mlp = nn.Sequential(
                nn.Linear(config.d_model, config.d_ff),
                nn.GELU(),
                nn.Linear(config.d_ff, config.d_model),
            )
        self.causal = config.causal

    def forward(self, x: Tensor, key_padding_mask: Tensor | None) -> tuple[Tensor, AttentionTrace]:
        h = self.ln_1(x)  # (B, L, d_model)
        trace = self.attn(
            h, h, h, key_padding_mask=key_padding_mask, is_causal=self.causal,
            return_intermediates=True,
        )  # fmt: skip
        x = x + trace.output
        if hasattr(self, "mlp"):
            x = x + self.mlp(self.ln_2(x))
        return x, trace


class ToyTransformer(nn.Module):
    """Token + learned position embeddings, ``n_layers`` blocks, a linear read-out.

    Parameters
    ----------
    config : ToyConfig

    Examples
    --------
    >>> model = ToyTransformer(ToyConfig(n_layers=2))
    >>> logits, traces = model(torch.zeros(3, 5, dtype=torch.long), return_traces=True)
    >>> logits.shape, len(traces), traces[0].weights.shape
    (torch.Size([3, 5, 29]), 2, torch.Size([3, 2, 5, 5]))
    """

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.d_model)
        self.pos_emb = nn.Embedding(config.max_len, config.d_model)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, config.vocab_size)

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.parameters())
        return f"ToyTransformer({self.config}, parameters={n})"

    def forward(
        self,
        ids: Tensor,
        key_padding_mask: Tensor | None = None,
        *,
        return_traces: bool = False,
    ) -> Tensor | tuple[Tensor, list[AttentionTrace]]:
        """Logits for every position, and optionally every layer's attention trace.

        Parameters
        ----------
        ids : Tensor of long, shape (B, L)
        key_padding_mask : Tensor of bool, shape (B, L), optional
            True at padding.
        return_traces : bool, default=False

        Returns
        -------
        logits : Tensor of shape (B, L, vocab_size)
        traces : list of AttentionTrace, one per layer (if ``return_traces``)
        """
        B, L = ids.shape
        if L > self.config.max_len:
            raise ValueError(f"sequence length {L} exceeds max_len={self.config.max_len}.")
        positions = torch.arange(L, device=ids.device)
        x = self.tok_emb(ids) + self.pos_emb(positions)  # (B, L, d_model)
        traces = []
        for block in self.blocks:
            x, trace = block(x, key_padding_mask)
            traces.append(trace)
        logits = self.head(self.ln_f(x))  # (B, L, vocab_size)
        return (logits, traces) if return_traces else logits
