"""What the K-means page computes around a fit, without drawing it.

The estimator in :mod:`engine.kmeans` runs Lloyd's algorithm and records its history.
This module turns data and a history into the things a page shows: the plane the points
are drawn on (the two features, or a PCA projection), a bounded display sample, the state
of any half-step, the Voronoi regions, the per-iteration table, exports, and the studies
around one fit (elbow and silhouette, many restarts, a cross-check against scikit-learn).

Pure computation: numpy, pandas and scikit-learn, never streamlit or plotly. Nothing here
formats for display except column names of the tables meant to be shown or exported.

Examples
--------
>>> from engine.data import make_dataset
>>> from engine.kmeans import KMeans
>>> data = make_dataset("blobs")
>>> km = KMeans(n_clusters=4, random_state=0).fit(data.X)
>>> iteration_table(km.history_).shape[0] == km.n_iter_
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score

from engine.kmeans import lloyd
from engine.data import Dataset
from engine.kmeans.estimator import KMeans, KMeansRun

__all__ = [
    "ANIMATION_MAX_ITERATIONS",
    "ANIMATION_MAX_POINTS",
    "DISPLAY_MAX_POINTS",
    "CrossCheck",
    "HalfStep",
    "PlaneView",
    "VoronoiGrid",
    "adjusted_rand",
    "centroids_table",
    "cross_check",
    "display_sample",
    "distinct_minima",
    "elbow_sweep",
    "half_step",
    "half_steps",
    "history_table",
    "iteration_table",
    "labelled_rows",
    "make_plane_view",
    "padded_range",
    "plane_ranges",
    "restart_study",
    "voronoi_grid",
]

DISPLAY_MAX_POINTS = 20_000
"""Most points sent to the browser for a scatter; K-means itself always runs on all points."""

ANIMATION_MAX_POINTS = 1_500
"""Most points in the animated playback (Plotly animates SVG, which slows down beyond this)."""

ANIMATION_MAX_ITERATIONS = 60
"""Most iterations in the animated playback; the step-through slider covers all of them."""

STUDY_MAX_POINTS = 50_000
"""Elbow, silhouette and restart studies run on a sample of at most this many points."""

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------------------------
# Drawing n-D data on a plane, with a bounded sample
# --------------------------------------------------------------------------------------------


def display_sample(n_samples: int, max_points: int, random_state: int = 0) -> npt.NDArray[np.intp]:
    """Rows to draw: all of them, or a uniform random sample of ``max_points`` (sorted).

    Examples
    --------
    >>> display_sample(5, 10).tolist()
    [0, 1, 2, 3, 4]
    >>> len(display_sample(1_000_000, 20_000))
    20000
    """
    if n_samples <= max_points:
        return np.arange(n_samples)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_samples, size=max_points, replace=False))


@dataclass(frozen=True, eq=False)
class PlaneView:
    """How points are drawn on the plane: their two features, or a PCA projection.

    Attributes
    ----------
    index : ndarray of int
        Rows of X that are drawn (all, or a display sample), sorted.
    n_total : int
        Rows in X.
    mean, components : ndarray or None
        The PCA projection ``(A - mean) @ components.T`` (None: the first two features as is).
    explained : tuple of float or None
        Share of variance along each drawn axis (PCA only).
    axis_titles : tuple of str
        Titles of the two axes (user text: escape before drawing as HTML).
    n_features : int
        Features of the data.
    """

    index: npt.NDArray[np.intp]
    n_total: int
    mean: npt.NDArray[np.float64] | None
    components: npt.NDArray[np.float64] | None
    explained: tuple[float, float] | None
    axis_titles: tuple[str, str]
    n_features: int

    @property
    def sampled(self) -> bool:
        return len(self.index) < self.n_total

    @property
    def projected(self) -> bool:
        return self.components is not None

    def project(self, A: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Plane coordinates, shape (n, 2), of points or centroids of shape (n, n_features)."""
        A = np.asarray(A, dtype=np.float64)
        if self.components is not None:
            return (A - self.mean) @ self.components.T  # (n, 2)
        if A.shape[1] == 1:
            return np.column_stack([A[:, 0], np.zeros(len(A))])
        return A[:, :2].copy()

    def points(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Plane coordinates of the drawn rows of X."""
        return self.project(np.asarray(X)[self.index])


def make_plane_view(
    X: npt.ArrayLike,
    feature_names: tuple[str, ...],
    *,
    max_points: int = DISPLAY_MAX_POINTS,
    random_state: int = 0,
) -> PlaneView:
    """Choose the rows to draw and the plane to draw them on.

    Two features are drawn as they are; more are projected on their first two principal
    components (fitted on the display sample); one feature is drawn along x.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    index = display_sample(n, max_points, random_state)
    if d <= 2:
        titles = (feature_names[0], feature_names[1] if d == 2 else "")
        return PlaneView(index, n, None, None, None, titles, d)
    pca = PCA(n_components=2, random_state=random_state).fit(X[index])
    explained = tuple(float(v) for v in pca.explained_variance_ratio_)
    titles = tuple(f"PC{i + 1} ({explained[i]:.0%} of variance)" for i in range(2))
    return PlaneView(index, n, pca.mean_, pca.components_, explained, titles, d)


# --------------------------------------------------------------------------------------------
# The state of one half-step, for the rows drawn
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HalfStep:
    """What the picture looks like after one half-step of one iteration.

    Attributes
    ----------
    iteration : int
        1-based.
    half : {"assign", "update"}
        After the assignment (points join the nearest of ``centers``) or after the update
        (``centers`` moved to the means of the points that joined them).
    centers : ndarray of shape (n_clusters, n_features)
    labels : ndarray of int32
        Cluster of every drawn row in this iteration's assignment.
    distances : ndarray of shape (n_rows, n_clusters), float32
        Distance of every drawn row to every centroid in ``centers``.
    inertia : float
        J after this half-step (over all points).
    """

    iteration: int
    half: str
    centers: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int32]
    distances: npt.NDArray[np.float32]
    inertia: float


