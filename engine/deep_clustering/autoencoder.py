"""The autoencoder DEC starts from: pixels → a small embedding → pixels again.

Trained alone first ("pretraining"), it learns an embedding in which K-means already works
better than on raw pixels; DEC then refines the encoder and the cluster centres together.
The paper pretrains layer by layer with denoising; a small end-to-end autoencoder does
the job on 8×8 digits.

Example
-------
>>> import torch
>>> ae = Autoencoder(AutoencoderConfig())
>>> ae.encoder(torch.zeros(5, 64)).shape
torch.Size([5, 10])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["Autoencoder", "AutoencoderConfig", "embed", "pretrain"]


@dataclass(frozen=True)
class AutoencoderConfig:
    """Layer widths: ``n_inputs`` → ``hidden`` … → ``n_embedding``, and back."""

    n_inputs: int = 64
    hidden: tuple[int, ...] = (128, 64)
    n_embedding: int = 10


def _stack(widths: list[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """An MLP encoder and its mirror-image decoder.

    Parameters
    ----------
    config : AutoencoderConfig
    """

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        self.config = config
        widths = [config.n_inputs, *config.hidden, config.n_embedding]
        self.encoder = _stack(widths)
        self.decoder = _stack(widths[::-1])

    def __repr__(self) -> str:
        widths = " → ".join(map(str, [self.config.n_inputs, *self.config.hidden]))
        return f"Autoencoder({widths} → {self.config.n_embedding} → … → {self.config.n_inputs})"

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))  # (n, n_inputs)


def pretrain(
    model: Autoencoder,
    pixels: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    callback: Callable[[int, int, float], None] | None = None,
) -> list[float]:
    """Train ``model`` to reconstruct ``pixels`` (n, 64) with Adam and the mean squared error.

    Same seed, same shuffles. ``callback(epoch, epochs, loss)`` after every epoch.

    Returns
    -------
    list of float
        The mean reconstruction loss of each epoch.
    """
    x = torch.tensor(np.asarray(pixels), dtype=torch.float32)  # a copy: pixels may be read-only
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for epoch in range(1, epochs + 1):
        total = 0.0
        for batch in torch.randperm(len(x), generator=generator).split(batch_size):
            loss = nn.functional.mse_loss(model(x[batch]), x[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
        if callback is not None:
            callback(epoch, epochs, losses[-1])
    model.eval()
    return losses


@torch.no_grad()
def embed(encoder: nn.Module, pixels: np.ndarray) -> np.ndarray:
    """The encoder's embedding of every row of ``pixels``: (n, n_embedding) float64."""
    return encoder(torch.tensor(np.asarray(pixels), dtype=torch.float32)).double().numpy()
