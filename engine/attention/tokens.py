"""From typed text to the vectors attention reads: tokens, batches, embeddings, positions.

One line of text is one sequence; several lines form a batch, padded to the longest
line, with a ``key_padding_mask`` (True at padding) so no query attends to padding.
A :class:`Vocabulary` turns tokens into ids; :data:`VOCAB` is the toy models' own
(three special tokens, then the letters a-z).

Text a user can get wrong raises a typed error: :class:`EmptyTextError` (no token at
all), :class:`SequenceTooLongError`, :class:`UnknownTokensError`.

Example
-------
>>> from engine.attention.tokens import tokenize_lines, embed
>>> batch = tokenize_lines("the cat sat.\\nhello", mode="words")
>>> batch.tokens
[['the', 'cat', 'sat', '.'], ['hello']]
>>> batch.key_padding_mask.tolist()
[[False, False, False, False], [False, True, True, True]]
>>> embed(batch, d_model=8, seed=0).shape
torch.Size([2, 4, 8])
"""

from __future__ import annotations

import hashlib
import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "EOS",
    "LETTERS",
    "MAX_TOKENS",
    "PAD",
    "SEP",
    "TOKENIZERS",
    "VOCAB",
    "Batch",
    "EmptyTextError",
    "SequenceTooLongError",
    "UnknownTokensError",
    "Vocabulary",
    "embed",
    "sinusoidal_positional_encoding",
    "token_embeddings",
    "tokenize",
    "tokenize_lines",
]

#: Longest sequence the Lab accepts: a 256 × 256 heatmap per head is already dense.
MAX_TOKENS = 256

_WORD = re.compile(r"\w+|[^\w\s]")

#: Tokenizer modes, each with a sentence a student can read.
TOKENIZERS = {
    "words": "words and punctuation: 'don't!' → don ' t !",
    "whitespace": "split on spaces only: '<b>bold</b> text' → <b>bold</b> text",
    "characters": "every character (spaces included) is a token",
}


class EmptyTextError(ValueError):
    """The text holds no token at all (empty, or only blank lines)."""

    def __init__(self) -> None:
        super().__init__("there is no token to attend over: the text is empty.")


class SequenceTooLongError(ValueError):
    """A line has more tokens than allowed; ``lengths`` lists every line's length."""

    def __init__(self, lengths: list[int], max_tokens: int):
        self.lengths = lengths
        self.max_tokens = max_tokens
        too_long = [i + 1 for i, n in enumerate(lengths) if n > max_tokens]
        super().__init__(
            f"line {too_long[0]} has {lengths[too_long[0] - 1]} tokens; the limit is {max_tokens}."
            if len(too_long) == 1
            else f"lines {too_long} have more than {max_tokens} tokens (longest: {max(lengths)})."
        )


class UnknownTokensError(ValueError):
    """Tokens that are not in a model's vocabulary; ``unknown`` keeps them in order."""

    def __init__(self, unknown: list[str], vocabulary: Vocabulary):
        self.unknown = unknown
        self.vocabulary = vocabulary
        shown = ", ".join(repr(t) for t in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        super().__init__(f"{len(unknown)} token(s) not in the vocabulary: {shown}.")


def tokenize(line: str, mode: str = "words") -> list[str]:
    """Split one line into tokens.

    Parameters
    ----------
    line : str
    mode : {"words", "whitespace", "characters"}
        See :data:`TOKENIZERS`.

    Returns
    -------
    list of str
    """
    if mode == "words":
        return _WORD.findall(line)
    if mode == "whitespace":
        return line.split()
    if mode == "characters":
        return list(line)
    raise ValueError(f"mode={mode!r} is not a tokenizer; choose one of {list(TOKENIZERS)}.")


@dataclass(frozen=True)
class Batch:
    """A padded batch of token sequences.

    Attributes
    ----------
    tokens : list of list of str
        Each sequence's tokens, unpadded.
    key_padding_mask : Tensor of bool, shape (B, L)
        True at padding positions (PyTorch's convention).
    truncated : list of int
        For each sequence, how many tokens were cut off (0 if none).
    """

    tokens: list[list[str]]
    key_padding_mask: Tensor
    truncated: list[int]

    @property
    def lengths(self) -> list[int]:
        return [len(t) for t in self.tokens]

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.key_padding_mask.shape)

    def __repr__(self) -> str:
        return f"Batch(size={len(self.tokens)}, lengths={self.lengths})"


