"""Deep Embedded Clustering (Xie, Girshick & Farhadi, 2016): clusters and embedding together.

Start from a pretrained encoder and K-means centres μⱼ in its embedding. Then repeat:

1. **Soft assignment.** How much embedded point zᵢ belongs to cluster j, by a Student-t
   kernel (α = 1 degree of freedom):  qᵢⱼ ∝ (1 + ‖zᵢ − μⱼ‖² / α)^(−(α+1)/2).
2. **Target distribution.** Sharpen q: square it, divide by each cluster's total
   fⱼ = Σᵢ qᵢⱼ (so large clusters do not swallow the rest), renormalise each row:
   pᵢⱼ = (qᵢⱼ² / fⱼ) / Σ_k (qᵢₖ² / f_k).  P is held fixed for an epoch.
3. **KL refinement.** Minimise KL(P ‖ Q) = Σᵢ Σⱼ pᵢⱼ log(pᵢⱼ / qᵢⱼ) by SGD over both the
   encoder's weights and the centres: confident points pull their cluster tighter.

P is recomputed every few epochs, and the loop stops when fewer than ``tol`` of the points
changed cluster between two updates (the paper's rule). The loop is written
here by hand because it is what the Lab shows; the history keeps each epoch's loss, label
changes and (when the true digits are given, only to score) the adjusted Rand index.

Example
-------
>>> import torch
>>> q = soft_assignment(torch.zeros(3, 2), torch.tensor([[0.0, 0.0], [3.0, 4.0]]))
>>> [round(v, 3) for v in q[0].tolist()]
[0.963, 0.037]
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from torch import Tensor, nn

from engine.kmeans import KMeans

__all__ = [
    "DEC",
    "DECEpoch",
    "DECHistory",
    "kmeans_centres",
    "refine",
    "soft_assignment",
    "target_distribution",
]


def soft_assignment(z: Tensor, centres: Tensor, alpha: float = 1.0) -> Tensor:
    """Student-t similarity of each point to each centre, rows summing to 1: (n, C)."""
    squared = torch.cdist(z, centres).pow(2)  # (n, C) ‖zᵢ − μⱼ‖²
    q = (1.0 + squared / alpha).pow(-(alpha + 1.0) / 2.0)
    return q / q.sum(dim=1, keepdim=True)


def target_distribution(q: Tensor) -> Tensor:
    """DEC's sharpened targets p from soft assignments q, both (n, C)."""
    weight = q.pow(2) / q.sum(dim=0)  # qᵢⱼ² / fⱼ
    return weight / weight.sum(dim=1, keepdim=True)


class DEC(nn.Module):
    """An encoder and C learnable cluster centres in its embedding.

    Parameters
    ----------
    encoder : nn.Module
        Maps pixels (n, 64) to embeddings (n, e); trained further by :func:`refine`.
    centres : ndarray of shape (C, e)
        Initial centres (K-means in the pretrained embedding: :func:`kmeans_centres`).
    alpha : float, default=1.0
        Degrees of freedom of the Student-t kernel.
    """

    def __init__(self, encoder: nn.Module, centres: np.ndarray, alpha: float = 1.0):
        super().__init__()
        self.encoder = encoder
        self.centres = nn.Parameter(torch.as_tensor(centres, dtype=torch.float32).clone())
        self.alpha = alpha

    def __repr__(self) -> str:
        C, e = self.centres.shape
        return f"DEC(n_clusters={C}, n_embedding={e}, alpha={self.alpha})"

    def forward(self, x: Tensor) -> Tensor:
        """Soft assignments (n, C) of pixels (n, 64)."""
        return soft_assignment(self.encoder(x), self.centres, self.alpha)

    @torch.no_grad()
    def predict(self, pixels: np.ndarray) -> npt.NDArray[np.int64]:
        """The most likely cluster of every image (ties go to the first)."""
        return self(torch.tensor(np.asarray(pixels), dtype=torch.float32)).argmax(dim=1).numpy()


