"""Training the toy transformers: held-out strings, batches, Adam, accuracy.

Every task draws its own strings of letters (:mod:`engine.attention.tasks`); about 10%
of all strings, chosen by a hash of the string, are never trained on, so :func:`evaluate`
measures what a model learned rather than what it memorised. Same seed, same model:
``scripts/train_toy_models.py`` reproduces the shipped weights with :func:`train`.

Example
-------
>>> from engine.attention.tasks import TASKS
>>> model = train(TASKS["previous_token"], steps=5, seed=0)  # doctest: +SKIP
>>> 0 <= evaluate(model, TASKS["previous_token"]) <= 1  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from engine.attention.model import ToyTransformer
from engine.attention.tasks import ToyTask
from engine.attention.tokens import LETTERS, VOCAB

__all__ = ["IGNORE", "MAX_STEPS", "evaluate", "sample_batch", "train"]

IGNORE = -100  # cross-entropy's ignore_index: positions with nothing to predict

MAX_STEPS = 2_500
"""Most optimiser steps one training may take: as many as the longest shipped model used
(about 20 s on one core). A served Lab trains for anyone who presses a button."""


def _held_out(letter_ids: np.ndarray) -> np.ndarray:
    """True for the ~10% of letter strings reserved for evaluation (a hash of the string)."""
    powers = np.power(31, np.arange(letter_ids.shape[1]), dtype=np.int64)
    h = (letter_ids.astype(np.int64) * powers).sum(axis=1) + 7919 * letter_ids.shape[1]
    return (h % 1_000_003) % 10 == 0


def _draw_letters(task: ToyTask, rng: np.random.Generator, n: int, length: int) -> np.ndarray:
    """``n`` strings of ``length`` letter indices (0..25), distinct within a string if required."""
    if task.distinct:
        return np.argsort(rng.random((n, len(LETTERS))), axis=1)[:, :length]
    return rng.integers(0, len(LETTERS), size=(n, length))


def sample_batch(
    task: ToyTask,
    rng: np.random.Generator,
    batch_size: int,
    *,
    split: str = "train",
    length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """A batch of one length: input ids and target ids (``-100`` where nothing is predicted).

    ``split="train"`` never returns a held-out string, ``split="test"`` only held-out ones.

    Returns
    -------
    ids, targets : Tensor of long, shape (batch_size, L)
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    if length is None:
        length = int(rng.integers(task.min_letters, task.max_letters + 1))
    rows: list[np.ndarray] = []
    while sum(len(r) for r in rows) < batch_size:
        draw = _draw_letters(task, rng, 4 * batch_size, length)
        keep = _held_out(draw) == (split == "test")
        rows.append(draw[keep])
    letters = np.concatenate(rows)[:batch_size]
    ids, targets = [], []
    for row in letters:
        tokens, target = task.build([LETTERS[i] for i in row])
        ids.append(VOCAB.encode(tokens))
        targets.append([IGNORE if t is None else VOCAB.index[t] for t in target])
    return torch.tensor(ids), torch.tensor(targets)


def train(
    task: ToyTask,
    *,
    steps: int | None = None,
    seed: int = 0,
    batch_size: int = 64,
    callback: Callable[[int, int, float], None] | None = None,
) -> ToyTransformer:
    """Train a fresh model on ``task`` with Adam and a cosine learning-rate decay.

    Parameters
    ----------
    task : ToyTask
    steps : int, optional
        Optimiser steps, 1 to ``MAX_STEPS``; defaults to ``task.steps``.
    seed : int, default=0
        Seeds both the initial weights and the data; same seed, same model.
    batch_size : int, default=64
    callback : callable(step, steps, loss), optional
        Called after every step (for a progress bar).

    Returns
    -------
    ToyTransformer
        In eval mode.

    Raises
    ------
    ValueError
        If ``steps`` is not a whole number from 1 to ``MAX_STEPS``.
    """
    steps = task.steps if steps is None else steps
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps = {steps!r} must be a whole number from 1 to {MAX_STEPS:,}.")
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ToyTransformer(task.config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=task.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=task.lr, total_steps=max(steps, 1), pct_start=0.1
    )
    model.train()
    for step in range(steps):
        ids, targets = sample_batch(task, rng, batch_size)
        logits = model(ids)
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if callback is not None:
            callback(step + 1, steps, loss.item())
    return model.eval()


@torch.inference_mode()
def evaluate(
    model: ToyTransformer, task: ToyTask, *, n_per_length: int = 64, seed: int = 1
) -> float:
    """Token accuracy on held-out strings of every trained length (never seen in training).

    Returns
    -------
    float
        Fraction of predicted positions where the arg-max token equals the target.
    """
    rng = np.random.default_rng(seed)
    correct = total = 0
    for length in range(task.min_letters, task.max_letters + 1):
        ids, targets = sample_batch(task, rng, n_per_length, split="test", length=length)
        predicted = model(ids).argmax(dim=-1)
        scored = targets != IGNORE
        correct += int((predicted[scored] == targets[scored]).sum())
        total += int(scored.sum())
    return correct / total
