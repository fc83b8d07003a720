"""The Attention lab's engine: multi-head attention written to be read, and what it runs on.

============== =================================================================
module         what it is for
============== =================================================================
``multi_head`` :class:`MultiHeadAttention`: softmax(QKᵀ/√d_k + M)·V, every step traced
``masks``      causal, padding and user masks, in PyTorch's conventions
``tokens``     text → tokens → a padded batch → embeddings; vocabularies
``tasks``      the toy tasks (previous token, reverse, sort, induction)
``model``      the toy transformer, built on :class:`MultiHeadAttention`
``training``   held-out strings, batches, training and accuracy
``weights``    weight files: safetensors only, never unpickled
``analysis``   entropy, sparsity, rollout, head distances
``run``        :class:`AttentionRun`: one run as NumPy, and every view of it
============== =================================================================

>>> import torch
>>> from engine.attention import MultiHeadAttention
>>> out, weights = MultiHeadAttention(16, 4)(*(torch.randn(1, 5, 16),) * 3)
>>> tuple(weights.shape)
(1, 4, 5, 5)
"""

from engine.attention.masks import causal_mask
from engine.attention.multi_head import (
    AttentionTrace,
    HeadWidthError,
    MultiHeadAttention,
    random_attention,
)
from engine.attention.run import AttentionRun
from engine.attention.tasks import TASKS, ToyTask
from engine.attention.tokens import EmptyTextError, SequenceTooLongError
from engine.attention.weights import WeightsError

__all__ = [
    "TASKS",
    "AttentionRun",
    "AttentionTrace",
    "EmptyTextError",
    "HeadWidthError",
    "MultiHeadAttention",
    "SequenceTooLongError",
    "ToyTask",
    "WeightsError",
    "causal_mask",
    "random_attention",
]
