"""Pictures of data with more than two features: PCA, and t-SNE as it optimises.

PCA is scikit-learn's; its explained-variance ratios say how much of the spread the
picture keeps. t-SNE is openTSNE's: its public ``TSNEEmbedding.optimize`` resumes from
where it stopped and calls back every few iterations, so the layout can be recorded as it
unfolds (early exaggeration, then the free phase) in one run. scikit-learn's ``TSNE`` has
neither (a snapshot would mean rerunning from the start), and was not faster here: the
measurements are in the README and ``bench/clustering.py --tsne``.

What t-SNE pictures do not mean, shown next to every one of them: cluster sizes and the
distances between clusters are not preserved; a different perplexity or seed gives a
different picture; apparent clusters can appear in structureless data.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.decomposition import PCA

Array = npt.NDArray[np.float64]

TSNE_CAVEATS = (
    "Cluster sizes in a t-SNE picture mean nothing: t-SNE expands dense groups and shrinks "
    "sparse ones.",
    "Distances between clusters mean little: only who is near whom, locally, is kept.",
    "Another perplexity or seed gives another picture; and t-SNE can draw clumps in data "
    "that has no clusters at all (try the structureless data set).",
)
TSNE_MAX_POINTS = 2_000
"""Above this many points t-SNE runs on a random sample of this size (it is O(n log n) per
iteration with a large constant; the page states the sample)."""


@dataclass(frozen=True)
class PcaView:
    """The data projected on its first two principal components.

    Attributes
    ----------
    points : ndarray of shape (n, 2)
    explained_variance_ratio : ndarray of shape (n_components,)
        Share of the total variance along each component (up to 10 components).
    components : ndarray of shape (2, d)
        The two directions, for the axis titles ("0.7·x1 + 0.7·x2").
    """

    points: Array
    explained_variance_ratio: Array
    components: Array


@dataclass(frozen=True)
class TsneRun:
    """A t-SNE optimisation, recorded.

    Attributes
    ----------
    perplexity : float
    rows : ndarray of shape (m,)
        Rows of X that were embedded (all, or a random sample).
    iterations : tuple of int
        Iteration count at each snapshot (0 = the PCA start).
    snapshots : tuple of ndarray of shape (m, 2)
    kl_divergence : tuple of float
        KL(P ‖ Q) at each snapshot (NaN at the start); with exaggeration on, openTSNE
        reports it for the exaggerated P.
    exaggeration_iterations : int
        Iterations of the early-exaggeration phase.
    """

    perplexity: float
    rows: npt.NDArray[np.intp]
    iterations: tuple[int, ...]
    snapshots: tuple[Array, ...]
    kl_divergence: tuple[float, ...]
    exaggeration_iterations: int

    @property
    def embedding(self) -> Array:
        return self.snapshots[-1]


def pca_view(X: npt.ArrayLike) -> PcaView:
    """The first two principal components of ``X`` (centred; scaled as given)."""
    X = np.asarray(X, dtype=np.float64)
    n_components = min(10, *X.shape)
    pca = PCA(n_components=n_components, random_state=0).fit(X)
    points = pca.transform(X)[:, :2]
    if points.shape[1] == 1:  # one feature: the second axis is zero
        points = np.column_stack([points, np.zeros(len(points))])
    components = pca.components_[:2]
    return PcaView(points, pca.explained_variance_ratio_, components)


def tsne_run(
    X: npt.ArrayLike,
    perplexity: float = 30.0,
    *,
    exaggeration_iterations: int = 250,
    iterations: int = 500,
    snapshot_every: int = 25,
    random_state: int = 0,
    max_points: int = TSNE_MAX_POINTS,
    on_progress: Callable[[float], None] | None = None,
) -> TsneRun:
    """Run t-SNE (openTSNE, Barnes-Hut) from a PCA start and keep the layout as it unfolds.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    perplexity : float, default=30
        Roughly the number of neighbours each point keeps close; 1 < perplexity < n / 3.
    exaggeration_iterations, iterations : int, default=250, 500
        Iterations with early exaggeration (12), then without.
    snapshot_every : int, default=25
    random_state : int, default=0
    max_points : int, default=TSNE_MAX_POINTS
        Above it, a random sample of this size is embedded.
    on_progress : callable or None
        Called with the fraction done after each snapshot.

    Returns
    -------
    TsneRun

    Raises
    ------
    ValueError
        If the perplexity is out of range for the number of points.
    """
    from openTSNE import TSNEEmbedding, affinity, initialization  # heavy: load on first use

    X = np.asarray(X, dtype=np.float64)
    rng = np.random.default_rng(random_state)
    rows = np.arange(len(X))
    if len(X) > max_points:
        rows = np.sort(rng.choice(len(X), size=max_points, replace=False))
    sample = X[rows]
    check_perplexity(perplexity, len(sample))

    snapshots = [initialization.pca(sample, random_state=random_state)]
    steps, kl = [0], [float("nan")]
    total = exaggeration_iterations + iterations

    def record(offset: int) -> Callable[[int, float, Array], bool]:
        def callback(iteration: int, error: float, embedding: Array) -> bool:
            steps.append(offset + iteration)
            kl.append(float(error))
            snapshots.append(np.array(embedding, dtype=np.float64))
            if on_progress is not None:
                on_progress(min(1.0, (offset + iteration) / total))
            return False  # never stop early

        return callback

    P = affinity.PerplexityBasedNN(
        sample, perplexity=perplexity, method="exact" if len(sample) < 1000 else "annoy",
        n_jobs=1, random_state=random_state, verbose=False,
    )  # fmt: skip
    embedding = TSNEEmbedding(snapshots[0], P, negative_gradient_method="bh", n_jobs=1,
                              random_state=random_state, verbose=False)  # fmt: skip
    common = dict(callbacks_every_iters=snapshot_every, n_jobs=1)
    if exaggeration_iterations:
        embedding = embedding.optimize(exaggeration_iterations, exaggeration=12, momentum=0.5,
                                       callbacks=record(0), **common)  # fmt: skip
    embedding = embedding.optimize(iterations, momentum=0.8,
                                   callbacks=record(exaggeration_iterations), **common)  # fmt: skip
    if steps[-1] != total:  # the last iterations fell between callbacks
        steps.append(total)
        kl.append(float(embedding.kl_divergence))
        snapshots.append(np.array(embedding, dtype=np.float64))
    return TsneRun(float(perplexity), rows, tuple(steps), tuple(snapshots), tuple(kl),
                   exaggeration_iterations)  # fmt: skip


def check_perplexity(perplexity: object, n_samples: int) -> None:
    high = (n_samples - 1) / 3
    if isinstance(perplexity, bool) or not isinstance(perplexity, numbers.Real) or not (
        1 < perplexity <= high
    ):
        raise ValueError(
            f"perplexity = {perplexity!r} must be between 1 and (points − 1) / 3 = {high:.1f} "
            f"for {n_samples:,} points: each point needs about 3 × perplexity neighbours."
        )
