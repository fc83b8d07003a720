"""Studies around one fit: how K, the start and the implementation change the result.

:func:`elbow_sweep` fits K = 1..k_max and scores each (final J and silhouette), to choose
K; :func:`restart_study` runs many seeds of each initialisation and :func:`distinct_minima`
groups the local minima they end in; :func:`cross_check` runs scikit-learn's
``KMeans(algorithm="lloyd")`` from the same start and compares; :func:`adjusted_rand`
scores a clustering against true labels. Studies run on a sample of at most
``STUDY_MAX_POINTS`` rows and report progress through an optional callback.

Pure numpy, pandas and scikit-learn (the oracle); never streamlit or plotly.

Examples
--------
>>> from engine.data import make_dataset
>>> sweep = elbow_sweep(make_dataset("blobs").X, 6)
>>> int(sweep.loc[sweep["silhouette"].idxmax(), "K"])
4
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from engine.kmeans import lloyd
from engine.kmeans.estimator import KMeans
from engine.kmeans.history import KMeansRun
from engine.kmeans.plane import display_sample

__all__ = [
    "STUDY_MAX_POINTS",
    "CrossCheck",
    "adjusted_rand",
    "cross_check",
    "distinct_minima",
    "elbow_sweep",
    "restart_study",
]

STUDY_MAX_POINTS = 50_000
"""Elbow, silhouette and restart studies run on a sample of at most this many points."""

Progress = Callable[[float, str], None]


def _study_rows(X: npt.NDArray, random_state: int) -> npt.NDArray[np.float64]:
    return np.ascontiguousarray(X[display_sample(len(X), STUDY_MAX_POINTS, random_state)])


def elbow_sweep(
    X: npt.ArrayLike,
    k_max: int,
    *,
    init: str = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    random_state: int = 0,
    silhouette_sample: int = 2_000,
    on_progress: Progress | None = None,
) -> pd.DataFrame:
    """Final J and silhouette score for K = 1..k_max (silhouette needs 2 <= K < n).

    Runs on a sample of at most ``STUDY_MAX_POINTS`` rows; silhouette on at most
    ``silhouette_sample`` of those (it is quadratic in the number of points).
    """
    Xs = _study_rows(np.asarray(X, dtype=np.float64), random_state)
    k_max = int(min(k_max, len(Xs)))
    rows = []
    for k in range(1, k_max + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            km = KMeans(
                n_clusters=k, init=init, n_init=n_init, max_iter=max_iter, tol=tol,
                random_state=random_state,
            ).fit(Xs)
        n_labels = len(np.unique(km.labels_))
        silhouette = np.nan
        if 2 <= n_labels < len(Xs):
            silhouette = float(
                silhouette_score(
                    Xs, km.labels_, sample_size=min(silhouette_sample, len(Xs)),
                    random_state=random_state,
                )
            )
        rows.append({"K": k, "J": float(km.inertia_), "silhouette": silhouette})
        if on_progress:
            on_progress(k / k_max, f"K = {k} of {k_max}")
    return pd.DataFrame(rows)


def restart_study(
    X: npt.ArrayLike,
    n_clusters: int,
    n_seeds: int,
    *,
    inits: tuple[str, ...] = ("random", "k-means++"),
    max_iter: int = 300,
    tol: float = 1e-4,
    on_progress: Progress | None = None,
) -> pd.DataFrame:
    """Final J of one run per seed 0..n_seeds-1 for each init: how often each finds the best.

    Runs on a sample of at most ``STUDY_MAX_POINTS`` rows.
    """
    Xs = _study_rows(np.asarray(X, dtype=np.float64), 0)
    rows, total, done = [], n_seeds * len(inits), 0
    for init in inits:
        for seed in range(n_seeds):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                km = KMeans(
                    n_clusters=n_clusters, init=init, n_init=1, max_iter=max_iter, tol=tol,
                    random_state=seed,
                ).fit(Xs)
            rows.append(
                {"init": init, "seed": seed, "J": float(km.inertia_), "iterations": km.n_iter_}
            )
            done += 1
            if on_progress:
                on_progress(done / total, f"{init}, seed {seed}")
    return pd.DataFrame(rows)


def distinct_minima(study: pd.DataFrame, rtol: float = 1e-6) -> pd.DataFrame:
    """The distinct final J values of a restart study (equal within ``rtol``), with counts.

    Returns one row per (init, minimum): ``init``, ``J``, ``runs`` (how many seeds ended
    there) and ``best`` (whether it is the lowest J over the whole study).
    """
    lowest = study["J"].min()
    rows = []
    for init, group in study.groupby("init", sort=False):
        values = np.sort(group["J"].to_numpy())
        start = 0
        for i in range(1, len(values) + 1):
            if i == len(values) or values[i] > values[start] * (1 + rtol) + 1e-300:
                rows.append({"init": init, "J": float(values[start]), "runs": i - start})
                start = i
    out = pd.DataFrame(rows, columns=["init", "J", "runs"])
    out["best"] = np.isclose(out["J"], lowest, rtol=rtol, atol=0)
    return out


@dataclass(frozen=True)
class CrossCheck:
    """The engine's run against scikit-learn's from the same initial centroids."""

    engine_inertia: float
    sklearn_inertia: float
    engine_n_iter: int
    sklearn_n_iter: int
    max_center_difference: float
    label_agreement: float

    @property
    def relative_inertia_difference(self) -> float:
        return abs(self.engine_inertia - self.sklearn_inertia) / max(self.sklearn_inertia, 1e-300)


def cross_check(X: npt.ArrayLike, run: KMeansRun, *, max_iter: int, tol: float) -> CrossCheck:
    """Run ``sklearn.cluster.KMeans(algorithm="lloyd")`` from ``run.init_centers`` and compare.

    ``tol`` is the user's tolerance (scikit-learn scales it by the data's variance, as the
    engine does).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SklearnKMeans(
            n_clusters=len(run.init_centers), init=run.init_centers, n_init=1,
            max_iter=max_iter, tol=tol, algorithm="lloyd",
        ).fit(X)
    labels = lloyd.assign(X, np.asarray(run.centers, dtype=np.float64))
    return CrossCheck(
        engine_inertia=float(run.inertia),
        sklearn_inertia=float(ref.inertia_),
        engine_n_iter=int(run.n_iter),
        sklearn_n_iter=int(ref.n_iter_),
        max_center_difference=float(np.abs(run.centers - ref.cluster_centers_).max()),
        label_agreement=float((labels == ref.labels_).mean()),
    )