def half_step(
    run: KMeansRun, X: npt.ArrayLike, rows: npt.ArrayLike, iteration: int, half: str = "update"
) -> HalfStep:
    """The state after ``half`` of ``iteration`` (1-based) for ``rows`` of X.

    Labels come from re-assigning the rows to that iteration's starting centroids, so no
    per-iteration labels are stored (``KMeansRun.labels_at`` does the same for all rows).
    """
    if half not in ("assign", "update"):
        raise ValueError(f"half={half!r} should be 'assign' or 'update'.")
    if not 1 <= iteration <= len(run.iterations):
        raise ValueError(f"iteration={iteration} is outside 1..{len(run.iterations)}.")
    record = run.iterations[iteration - 1]
    points = np.ascontiguousarray(np.asarray(X)[np.asarray(rows)], dtype=np.float64)
    labels = lloyd.assign(points, np.asarray(record.centers_before, dtype=np.float64))
    if half == "assign":
        centers, inertia = record.centers_before, record.inertia_assign
    else:
        centers, inertia = record.centers_after, record.inertia_update
    centers = np.asarray(centers, dtype=np.float64)
    distances = np.sqrt(lloyd.squared_distances(points, centers)).astype(np.float32)
    return HalfStep(iteration, half, centers, labels, distances, float(inertia))


def half_steps(
    run: KMeansRun,
    X: npt.ArrayLike,
    rows: npt.ArrayLike,
    max_iterations: int = ANIMATION_MAX_ITERATIONS,
) -> list[HalfStep]:
    """Every half-step in order (assign 1, update 1, assign 2, ...), up to ``max_iterations``."""
    last = min(len(run.iterations), max_iterations)
    return [
        half_step(run, X, rows, t, half)
        for t in range(1, last + 1)
        for half in ("assign", "update")
    ]


@dataclass(frozen=True, eq=False)
class VoronoiGrid:
    """Nearest centroid at every node of a regular grid over the plane.

    Attributes
    ----------
    x : ndarray of shape (nx,)
    y : ndarray of shape (ny,)
    labels : ndarray of shape (ny, nx), int16
        Index of the nearest centroid (row = y, column = x, as a heatmap expects).
    """

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    labels: npt.NDArray[np.int16]


def voronoi_grid(
    centers: npt.ArrayLike,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    resolution: int = 160,
) -> VoronoiGrid:
    """The Voronoi regions of 2-D ``centers`` sampled on a ``resolution``² grid.

    Examples
    --------
    >>> g = voronoi_grid([[0.0, 0.0], [1.0, 0.0]], (-1, 2), (-1, 1), resolution=4)
    >>> g.labels[0].tolist()
    [0, 0, 1, 1]
    """
    centers = np.asarray(centers, dtype=np.float64)
    x = np.linspace(x_range[0], x_range[1], resolution)
    y = np.linspace(y_range[0], y_range[1], resolution)
    gx, gy = np.meshgrid(x, y)  # (ny, nx) each
    nodes = np.column_stack([gx.ravel(), gy.ravel()])  # (ny*nx, 2)
    nearest = lloyd.squared_distances(nodes, centers[:, :2]).argmin(axis=1)
    return VoronoiGrid(x, y, nearest.reshape(gx.shape).astype(np.int16))


