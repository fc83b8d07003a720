"""Toy tasks: what each small transformer learns, so that its heads have something to show.

Random weights make random pictures. A one- or two-layer transformer trained to
reverse, copy, sort or repeat a string of letters learns attention patterns that can
be read straight off the heatmap:

=============== ======================================== ===========================
task            what the model must do                   pattern to look for
=============== ======================================== ===========================
previous_token  output the token one place back          the sub-diagonal
reverse         output the letters in reverse order      the anti-diagonal
sort            after ``=``, write the letters sorted    each output looks up the next
                                                         larger input letter
induction       a random string, then the same again:    layer 1: previous token;
                predict the repeat                       layer 2: the stripe m-1 back
=============== ======================================== ===========================

Each task is an object whose methods say how it differs: :meth:`ToyTask.build` writes
the model's input and the target at every position, :meth:`ToyTask.model_input` what
the model reads when it runs (the sort model writes its own answer), and
:meth:`ToyTask.read_lines` checks a user's text against what the model was trained on.

Example
-------
>>> TASKS["reverse"].build(list("abc"))
(['a', 'b', 'c', '<eos>'], ['c', 'b', 'a', None])
>>> TASKS["sort"].read_lines("d b c a")
['dbca']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from engine.attention.model import ToyConfig
from engine.attention.tokens import EOS, LETTERS, SEP, VOCAB, EmptyTextError

__all__ = [
    "TASKS",
    "Induction",
    "LettersError",
    "PreviousToken",
    "Reverse",
    "Sort",
    "ToyTask",
]


class LettersError(ValueError):
    """Lines a toy model cannot read; ``problems`` has one sentence per bad line."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ToyTask:
    """A toy task: how to build its sequences and which model learns it.

    Subclasses implement :meth:`build` (and may override :meth:`model_input`).

    Attributes
    ----------
    name, title : str
        Identifier (file name of the weights) and display title.
    description : str
        What the model has to do, in a sentence.
    pattern : str
        What to look for in the attention heatmaps.
    config : ToyConfig
    min_letters, max_letters : int
        Range of the number of letters a sequence of this task holds.
    distinct : bool
        Whether the letters are all different (sort and induction need it).
    example : str
        A typical input.
    steps, lr : int, float
        Training schedule used by ``scripts/train_toy_models.py``.
    pattern_layer : int
        The layer (0-based) whose heads show :attr:`pattern`, where a viewer should look
        first.
    """

    name: str
    title: str
    description: str
    pattern: str
    config: ToyConfig
    min_letters: int
    max_letters: int
    distinct: bool
    example: str
    steps: int
    lr: float = 3e-3
    pattern_layer: int = 0

    def build(self, letters: Sequence[str]) -> tuple[list[str], list[str | None]]:
        """The model's input tokens for ``letters`` and the target at every position.

        ``targets[i]`` is what the model should output at position i (None where
        there is nothing to predict).
        """
        raise NotImplementedError

    def model_input(self, model: nn.Module, letters: Sequence[str]) -> list[str]:
        """The tokens ``model`` reads when it runs on ``letters``: the built input."""
        return self.build(letters)[0]

    def check_letters(self, letters: Sequence[str]) -> None:
        """Raise ValueError, in words a student understands, if the task cannot take them."""
        unknown = list(dict.fromkeys(t for t in letters if t not in LETTERS))
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:10])
            raise ValueError(f"the {self.title} model only knows the letters a-z; not {shown}.")
        if not self.min_letters <= len(letters) <= self.max_letters:
            raise ValueError(
                f"the {self.title} model was trained on {self.min_letters} to "
                f"{self.max_letters} letters; this line has {len(letters)}."
            )

    def read_lines(self, text: str) -> list[str]:
        """The letter strings of ``text``, one per non-blank line, spaces dropped.

        Raises
        ------
        EmptyTextError
            When no line holds a letter.
        LettersError
            Naming every line the model cannot read ("Line 2: ...").
        """
        lines = [line.strip().replace(" ", "") for line in text.splitlines() if line.strip()]
        if not lines:
            raise EmptyTextError()
        problems = []
        for i, line in enumerate(lines, start=1):
            try:
                self.check_letters(list(line))
            except ValueError as exc:
                problems.append(f"Line {i}: {exc}")
        if problems:
            raise LettersError(problems)
        return lines

    def repeats_letters(self, lines: Sequence[str]) -> bool:
        """Whether a line repeats a letter although the task was trained on distinct ones."""
        return self.distinct and any(len(set(line)) < len(line) for line in lines)