def adjusted_rand(labels_true: npt.ArrayLike | None, labels_pred: npt.ArrayLike) -> float | None:
    """Adjusted Rand index of clusters against true labels (None without true labels).

    The same number as ``sklearn.metrics.adjusted_rand_score``, from a dense contingency
    table counted with ``np.bincount``: for a million points that is a few milliseconds
    where scikit-learn's general (sparse, any label type) path takes a quarter second.
    Falls back to scikit-learn for labels that are not small non-negative integers.
    """
    if labels_true is None:
        return None
    true, pred = np.asarray(labels_true).ravel(), np.asarray(labels_pred).ravel()
    small = all(
        a.dtype.kind in "iu" and a.size and a.min() >= 0 and a.max() < 4_096 for a in (true, pred)
    )
    if not small or len(true) != len(pred):
        return float(adjusted_rand_score(true, pred))
    n_pred = int(pred.max()) + 1
    contingency = np.bincount(true.astype(np.int64) * n_pred + pred, minlength=(
        int(true.max()) + 1) * n_pred).reshape(-1, n_pred)  # (true groups, clusters)
    # Pairs of points counted by whether they share a true group and share a cluster,
    # as in sklearn.metrics.cluster.pair_confusion_matrix (Python ints: no overflow).
    n = len(true)
    sum_squares = int((contingency.astype(np.int64) ** 2).sum())
    in_true = contingency.sum(axis=1).astype(np.int64)  # (true groups,)
    in_pred = contingency.sum(axis=0).astype(np.int64)  # (clusters,)
    tp = sum_squares - n
    fp = int((contingency @ in_pred).sum()) - sum_squares
    fn = int((contingency.T @ in_true).sum()) - sum_squares
    tn = n * n - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))
