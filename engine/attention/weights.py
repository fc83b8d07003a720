"""Weight files of the toy models: safetensors only, so loading a file never runs code.

``safetensors`` holds tensors and a little text metadata, nothing else: unlike a PyTorch
``.pt`` pickle, reading it cannot execute anything, so a student's upload is safe to
open. Every name, shape and value is checked against the architecture before use, and
:class:`WeightsError` lists each problem found. The shipped weights live in
``assets/attention/<task>.safetensors`` with their training record in ``models.json``.

Example
-------
>>> model = load_pretrained("reverse")  # doctest: +SKIP
>>> sorted(load_metadata())  # doctest: +SKIP
['induction', 'previous_token', 'reverse', 'sort']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import load_file, save_file
from torch import Tensor

from engine.attention.model import ToyConfig, ToyTransformer
from engine.attention.tasks import TASKS, ToyTask

__all__ = [
    "ASSETS",
    "WeightsError",
    "load_metadata",
    "load_pretrained",
    "model_from_tensors",
    "read_safetensors",
    "save_model",
]

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "attention"


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
