"""Small transformers trained on toy tasks, so that their heads have something to show.

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

Every layer is built on :class:`engine.attention.MultiHeadAttention`. Weights are
stored as ``safetensors`` (``assets/attention/<task>.safetensors``), which holds
tensors only: loading never unpickles anything, so a user's file cannot run code.
``scripts/train_toy_models.py`` trains them reproducibly on the CPU.

Example
-------
>>> from engine.toy_models import TASKS, load_pretrained, run_task
>>> model = load_pretrained("reverse")  # doctest: +SKIP
>>> result = run_task(model, TASKS["reverse"], [list("hello")])  # doctest: +SKIP
>>> "".join(result.predicted[0][:5])  # doctest: +SKIP
'olleh'
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from engine.attention import AttentionTrace, MultiHeadAttention
from engine.tokens import Vocabulary

__all__ = [
    "ASSETS",
    "TASKS",
    "VOCAB",
    "ToyConfig",
    "ToyRun",
    "ToyTask",
    "ToyTransformer",
    "WeightsError",
    "evaluate",
    "load_metadata",
    "load_pretrained",
    "model_from_tensors",
    "read_safetensors",
    "run_task",
    "sample_batch",
    "save_model",
    "train",
]

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "attention"
PAD, SEP, EOS = "<pad>", "=", "<eos>"
LETTERS = list(string.ascii_lowercase)
#: One vocabulary for every task: three special tokens, then a-z.
VOCAB = Vocabulary([PAD, SEP, EOS, *LETTERS])
IGNORE = -100  # cross-entropy's ignore_index: positions with nothing to predict


# ----------------------------------------------------------------------------- configuration


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


@dataclass(frozen=True)
class ToyTask:
    """A toy task: how to build its sequences and which model learns it.

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

    def build(self, letters: Sequence[str]) -> tuple[list[str], list[str | None]]:
        """The model's input tokens for ``letters`` and the target at every position.

        ``targets[i]`` is what the model should output at position i (None where
        there is nothing to predict).
        """
        x, n = list(letters), len(letters)
        if self.name == "previous_token":
            return x, [None, *x[:-1]]
        if self.name == "reverse":
            return [*x, EOS], [*x[::-1], None]
        if self.name == "sort":
            out = sorted(x)
            # Position n-1+j sees the separator or output j-1 and must say output j.
            return [*x, SEP, *out], [None] * n + out + [None]
        if self.name == "induction":
            # Position n+j holds the j-th letter of the repeat and predicts letter j+1.
            return x + x, [None] * n + x[1:] + [None]
        raise ValueError(f"unknown task {self.name!r}")

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


def _task(name, title, description, pattern, config, lo, hi, distinct, example, steps, lr=3e-3):
    return ToyTask(name, title, description, pattern, config, lo, hi, distinct, example, steps, lr)


#: The shipped tasks, by name.
TASKS: dict[str, ToyTask] = {
    t.name: t
    for t in [
        _task(
            "previous_token", "Previous token",
            "Copy with an offset: at every position output the token one place back.",
            "One head puts its weight on the sub-diagonal: each query looks one step back.",
            ToyConfig(n_layers=1, n_heads=2, d_model=32, d_ff=0, max_len=24, causal=True),
            4, 24, False, "attention", steps=400,
        ),
        _task(
            "reverse", "Reverse",
            "Read the letters and an end marker, output them in reverse order.",
            "Layer 1 finds the end marker (how long is the input?); layer 2 reads along "
            "the anti-diagonal: position i looks at position n-1-i.",
            ToyConfig(n_layers=2, n_heads=2, d_model=64, d_ff=128, max_len=13, causal=False),
            3, 12, False, "attention", steps=2500,
        ),
        _task(
            "sort", "Sort",
            "Read distinct letters and '=', then write the letters in alphabetical order.",
            "After '=', each output letter attends to the next larger letter of the input.",
            ToyConfig(n_layers=1, n_heads=2, d_model=64, d_ff=128, max_len=21, causal=True),
            3, 10, True, "lbsqiz", steps=2500,
        ),
        _task(
            "induction", "Induction (repeat)",
            "A string of distinct letters, then the same string again: predict each "
            "letter of the repeat from the one before.",
            "Layer 1 has a previous-token head; layer 2's induction head looks at the letter "
            "after the earlier copy of the current one - a stripe m-1 below the diagonal.",
            ToyConfig(n_layers=2, n_heads=2, d_model=64, d_ff=0, max_len=24, causal=True),
            4, 12, True, "python", steps=2500,
        ),
    ]
}  # fmt: skip


# ----------------------------------------------------------------------------- model


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


# ----------------------------------------------------------------------------- data


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


# ----------------------------------------------------------------------------- training


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
        Optimiser steps; defaults to ``task.steps``.
    seed : int, default=0
        Seeds both the initial weights and the data; same seed, same model.
    batch_size : int, default=64
    callback : callable(step, steps, loss), optional
        Called after every step (for a progress bar).

    Returns
    -------
    ToyTransformer
        In eval mode.
    """
    steps = task.steps if steps is None else steps
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


# ----------------------------------------------------------------------------- running


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
    depend on the others. For ``sort`` the output half is *generated* greedily, one
    letter at a time, so what you see is what the model writes, not the answer key.

    Raises
    ------
    ValueError
        If a string has letters the model does not know or a length it was not trained on.
    """
    for letters in batch_letters:
        task.check_letters(letters)
    built = [task.build(letters) for letters in batch_letters]
    tokens = [b[0] for b in built]
    expected = [b[1] for b in built]
    if task.name == "sort":
        tokens = [_generate_sorted(model, list(letters)) for letters in batch_letters]
    lengths = [len(t) for t in tokens]
    L = max(lengths)
    ids = torch.zeros(len(tokens), L, dtype=torch.long)
    for b, t in enumerate(tokens):
        ids[b, : len(t)] = torch.tensor(VOCAB.encode(t))
    key_padding_mask = torch.arange(L)[None, :] >= torch.tensor(lengths)[:, None]  # (B, L)
    logits, traces = model(ids, key_padding_mask, return_traces=True)
    best = logits.argmax(dim=-1)
    predicted = [
        [VOCAB.tokens[int(best[b, i])] if e is not None else None for i, e in enumerate(exp)]
        for b, exp in enumerate(expected)
    ]
    return ToyRun(tokens, expected, predicted, key_padding_mask, traces)


