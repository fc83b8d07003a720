"""The shipped DEC for the default settings: safetensors weights and their JSON record.

``assets/deep_clustering/dec_digits.safetensors`` holds the pretrained encoder and DEC's
refined encoder and centres (safetensors: reading it runs no code); ``dec_digits.json``
beside it records the config, the three ARI figures, the pretraining losses and every
epoch of the refinement, and the command that wrote them:
``scripts/train_dec.py``. Loading needs no training, so the page opens at once.

Example
-------
>>> models, record = load_shipped()  # doctest: +SKIP
>>> record["ari"]["dec"] >= record["ari"]["raw"]  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from engine.deep_clustering.autoencoder import Autoencoder
from engine.deep_clustering.dec import DEC, DECEpoch, DECHistory
from engine.deep_clustering.study import DeepClusteringConfig, DeepClusteringResult, TrainedModels

__all__ = ["ASSETS", "load_shipped", "save_shipped"]

ASSETS = Path(__file__).resolve().parents[2] / "assets" / "deep_clustering"
WEIGHTS, RECORD = "dec_digits.safetensors", "dec_digits.json"


def save_shipped(
    models: TrainedModels, result: DeepClusteringResult, command: str, folder: Path = ASSETS
) -> None:
    """Write the weights and the record (config, ARI, history, command)."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"pretrained.{k}": v for k, v in models.pretrained.state_dict().items()}
    tensors |= {f"dec.{k}": v for k, v in models.dec.state_dict().items()}
    save_file({k: v.detach().contiguous() for k, v in tensors.items()}, str(folder / WEIGHTS))
    record = {
        "config": asdict(models.config),
        "ari": {name: round(value, 6) for name, value in result.ari.items()},
        "ari_note": "adjusted Rand index against the true digits (sklearn's load_digits)",
        "pretrain_losses": [round(x, 8) for x in models.pretrain_losses],
        "history": {**models.history.as_columns(), "stop_reason": models.history.stop_reason,
                    "ari_start": models.history.ari_start},  # fmt: skip
        "command": command,
        "torch": torch.__version__,
    }
    (folder / RECORD).write_text(json.dumps(record, indent=1) + "\n")


def load_shipped(folder: Path = ASSETS) -> tuple[TrainedModels, dict]:
    """The shipped models (no training) and their JSON record.

    Raises
    ------
    FileNotFoundError
        If the files are missing (run ``scripts/train_dec.py``).
    """
    weights, record_path = folder / WEIGHTS, folder / RECORD
    for path in (weights, record_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; run scripts/train_dec.py.")
    record = json.loads(record_path.read_text())
    raw = record["config"]
    config = DeepClusteringConfig(**{**raw, "hidden": tuple(raw["hidden"])})
    tensors = load_file(str(weights))
    pretrained = Autoencoder(config.autoencoder).encoder
    pretrained.load_state_dict(_part(tensors, "pretrained."))
    dec_state = _part(tensors, "dec.")
    dec = DEC(Autoencoder(config.autoencoder).encoder, dec_state["centres"].numpy())
    dec.load_state_dict(dec_state)
    h = record["history"]
    history = DECHistory(
        epochs=tuple(DECEpoch(*row) for row in zip(h["epoch"], h["loss"], h["changed"], h["ari"],
                                                   strict=True)),
        stop_reason=h["stop_reason"], ari_start=h["ari_start"],
    )  # fmt: skip
    models = TrainedModels(config, pretrained.eval(), dec.eval(),
                           tuple(record["pretrain_losses"]), history)  # fmt: skip
    return models, record


def _part(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