def tokenize_lines(
    text: str,
    mode: str = "words",
    *,
    max_tokens: int = MAX_TOKENS,
    truncate: bool = False,
) -> Batch:
    """Tokenize one sequence per non-blank line and pad them into a batch.

    Parameters
    ----------
    text : str
        Lines separated by newlines; blank lines are skipped.
    mode : {"words", "whitespace", "characters"}
    max_tokens : int, default=MAX_TOKENS
        Longest allowed sequence.
    truncate : bool, default=False
        Cut longer sequences to ``max_tokens`` instead of raising.

    Returns
    -------
    Batch

    Raises
    ------
    EmptyTextError
        When there is no token at all.
    SequenceTooLongError
        When a line is longer than ``max_tokens`` and ``truncate`` is False.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    sequences = [tokenize(line, mode) for line in lines]
    sequences = [s for s in sequences if s]
    if not sequences:
        raise EmptyTextError()
    lengths = [len(s) for s in sequences]
    if max(lengths) > max_tokens and not truncate:
        raise SequenceTooLongError(lengths, max_tokens)
    truncated = [max(0, n - max_tokens) for n in lengths]
    sequences = [s[:max_tokens] for s in sequences]
    return pad(sequences, truncated)


def pad(sequences: Sequence[Sequence[str]], truncated: list[int] | None = None) -> Batch:
    """Build a :class:`Batch` from token lists of different lengths."""
    lengths = torch.tensor([len(s) for s in sequences])
    longest = int(lengths.max())
    key_padding_mask = torch.arange(longest)[None, :] >= lengths[:, None]  # (B, L)
    return Batch(
        tokens=[list(s) for s in sequences],
        key_padding_mask=key_padding_mask,
        truncated=truncated or [0] * len(sequences),
    )


def token_embeddings(tokens: Sequence[str], d_model: int, seed: int = 0) -> Tensor:
    """A fixed random vector per distinct token string, N(0, 1) in each coordinate.

    The vector depends only on ``(seed, token)`` - not on the other tokens typed - so
    "cat" keeps its vector when the sentence around it changes.

    Returns
    -------
    Tensor of shape (len(tokens), d_model)
    """
    rows = []
    for token in tokens:
        digest = hashlib.blake2b(f"{seed}\x1f{token}".encode(), digest_size=8).digest()
        g = torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))
        rows.append(torch.randn(d_model, generator=g))
    return torch.stack(rows) if rows else torch.zeros(0, d_model)


def sinusoidal_positional_encoding(length: int, d_model: int) -> Tensor:
    """The sinusoidal positions of "Attention Is All You Need".

    PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), PE[pos, 2i+1] = cos(same angle).

    Returns
    -------
    Tensor of shape (length, d_model)
    """
    position = torch.arange(length, dtype=torch.float32)[:, None]  # (L, 1)
    frequency = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model)
    )  # (ceil(d_model / 2),)
    angle = position * frequency  # (L, ceil(d_model / 2))
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe


def embed(batch: Batch, d_model: int, seed: int = 0, *, positional: bool = True) -> Tensor:
    """Token embeddings (seeded) plus, optionally, sinusoidal positional encoding.

    Padding positions get the zero vector; they are masked out of attention anyway.

    Returns
    -------
    Tensor of shape (B, L, d_model)
    """
    if isinstance(d_model, bool) or not isinstance(d_model, int) or d_model < 1:
        raise ValueError(f"d_model must be a positive integer, got {d_model!r}.")
    B, L = batch.shape
    x = torch.zeros(B, L, d_model)
    for b, seq in enumerate(batch.tokens):
        x[b, : len(seq)] = token_embeddings(seq, d_model, seed)
    if positional:
        x = x + sinusoidal_positional_encoding(L, d_model) * (~batch.key_padding_mask)[..., None]
    return x


class Vocabulary:
    """A fixed list of tokens, with ids in list order.

    Parameters
    ----------
    tokens : sequence of str
        Distinct tokens; ``tokens[i]`` has id ``i``.
    """

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary tokens must be distinct.")
        self.tokens = tokens
        self.index = {t: i for i, t in enumerate(tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __repr__(self) -> str:
        more = " …" if len(self) > 12 else ""
        return f"Vocabulary({len(self)} tokens: {' '.join(self.tokens[:12])}{more})"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``; raises :class:`UnknownTokensError` listing every unknown one."""
        unknown = list(dict.fromkeys(t for t in tokens if t not in self.index))
        if unknown:
            raise UnknownTokensError(unknown, self)
        return [self.index[t] for t in tokens]

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.tokens[int(i)] for i in ids]


PAD, SEP, EOS = "<pad>", "=", "<eos>"
LETTERS = list(string.ascii_lowercase)
#: The toy models' vocabulary, one for every task: three special tokens, then a-z.
VOCAB = Vocabulary([PAD, SEP, EOS, *LETTERS])
