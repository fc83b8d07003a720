"""The deep-clustering study: K-means on raw pixels vs on an autoencoder's embedding vs DEC.

:func:`train` pretrains the autoencoder, starts DEC from the engine's K-means in its
embedding and refines it; :func:`evaluate` scores all three clusterings against the true
digits (adjusted Rand index) and keeps what the page draws: the labels, the embeddings,
each cluster's centre. Same config and seed, same result on the same CPU.

Example
-------
>>> from engine.deep_clustering import load_digits
>>> config = DeepClusteringConfig(pretrain_epochs=2, dec_epochs=2)
>>> digits = load_digits()
>>> result = evaluate(train(config, digits), digits)  # doctest: +SKIP
>>> result.ari  # doctest: +SKIP
{'raw': 0.67, 'autoencoder': 0.69, 'dec': 0.71}
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from torch import nn

from engine.deep_clustering.autoencoder import Autoencoder, AutoencoderConfig, embed, pretrain
from engine.deep_clustering.dec import DEC, DECEpoch, DECHistory, kmeans_centres, refine
from engine.deep_clustering.digits import Digits
from engine.kmeans import KMeans

__all__ = [
    "MAX_DEC_EPOCHS",
    "MAX_PRETRAIN_EPOCHS",
    "SPACES",
    "ClusteringView",
    "DeepClusteringConfig",
    "DeepClusteringResult",
    "TrainedModels",
    "evaluate",
    "train",
]

MAX_PRETRAIN_EPOCHS, MAX_DEC_EPOCHS = 2_000, 1_000
"""Most epochs one training may take (a few minutes on one core): a served Lab trains for
anyone who presses a button."""

#: The three clusterings, by the space K-means (or DEC) worked in.
SPACES = {"raw": "K-means on raw pixels", "autoencoder": "Autoencoder + K-means", "dec": "DEC"}


@dataclass(frozen=True)
class DeepClusteringConfig:
    """Every setting of the study.

    Attributes
    ----------
    n_clusters : int
    hidden : tuple of int
        Hidden widths of the encoder (the decoder mirrors them).
    n_embedding : int
        Width of the embedding (the paper's 10).
    noise : float
        Share of input pixels dropped while pretraining (a denoising autoencoder, as the
        paper pretrains).
    pretrain_epochs, pretrain_batch : int
        Adam, learning rate 1e-3, on the reconstruction error.
    dec_epochs : int
        At most this many epochs of KL refinement (SGD 0.01, momentum 0.9, batch 256).
    update_every : int
        Epochs between updates of DEC's target distribution.
    tol : float
        Refinement stops once fewer than this share of images change cluster in an epoch.
    seed : int
        Seeds the weights, the shuffles and every K-means.
    """

    n_clusters: int = 10
    hidden: tuple[int, ...] = (128, 64)
    n_embedding: int = 10
    noise: float = 0.2
    pretrain_epochs: int = 300
    pretrain_batch: int = 64
    dec_epochs: int = 300
    update_every: int = 20
    tol: float = 0.001
    seed: int = 0

    @property
    def autoencoder(self) -> AutoencoderConfig:
        return AutoencoderConfig(n_inputs=64, hidden=self.hidden, n_embedding=self.n_embedding)


@dataclass(frozen=True, eq=False)
class TrainedModels:
    """What training produces: the pretrained encoder, DEC, and how they got there."""

    config: DeepClusteringConfig
    pretrained: nn.Module  # the encoder after pretraining, before DEC changed it
    dec: DEC
    pretrain_losses: tuple[float, ...]
    history: DECHistory


class _Denoising(nn.Module):
    """The autoencoder fed inputs with a share of pixels dropped (training only)."""

    def __init__(self, autoencoder: Autoencoder, noise: float):
        super().__init__()
        self.autoencoder, self.drop = autoencoder, nn.Dropout(noise)

    def forward(self, x):
        return self.autoencoder(self.drop(x))


def train(
    config: DeepClusteringConfig,
    digits: Digits,
    *,
    on_pretrain: Callable[[int, int, float], None] | None = None,
    on_refine: Callable[[DECEpoch, int], None] | None = None,
) -> TrainedModels:
    """Pretrain, initialise DEC by K-means in the embedding, refine. Deterministic per seed.

    ``on_pretrain(epoch, epochs, loss)`` and ``on_refine(epoch_record, epochs)`` report
    progress. Raises ValueError if an epoch count is not from 1 to its ``MAX_*_EPOCHS``.
    """
    for name, most in (("pretrain_epochs", MAX_PRETRAIN_EPOCHS), ("dec_epochs", MAX_DEC_EPOCHS)):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise ValueError(f"{name} = {value!r} must be a whole number from 1 to {most:,}.")
    with torch.random.fork_rng():  # the seed decides the weights and the dropped pixels
        torch.manual_seed(config.seed)
        autoencoder = Autoencoder(config.autoencoder)
        losses = pretrain(_Denoising(autoencoder, config.noise), digits.pixels,
                          epochs=config.pretrain_epochs, batch_size=config.pretrain_batch,
                          seed=config.seed, callback=on_pretrain)  # fmt: skip
    autoencoder.eval()
    centres, _ = kmeans_centres(embed(autoencoder.encoder, digits.pixels), config.n_clusters,
                                seed=config.seed)  # fmt: skip
    dec = DEC(copy.deepcopy(autoencoder.encoder), centres)
    history = refine(dec, digits.pixels, epochs=config.dec_epochs, tol=config.tol,
                     update_every=config.update_every, seed=config.seed, target=digits.target,
                     callback=on_refine)  # fmt: skip
    return TrainedModels(config, autoencoder.encoder, dec.eval(), tuple(losses), history)


@dataclass(frozen=True, eq=False)
class ClusteringView:
    """One of the three clusterings, as the page shows it.

    Attributes
    ----------
    labels : ndarray of int, shape (n,)
    points : ndarray of shape (n, p)
        The space it clustered in: pixels (64) or an embedding.
    centres : ndarray of shape (C, p)
    plane : ndarray of shape (n, 2)
        ``points`` projected on their two principal components.
    ari : float
        Adjusted Rand index against the true digits.
    """

    labels: npt.NDArray[np.int64]
    points: npt.NDArray[np.float64]
    centres: npt.NDArray[np.float64]
    plane: npt.NDArray[np.float64]
    ari: float

    def cluster_order(self, target: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Clusters ordered by the digit each matches best (one-to-one where possible)."""
        table = self.contingency(target)
        rows, cols = linear_sum_assignment(-table)  # the matching with most agreement
        digit = np.full(len(table), table.shape[1], dtype=float)
        digit[rows] = cols
        unmatched = np.setdiff1d(np.arange(len(table)), rows)
        digit[unmatched] = table[unmatched].argmax(axis=1) + 0.5  # after their majority digit
        return np.argsort(digit, kind="stable")

    def contingency(self, target: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """(C, 10) count of images of each digit in each cluster."""
        table = np.zeros((len(self.centres), 10), dtype=np.int64)
        np.add.at(table, (self.labels, np.asarray(target)), 1)
        return table

    def examples(self, n: int = 6) -> list[npt.NDArray[np.intp]]:
        """For each cluster, up to ``n`` members nearest its centre (most typical first)."""
        out = []
        for c, centre in enumerate(self.centres):
            members = np.flatnonzero(self.labels == c)
            distance = ((self.points[members] - centre) ** 2).sum(axis=1)
            out.append(members[np.argsort(distance, kind="stable")[:n]])
        return out


@dataclass(frozen=True, eq=False)
class DeepClusteringResult:
    """The three clusterings of the digits, and how DEC was trained.

    Attributes
    ----------
    views : dict of str → ClusteringView
        Keys ``"raw"``, ``"autoencoder"``, ``"dec"`` (see :data:`SPACES`).
    pretrain_losses : tuple of float
    history : DECHistory
    config : DeepClusteringConfig
    """

    views: dict[str, ClusteringView]
    pretrain_losses: tuple[float, ...]
    history: DECHistory
    config: DeepClusteringConfig

    @property
    def ari(self) -> dict[str, float]:
        return {name: view.ari for name, view in self.views.items()}


def _view(labels, points, centres, target) -> ClusteringView:
    plane = PCA(n_components=2, svd_solver="full").fit_transform(points)
    return ClusteringView(labels=labels, points=points, centres=np.asarray(centres, float),
                          plane=plane, ari=float(adjusted_rand_score(target, labels)))  # fmt: skip


def evaluate(models: TrainedModels, digits: Digits) -> DeepClusteringResult:
    """All three clusterings of ``digits`` and their ARI against the true digits."""
    config = models.config
    pixels = np.asarray(digits.pixels, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        raw = KMeans(config.n_clusters, n_init=10, random_state=config.seed).fit(pixels)
    ae_points = embed(models.pretrained, digits.pixels)
    ae_centres, ae_labels = kmeans_centres(ae_points, config.n_clusters, seed=config.seed)
    dec_points = embed(models.dec.encoder, digits.pixels)
    target = digits.target
    views = {
        "raw": _view(raw.labels_.astype(np.int64), pixels, raw.cluster_centers_, target),
        "autoencoder": _view(ae_labels, ae_points, ae_centres, target),
        "dec": _view(models.dec.predict(digits.pixels), dec_points,
                     models.dec.centres.detach().double().numpy(), target),
    }  # fmt: skip
    return DeepClusteringResult(views, models.pretrain_losses, models.history, config)