def kmeans_centres(
    embedding: np.ndarray, n_clusters: int, *, seed: int = 0, n_init: int = 10
) -> tuple[np.ndarray, npt.NDArray[np.int64]]:
    """The engine's K-means in an embedding (n, e): its centres (C, e) and labels (n,)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        km = KMeans(n_clusters, n_init=n_init, random_state=seed).fit(embedding)
    return km.cluster_centers_, km.labels_.astype(np.int64)


@dataclass(frozen=True)
class DECEpoch:
    """One epoch of refinement.

    Attributes
    ----------
    epoch : int
        1-based.
    loss : float
        Mean KL(P ‖ Q) over the epoch's batches.
    changed : float
        Share of the images whose cluster changed since the previous epoch.
    ari : float or None
        Adjusted Rand index of the clusters against the true digits (when given).
    """

    epoch: int
    loss: float
    changed: float
    ari: float | None


@dataclass(frozen=True)
class DECHistory:
    """Every epoch of :func:`refine`, and why it stopped."""

    epochs: tuple[DECEpoch, ...]
    stop_reason: str
    ari_start: float | None  # the K-means start, before the first epoch

    def as_columns(self) -> dict[str, list]:
        """Epoch, loss, changed and ARI as lists (for a table or a JSON file)."""
        return {name: [getattr(e, name) for e in self.epochs]
                for name in ("epoch", "loss", "changed", "ari")}  # fmt: skip


def refine(
    dec: DEC,
    pixels: np.ndarray,
    *,
    epochs: int,
    update_every: int = 20,
    batch_size: int = 256,
    lr: float = 0.01,
    momentum: float = 0.9,
    tol: float = 0.001,
    seed: int = 0,
    target: npt.ArrayLike | None = None,
    callback: Callable[[DECEpoch, int], None] | None = None,
) -> DECHistory:
    """DEC's KL refinement of ``dec`` (encoder and centres) on ``pixels``, in place.

    Parameters
    ----------
    epochs : int
        At most this many passes over the data.
    update_every : int, default=20
        Epochs between two updates of the target distribution P. The paper updates it every
        140 iterations; at batch 256 that is 20 epochs of these 1,797 images.
    batch_size, lr, momentum : SGD settings (the paper's: 256, 0.01, 0.9).
    tol : float, default=0.001
        At an update of P, stop if fewer than this share of the images changed cluster
        since the previous update (the paper's rule).
    seed : int
        Seeds the shuffles.
    target : array-like of int, optional
        True labels, used only to score each epoch (ARI).
    callback : callable(epoch_record, epochs), optional

    Returns
    -------
    DECHistory
    """
    x = torch.tensor(np.asarray(pixels), dtype=torch.float32)  # a copy: pixels may be read-only
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(dec.parameters(), lr=lr, momentum=momentum)
    labels = at_update = dec.predict(pixels)
    score = (lambda lab: float(adjusted_rand_score(target, lab))) if target is not None else None
    ari_start = score(labels) if score else None
    records, stop_reason = [], f"reached {epochs} epochs"
    for epoch in range(1, epochs + 1):
        if (epoch - 1) % update_every == 0:
            if epoch > 1 and float((labels != at_update).mean()) < tol:
                stop_reason = f"fewer than {tol:.1%} of the images changed cluster between updates"
                break
            at_update = labels
            with torch.no_grad():
                p = target_distribution(dec(x))  # (n, C), fixed until the next update
        dec.train()
        total = 0.0
        for batch in torch.randperm(len(x), generator=generator).split(batch_size):
            q = dec(x[batch])
            # KL(P ‖ Q) summed over clusters, averaged over the batch's points.
            loss = (p[batch] * (p[batch].log() - q.log())).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        dec.eval()
        new_labels = dec.predict(pixels)
        changed = float((new_labels != labels).mean())
        labels = new_labels
        record = DECEpoch(epoch, total / len(x), changed, score(labels) if score else None)
        records.append(record)
        if callback is not None:
            callback(record, epochs)
    return DECHistory(tuple(records), stop_reason, ari_start)
