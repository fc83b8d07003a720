"""Drawing a fit on a plane: which points, which plane, and the picture after any half-step.

The page draws n-D data in 2-D. :func:`make_plane_view` chooses the rows to draw (all, or a
bounded random display sample: K-means itself always runs on every point) and the plane
(the two features as they are, or their first two principal components); :func:`half_step`
rebuilds the state after either half-step of any iteration from the recorded centroids;
:func:`voronoi_grid` samples the regions nearest each centroid, and :func:`plane_ranges`
gives axis ranges that fit the points at equal scales.

Pure numpy and scikit-learn (PCA); never streamlit or plotly.

Examples
--------
>>> from engine.data import make_dataset
>>> data = make_dataset("blobs")
>>> view = make_plane_view(data.X, data.feature_names)
>>> view.projected, view.points(data.X).shape
(False, (300, 2))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.decomposition import PCA

from engine.kmeans import lloyd
from engine.kmeans.history import KMeansRun

__all__ = [
    "ANIMATION_MAX_ITERATIONS",
    "ANIMATION_MAX_POINTS",
    "DISPLAY_MAX_POINTS",
    "HalfStep",
    "PlaneView",
    "VoronoiGrid",
    "display_sample",
    "half_step",
    "half_steps",
    "make_plane_view",
    "padded_range",
    "plane_ranges",
    "voronoi_grid",
]

DISPLAY_MAX_POINTS = 20_000
"""Most points sent to the browser for a scatter; K-means itself always runs on all points."""

ANIMATION_MAX_POINTS = 1_500
"""Most points in the animated playback (Plotly animates SVG, which slows down beyond this)."""

ANIMATION_MAX_ITERATIONS = 60
"""Most iterations in the animated playback; the step-through slider covers all of them."""


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
