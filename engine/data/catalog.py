"""Data sets the Lab ships: generated shapes and scikit-learn's bundled sample tables.

The shapes are chosen to show where K-means works and where it fails (round blobs, moons,
rings, stretched and unequal blobs, overlapping Gaussians, uniform noise with no structure at
all); each comes with a note saying why.
:data:`GENERATED` and :data:`SAMPLES` describe what is on offer (so a page can show only the
controls a shape uses); :func:`make_dataset` and :func:`load_sample` return a
:class:`~engine.data.dataset.Dataset`. Pure numpy and scikit-learn; never streamlit or plotly.

Examples
--------
>>> ds = make_dataset("blobs")
>>> ds.X.shape, ds.suggested_k
((300, 2), 4)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from sklearn import datasets as skdatasets
from sklearn.utils import check_random_state

from engine._checks import check_float, check_int
from engine.data.dataset import MAX_COLUMNS, MAX_ROWS, Dataset

__all__ = ["GENERATED", "SAMPLES", "DatasetInfo", "load_sample", "make_dataset"]


@dataclass(frozen=True)
class DatasetInfo:
    """What the page needs to offer a data set before making it.

    Attributes
    ----------
    name : str
        Registry key.
    title : str
        Short human name.
    description : str
        One sentence on the data.
    kmeans_note : str
        Why K-means does well or struggles on it.
    parameters : tuple of str
        The keyword arguments of :func:`make_dataset` this kind uses (empty for samples), so the
        page shows only the controls that matter.
    """

    name: str
    title: str
    description: str
    kmeans_note: str
    parameters: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Generated data
# --------------------------------------------------------------------------------------------

# The stretch of scikit-learn's "Demonstration of k-means assumptions" example.
_ANISOTROPIC_TRANSFORM = np.array([[0.6, -0.6], [-0.4, 0.8]])
# Relative spread and relative size of the groups of the "varied" shape, cycled over centers.
_VARIED_STD_FACTORS = (1.0, 4.0, 0.5, 2.0)
_VARIED_SIZE_WEIGHTS = (8.0, 4.0, 2.0, 1.0)
# Three groups whose 1σ regions overlap: fixed centres and spreads, so only the seed varies.
_OVERLAPPING_CENTERS = ((0.0, 0.0), (2.2, 0.4), (1.0, 2.0))
_OVERLAPPING_STDS = (1.0, 0.8, 0.9)

GENERATED: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "blobs": DatasetInfo(
            "blobs",
            "Blobs",
            "Round Gaussian groups of equal spread (scikit-learn's make_blobs).",
            "Round, equally spread, well separated groups: the case K-means is built for.",
            ("n_samples", "n_features", "centers", "cluster_std", "random_state"),
        ),
        "moons": DatasetInfo(
            "moons",
            "Two moons",
            "Two interleaving half circles in the plane.",
            "K-means cuts with straight boundaries between centroids, so it slices each moon in "
            "two instead of following the curves.",
            ("n_samples", "noise", "random_state"),
        ),
        "circles": DatasetInfo(
            "circles",
            "Concentric circles",
            "A small circle inside a large one.",
            "Both rings share the same centre, so no placement of centroids separates them: "
            "K-means splits the plane into halves or wedges instead.",
            ("n_samples", "noise", "random_state"),
        ),
        "anisotropic": DatasetInfo(
            "anisotropic",
            "Stretched blobs",
            "Blobs sheared by a fixed linear map into long, tilted ellipses.",
            "K-means measures plain Euclidean distance, so it prefers round groups and cuts "
            "across the long axis of stretched ones.",
            ("n_samples", "n_features", "centers", "cluster_std", "random_state"),
        ),
        "varied": DatasetInfo(
            "varied",
            "Unequal blobs",
            "Blobs of very different spread and size.",
            "K-means places boundaries halfway between centroids, so a wide group loses its "
            "outer points to a tight neighbour, and a big group can take two centroids.",
            ("n_samples", "n_features", "centers", "cluster_std", "random_state"),
        ),
        "overlapping": DatasetInfo(
            "overlapping",
            "Overlapping Gaussians",
            "Three round Gaussian groups in the plane whose 1σ regions overlap.",
            "Points in the overlap are as close to another group's centre as to their own, so "
            "no hard boundary recovers the groups: K-means (and every method) mislabels them; "
            "a Gaussian mixture at least says how unsure it is.",
            ("n_samples", "random_state"),
        ),
        "uniform": DatasetInfo(
            "uniform",
            "Uniform noise",
            "Points spread evenly over a square (or cube): no groups at all.",
            "There are no clusters, yet K-means always returns K of them: a low J does not "
            "prove the groups are real.",
            ("n_samples", "n_features", "random_state"),
        ),
    }
)


def make_dataset(
    kind: str = "blobs",
    *,
    n_samples: int = 300,
    n_features: int = 2,
    centers: int = 4,
    cluster_std: float = 0.60,
    noise: float = 0.05,
    random_state: int | None = 0,
) -> Dataset:
    """Generate a synthetic data set that shows where K-means works and where it fails.

    Parameters
    ----------
    kind : {"blobs", "moons", "circles", "anisotropic", "varied", "overlapping", "uniform"}
        The shape; ``GENERATED[kind]`` describes it and lists the parameters it uses.
    n_samples : int, default=300
        Number of points, 1 to ``MAX_ROWS``.
    n_features : int, default=2
        Dimensions (blobs, anisotropic, varied, uniform); moons, circles and overlapping
        Gaussians are always 2-D.
    centers : int, default=4
        Number of groups (blobs, anisotropic, varied); also ``suggested_k`` for uniform noise.
    cluster_std : float, default=0.60
        Standard deviation of each blob (for "varied", the base that each group scales).
    noise : float, default=0.05
        Standard deviation of Gaussian noise added to moons and circles.
    random_state : int or None, default=0
        Seed; the same seed gives the same data.

    Returns
    -------
    Dataset
        With true labels (``None`` for uniform noise) and a note on K-means for this shape.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or a parameter is out of range (the message names it).

    Examples
    --------
    The default is exactly ``make_blobs(n_samples=300, centers=4, cluster_std=0.60,
    random_state=0)``:

    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    >>> ds = make_dataset("blobs")
    >>> bool((ds.X == X).all() and (ds.labels == y).all())
    True
    """
    if kind not in GENERATED:
        raise ValueError(f"kind={kind!r} is not one of {sorted(GENERATED)}.")
    check_int("n_samples", n_samples, 1, MAX_ROWS)
    check_int("n_features", n_features, 1, MAX_COLUMNS)
    check_int("centers", centers, 1, 1000)
    check_float("cluster_std", cluster_std, 0.0)
    check_float("noise", noise, 0.0)

    if kind == "blobs":
        X, y = skdatasets.make_blobs(
            n_samples=n_samples,
            n_features=n_features,
            centers=centers,
            cluster_std=cluster_std,
            random_state=random_state,
        )
    elif kind == "moons":
        X, y = skdatasets.make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    elif kind == "circles":
        X, y = skdatasets.make_circles(
            n_samples=n_samples, noise=noise, factor=0.5, random_state=random_state
        )
    elif kind == "anisotropic":
        X, y = skdatasets.make_blobs(
            n_samples=n_samples,
            n_features=n_features,
            centers=centers,
            cluster_std=cluster_std,
            random_state=random_state,
        )
        if n_features >= 2:  # shear the first two axes; 1-D data has nothing to stretch
            X[:, :2] = X[:, :2] @ _ANISOTROPIC_TRANSFORM
    elif kind == "varied":
        if n_samples < centers:
            raise ValueError(f"n_samples={n_samples} should be >= centers={centers}.")
        weights = np.resize(np.array(_VARIED_SIZE_WEIGHTS), centers)
        sizes = np.maximum(1, np.floor(n_samples * weights / weights.sum())).astype(int)
        sizes[0] += n_samples - sizes.sum()
        stds = cluster_std * np.resize(np.array(_VARIED_STD_FACTORS), centers)
        X, y = skdatasets.make_blobs(
            n_samples=sizes.tolist(),
            n_features=n_features,
            centers=None,
            cluster_std=stds.tolist(),
            random_state=random_state,
        )
    elif kind == "overlapping":
        X, y = skdatasets.make_blobs(
            n_samples=n_samples,
            centers=np.array(_OVERLAPPING_CENTERS),
            cluster_std=list(_OVERLAPPING_STDS),
            random_state=random_state,
        )
    else:  # uniform
        rng = check_random_state(random_state)
        X, y = rng.uniform(-10.0, 10.0, size=(n_samples, n_features)), None

    info = GENERATED[kind]
    n_groups = {"moons": 2, "circles": 2, "overlapping": len(_OVERLAPPING_CENTERS)}.get(
        kind, centers
    )
    return Dataset(
        name=kind,
        title=info.title,
        description=info.description,
        X=np.ascontiguousarray(X, dtype=np.float64),
        feature_names=tuple(f"x{j + 1}" for j in range(X.shape[1])),
        labels=None if y is None else np.asarray(y, dtype=np.int64),
        label_names=None if y is None else tuple(f"group {g}" for g in range(n_groups)),
        kmeans_note=info.kmeans_note,
        suggested_k=n_groups,
        source="generated",
    )


# --------------------------------------------------------------------------------------------
# scikit-learn samples (bundled with the package: load_*, never fetch_*, so nothing downloads)
# --------------------------------------------------------------------------------------------

_SAMPLE_LOADERS: Mapping[str, Callable[[], object]] = MappingProxyType(
    {
        "iris": skdatasets.load_iris,
        "wine": skdatasets.load_wine,
        "breast_cancer": skdatasets.load_breast_cancer,
        "digits": skdatasets.load_digits,
    }
)

SAMPLES: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "iris": DatasetInfo(
            "iris",
            "Iris flowers",
            "150 flowers, 4 measurements in cm, 3 species.",
            "Setosa stands apart; versicolor and virginica overlap, so K-means mixes them.",
        ),
        "wine": DatasetInfo(
            "wine",
            "Wines",
            "178 wines, 13 chemical measurements, 3 cultivars.",
            "The features have very different scales (proline is in the hundreds), so without "
            "standardising K-means clusters on proline alone.",
        ),
        "breast_cancer": DatasetInfo(
            "breast_cancer",
            "Breast cancer",
            "569 tumour samples, 30 measurements of cell nuclei, benign or malignant.",
            "Two overlapping classes in 30 dimensions on very different scales: standardise "
            "first, and expect the clusters to match the diagnosis only roughly.",
        ),
        "digits": DatasetInfo(
            "digits",
            "Handwritten digits",
            "1,797 images of digits 0-9, 8x8 pixels (64 features, values 0-16).",
            "Ten groups in 64 dimensions: K-means finds some digits cleanly and confuses "
            "look-alikes such as 1, 7 and 9.",
        ),
    }
)


def load_sample(name: str) -> Dataset:
    """Load a real data set that ships inside scikit-learn (no download).

    Parameters
    ----------
    name : {"iris", "wine", "breast_cancer", "digits"}
        Key in ``SAMPLES``.

    Returns
    -------
    Dataset
        With the true classes as ``labels`` and their names as ``label_names``.

    Raises
    ------
    ValueError
        If ``name`` is not in ``SAMPLES``.

    Examples
    --------
    >>> iris = load_sample("iris")
    >>> iris.X.shape, iris.label_names
    ((150, 4), ('setosa', 'versicolor', 'virginica'))
    """
    if name not in _SAMPLE_LOADERS:
        raise ValueError(f"name={name!r} is not one of {sorted(_SAMPLE_LOADERS)}.")
    bunch = _SAMPLE_LOADERS[name]()
    info = SAMPLES[name]
    label_names = tuple(str(t) for t in bunch.target_names)
    return Dataset(
        name=name,
        title=info.title,
        description=info.description,
        X=np.ascontiguousarray(bunch.data, dtype=np.float64),
        feature_names=tuple(str(f) for f in bunch.feature_names),
        labels=np.asarray(bunch.target, dtype=np.int64),
        label_names=label_names,
        kmeans_note=info.kmeans_note,
        suggested_k=len(label_names),
        source="sample",
    )