def padded_range(values: npt.ArrayLike, pad: float = 0.05) -> tuple[float, float]:
    """(min, max) of values widened by ``pad`` of the span on each side (never empty)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    span = high - low or max(abs(low), 1.0)
    return low - pad * span, high + pad * span


def plane_ranges(
    points: npt.ArrayLike, aspect: float = 1.6, pad: float = 0.05
) -> tuple[tuple[float, float], tuple[float, float]]:
    """x and y ranges around 2-D points, the shorter one widened to a width/height ``aspect``.

    Drawn at equal scales, a Voronoi grid over these ranges fills a landscape plot.
    """
    points = np.asarray(points, dtype=np.float64)
    (x0, x1), (y0, y1) = padded_range(points[:, 0], pad), padded_range(points[:, 1], pad)
    width, height = x1 - x0, y1 - y0
    if width < aspect * height:
        extra = (aspect * height - width) / 2
        x0, x1 = x0 - extra, x1 + extra
    else:
        extra = (width / aspect - height) / 2
        y0, y1 = y0 - extra, y1 + extra
    return (x0, x1), (y0, y1)


# --------------------------------------------------------------------------------------------
# Tables: per iteration, for export
# --------------------------------------------------------------------------------------------


def iteration_table(run: KMeansRun) -> pd.DataFrame:
    """One row per Lloyd iteration: J after each half-step, ΔJ, shift, reassignments, empties.

    ΔJ is the change of J after the update from the previous iteration (from the first
    assignment for iteration 1). Cluster numbers are 1-based, as the page shows them.
    """
    its = run.iterations
    j_assign = np.array([it.inertia_assign for it in its])
    j_update = np.array([it.inertia_update for it in its])
    previous = np.concatenate([[j_assign[0]], j_update[:-1]]) if len(its) else j_update
    return pd.DataFrame(
        {
            "iteration": [it.iteration for it in its],
            "J after assignment": j_assign,
            "J after update": j_update,
            "ΔJ": j_update - previous,
            "centroid shift Σ‖Δμ‖²": [it.center_shift_total for it in its],
            "largest centroid move": [float(np.max(it.center_shift)) for it in its],
            "points reassigned": [it.n_changed for it in its],
            "empty clusters": [", ".join(str(k + 1) for k in it.empty_clusters) for it in its],
        }
    )


def history_table(run: KMeansRun, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """The whole history, one row per (iteration, cluster): J, size, shift and centroid moves."""
    rows = []
    for it in run.iterations:
        for k in range(len(it.counts)):
            row = {
                "iteration": it.iteration,
                "cluster": k + 1,
                "J after assignment": it.inertia_assign,
                "J after update": it.inertia_update,
                "points in cluster": int(it.counts[k]),
                "points reassigned": it.n_changed,
                "centroid shift": float(it.center_shift[k]),
                "was empty": k in it.empty_clusters,
            }
            for j, name in enumerate(feature_names):
                row[f"{name} before"] = float(it.centers_before[k, j])
            for j, name in enumerate(feature_names):
                row[f"{name} after"] = float(it.centers_after[k, j])
            rows.append(row)
    return pd.DataFrame(rows)


def labelled_rows(data: Dataset, labels: npt.ArrayLike) -> pd.DataFrame:
    """The original rows with their cluster (1-based) joined; dropped upload rows get none."""
    labels = np.asarray(labels)
    if data.table is not None:
        out = data.table.copy()
        cluster = pd.Series(pd.NA, index=out.index, dtype="Int64")
        cluster.loc[data.row_index] = labels + 1
        out["cluster"] = cluster
        return out
    out = pd.DataFrame(data.raw, columns=list(data.feature_names))
    if data.labels is not None:
        names = data.label_names or tuple(str(v) for v in np.unique(data.labels))
        out["true label"] = [names[v] for v in data.labels]
    out["cluster"] = labels + 1
    return out


def centroids_table(data: Dataset, centers: npt.ArrayLike, counts: npt.ArrayLike) -> pd.DataFrame:
    """Final centroids, one row per cluster; in original units too when data was standardised."""
    centers = np.asarray(centers, dtype=np.float64)
    out = pd.DataFrame({"cluster": np.arange(1, len(centers) + 1), "points": counts})
    for j, name in enumerate(data.feature_names):
        out[name] = centers[:, j]
    if data.standardization is not None:
        original = data.standardization.inverse_transform(centers)  # (n_clusters, n_features)
        for j, name in enumerate(data.feature_names):
            out[f"{name} (original units)"] = original[:, j]
    return out


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


# --------------------------------------------------------------------------------------------
# Studies around one fit
# --------------------------------------------------------------------------------------------


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
                    n_clusters=n_clusters, init=init, max_iter=max_iter, tol=tol,
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