def _generate_sorted(model: ToyTransformer, letters: list[str]) -> list[str]:
    """Greedy decoding of the sort task: letters, '=', then one model letter at a time."""
    tokens = [*letters, SEP]
    for _ in letters:
        ids = torch.tensor([VOCAB.encode(tokens)])
        tokens.append(VOCAB.tokens[int(model(ids)[0, -1].argmax())])
    return tokens


# ----------------------------------------------------------------------------- weights on disk


class WeightsError(ValueError):
    """A weights file that cannot be used; ``problems`` lists every reason found."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        self.problems = list(problems)
        super().__init__(message + ("\n- " + "\n- ".join(self.problems) if self.problems else ""))


def save_model(model: ToyTransformer, task: ToyTask, path: Path | str, **metadata: str) -> None:
    """Write ``model``'s weights as safetensors, with the task and config as metadata."""
    meta = {"task": task.name, "config": json.dumps(asdict(model.config)), **metadata}
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata=meta)


def read_safetensors(data: bytes) -> dict[str, Tensor]:
    """Parse the bytes of a ``.safetensors`` file (tensors only; nothing is executed).

    Raises
    ------
    WeightsError
        If the bytes are not a safetensors file.
    """
    if not data:
        raise WeightsError("the file is empty.")
    try:
        return load_safetensors_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise WeightsError(
            "this is not a readable .safetensors file (a PyTorch .pt/.pth pickle is not "
            f"accepted, because unpickling can run code). Details: {exc}"
        ) from None


def _describe(tensors: dict[str, Tensor]) -> str:
    """A guess at the architecture that produced ``tensors``, from their shapes."""
    parts = []
    if "tok_emb.weight" in tensors and tensors["tok_emb.weight"].dim() == 2:
        vocab, d_model = tensors["tok_emb.weight"].shape
        parts += [f"d_model={d_model}", f"vocab_size={vocab}"]
    if "pos_emb.weight" in tensors and tensors["pos_emb.weight"].dim() == 2:
        parts.append(f"max_len={tensors['pos_emb.weight'].shape[0]}")
    layers = {k.split(".")[1] for k in tensors if k.startswith("blocks.")}
    parts.append(f"n_layers={len(layers)}")
    mlp = tensors.get("blocks.0.mlp.0.weight")
    parts.append(f"d_ff={mlp.shape[0] if mlp is not None and mlp.dim() == 2 else 0}")
    return ", ".join(parts)


def model_from_tensors(tensors: dict[str, Tensor], config: ToyConfig) -> ToyTransformer:
    """Build a :class:`ToyTransformer` with ``config`` and the given weights.

    Every name and shape is checked first; the error lists each missing, unexpected
    or mis-shaped tensor and what the file's shapes suggest it was trained with.
    (``n_heads`` cannot be read from shapes: it only changes how d_model is split.)

    Raises
    ------
    WeightsError
    """
    model = ToyTransformer(config)
    expected = model.state_dict()
    problems = []
    for name in expected.keys() - tensors.keys():
        problems.append(f"missing tensor {name!r} (shape {tuple(expected[name].shape)})")
    for name in tensors.keys() - expected.keys():
        problems.append(f"unexpected tensor {name!r} (shape {tuple(tensors[name].shape)})")
    for name in sorted(expected.keys() & tensors.keys()):
        got, want = tuple(tensors[name].shape), tuple(expected[name].shape)
        if got != want:
            problems.append(f"{name!r} has shape {got}, this architecture needs {want}")
        elif not tensors[name].is_floating_point():
            problems.append(f"{name!r} has dtype {tensors[name].dtype}; weights must be floats")
        elif not torch.isfinite(tensors[name]).all():
            problems.append(f"{name!r} contains NaN or infinite values")
    if problems:
        c = config
        raise WeightsError(
            f"these weights do not fit the architecture (d_model={c.d_model}, "
            f"n_layers={c.n_layers}, d_ff={c.d_ff}, max_len={c.max_len}, "
            f"vocab_size={c.vocab_size}). The file looks like: {_describe(tensors)}.",
            sorted(problems),
        )
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()})
    return model.eval()


def load_pretrained(name: str, assets: Path | str = ASSETS) -> ToyTransformer:
    """Load the shipped weights of task ``name`` from ``assets/attention``."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of {list(TASKS)}.")
    path = Path(assets) / f"{name}.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run scripts/train_toy_models.py.")
    return model_from_tensors(load_file(str(path)), TASKS[name].config)


def load_metadata(assets: Path | str = ASSETS) -> dict:
    """The training record written next to the weights (accuracy, steps, seed per task)."""
    path = Path(assets) / "models.json"
    return json.loads(path.read_text()) if path.exists() else {}