class PreviousToken(ToyTask):
    """Output, at every position, the token one place back."""

    def build(self, letters):
        x = list(letters)
        return x, [None, *x[:-1]]


class Reverse(ToyTask):
    """Read the letters and an end marker, then output them in reverse order."""

    def build(self, letters):
        x = list(letters)
        return [*x, EOS], [*x[::-1], None]


class Sort(ToyTask):
    """Read distinct letters and ``=``, then write them in alphabetical order."""

    def build(self, letters):
        x, out = list(letters), sorted(letters)
        # Position n-1+j sees the separator or output j-1 and must say output j.
        return [*x, SEP, *out], [None] * len(x) + out + [None]

    def model_input(self, model, letters):
        """Letters, ``=``, then the model's own letters, greedily one at a time.

        So what the page shows is what the model writes, not the answer key.
        """
        tokens = [*letters, SEP]
        for _ in letters:
            ids = torch.tensor([VOCAB.encode(tokens)])  # (1, L)
            tokens.append(VOCAB.tokens[int(model(ids)[0, -1].argmax())])
        return tokens


class Induction(ToyTask):
    """A string of distinct letters, then the same again: predict the repeat."""

    def build(self, letters):
        x = list(letters)
        # Position n+j holds the j-th letter of the repeat and predicts letter j+1.
        return x + x, [None] * len(x) + x[1:] + [None]


#: The shipped tasks, by name.
TASKS: dict[str, ToyTask] = {
    t.name: t
    for t in [
        PreviousToken(
            name="previous_token",
            title="Previous token",
            description="Copy with an offset: at every position output the token one place back.",
            pattern="One head puts its weight on the sub-diagonal: each query looks one step back.",
            config=ToyConfig(n_layers=1, n_heads=2, d_model=32, d_ff=0, max_len=24, causal=True),
            min_letters=4, max_letters=24, distinct=False, example="attention", steps=400,
        ),
        Reverse(
            name="reverse",
            title="Reverse",
            description="Read the letters and an end marker, output them in reverse order.",
            pattern="Layer 2 reads along the anti-diagonal: position i looks at position "
            "n-1-i (layer 1 found the end marker: how long is the input?).",
            config=ToyConfig(n_layers=2, n_heads=2, d_model=64, d_ff=128, max_len=13, causal=False),
            min_letters=3, max_letters=12, distinct=False, example="attention", steps=2500,
            pattern_layer=1,
        ),
        Sort(
            name="sort",
            title="Sort",
            description="Read distinct letters and '=', then write the letters in alphabetical "
            "order.",
            pattern="After '=', each output letter attends to the next larger letter of the input.",
            config=ToyConfig(n_layers=1, n_heads=2, d_model=64, d_ff=128, max_len=21, causal=True),
            min_letters=3, max_letters=10, distinct=True, example="lbsqiz", steps=2500,
        ),
        Induction(
            name="induction",
            title="Induction (repeat)",
            description="A string of distinct letters, then the same string again: predict each "
            "letter of the repeat from the one before.",
            pattern="Layer 2's induction head looks at the letter after the earlier copy of the "
            "current one - a stripe m-1 below the diagonal (layer 1 has a previous-token head).",
            config=ToyConfig(n_layers=2, n_heads=2, d_model=64, d_ff=0, max_len=24, causal=True),
            min_letters=4, max_letters=12, distinct=True, example="python", steps=2500,
            pattern_layer=1,
        ),
    ]
}  # fmt: skip
