"""The comparison grid: data sets × methods, each with a stated, data-driven default.

Every cell runs one library implementation (scikit-learn, scipy) with parameters chosen
from the data by a rule the page states, never tuned by hand per cell. A user override
replaces the rule for that cell. A cell whose parameters are invalid, or whose fit fails,
carries its own message; the other cells are unaffected.

Rows are :class:`~engine.data.Dataset` objects, whatever their source: the standard shapes
of :func:`grid_datasets` (all from ``engine.data``'s catalog) or a user's own data through
:func:`grid_row`, which samples it down to ``GRID_MAX_POINTS``.

Scores: the adjusted Rand index against the true groups when they are known (noise, -1,
counts as one more group), otherwise the silhouette of the clustered points (noise left
out) on a random sample of at most ``SCORE_MAX_POINTS``.

A method is a :class:`Method`: a ``choose`` rule (data → parameters and the sentence that
says why) and a ``fit`` (data, parameters → labels). ``METHODS`` holds this lab's; a page
adds others (the K-means lab's engine, as the first column) by building a Method.

One file, over 500 lines, because it is one job: the grid, its rows, and each method's
default rule beside its fit (a rule read away from its method explains nothing).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.cluster import DBSCAN, HDBSCAN, estimate_bandwidth
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from engine import data as data_io
from engine.clustering._birch import birch_steps
from engine.clustering._dbscan import check_eps, check_min_samples, k_distance
from engine.clustering._gaussian_mixture import COVARIANCE_TYPES
from engine.clustering._hdbscan import check_sizes
from engine.clustering._mean_shift import MeanShift as MeanShiftRecorder
from engine.data import DataError, Dataset

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]

K_RANGE = range(2, 9)
"""K tried by the silhouette rule (K-means, BIRCH's global step, Ward)."""
GMM_K_RANGE = range(1, 9)
"""K tried by the GMM's BIC rule, with each covariance type."""
SCORE_MAX_POINTS = 2_000
"""Silhouettes are computed on a random sample of at most this many points (O(n²))."""
WARD_MAX_POINTS = 5_000
"""Ward's method stores all n(n − 1)/2 distances: refused above this many points."""
K_SELECTION_POINTS = 1_000
"""The silhouette rule for K scores a random sample of at most this many points."""
GRID_SAMPLES = 1_500
"""Points per standard shape on the page by default."""
GRID_MAX_POINTS = 10_000
"""A row with more points is run on a random sample of this many (:func:`grid_row`)."""
GRID_MIN_POINTS = 3
"""Fewest points a row may have: a silhouette needs two clusters and more points than that."""
GRID_SHAPES = ("blobs", "moons", "circles", "anisotropic", "varied", "overlapping", "uniform")
"""The standard rows (``engine.data`` shapes): the K-means lab's, overlapping Gaussians, and
uniform noise, the structureless null set on which every cluster found is an artefact."""
BANDWIDTH_QUANTILE = 0.2
"""estimate_bandwidth's quantile (scikit-learn's default is 0.3, which merged the four blobs
into two; its cluster-comparison example uses 0.2 for several data sets)."""


@dataclass(frozen=True)
class Choice:
    """Parameters chosen from the data, and the sentence that says how."""

    params: Mapping[str, object]
    rule: str


@dataclass(frozen=True)
class Method:
    """A column of the grid.

    ``choose(X)`` gives the data-driven default; ``fit(X, params)`` returns labels (-1 =
    noise) and raises ``ValueError`` with a plain message for bad parameters.
    ``param_names`` lists what a user may override.
    """

    key: str
    name: str
    choose: Callable[[Array], Choice]
    fit: Callable[[Array, Mapping[str, object]], Ints]
    param_names: tuple[str, ...]
    cost: str = ""


@dataclass(frozen=True)
class Cell:
    """One method on one data set.

    Attributes
    ----------
    method, data : str
        Keys of the column and the row.
    params : mapping
        Parameters used (the rule's, with the user's overrides on top).
    rule : str
        How the default was chosen (and which parameters the user overrode).
    labels : ndarray of shape (n,) or None
        None when the cell failed; ``error`` says why.
    seconds : float
        Time of the fit alone (the default rule's time is in ``choose_seconds``).
    n_clusters : int
    noise_share : float
    ari, silhouette : float or None
    error : str or None
    notes : tuple of str
        Warnings the fit raised, and samples used for scores.
    """

    method: str
    data: str
    params: Mapping[str, object]
    rule: str
    labels: Ints | None
    seconds: float
    choose_seconds: float
    n_clusters: int = 0
    noise_share: float = 0.0
    ari: float | None = None
    silhouette: float | None = None
    error: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def score_text(self) -> str:
        if self.error is not None:
            return "failed"
        if self.ari is not None:
            return f"ARI {_two_places(self.ari)}"
        if self.silhouette is not None:
            return f"silh. {_two_places(self.silhouette)}"
        return "silh. —"


def _two_places(value: float) -> str:
    """``value`` to two decimals, never "-0.00": a score just below 0 rounds to plain 0."""
    return f"{round(value, 2) + 0.0:.2f}"  # + 0.0 turns round()'s -0.0 into 0.0


# ----------------------------------------------------------------------------- data


def grid_datasets(n_samples: int = GRID_SAMPLES, random_state: int = 0) -> tuple[Dataset, ...]:
    """The grid's standard rows: every shape of ``GRID_SHAPES``, ``n_samples`` points in 2-D.

    Each is ``engine.data.make_dataset(kind, n_samples=..., random_state=...)`` with the
    catalog's defaults otherwise, the same data the K-means lab generates.
    """
    return tuple(
        data_io.make_dataset(kind, n_samples=n_samples, random_state=random_state)
        for kind in GRID_SHAPES
    )


def grid_row(data: Dataset, max_points: int = GRID_MAX_POINTS) -> Dataset:
    """``data`` as a grid row: itself, or a random sample of ``max_points`` of its points.

    The sample keeps each point's true group and its row in the uploaded table, and says
    in its notes that it is a sample. Raises :class:`~engine.data.DataError` when there are
    fewer than ``GRID_MIN_POINTS`` points.
    """
    check_grid_data(data)
    n = data.n_samples
    if n <= max_points:
        return data
    keep = np.sort(np.random.default_rng(0).choice(n, size=max_points, replace=False))
    return replace(
        data,
        X=data.X[keep],
        raw=data.raw[keep],
        labels=None if data.labels is None else data.labels[keep],
        row_index=data.row_index[keep],
        notes=(*data.notes, f"The grid runs on a random sample of {max_points:,} of the "
                            f"{n:,} points."),
    )  # fmt: skip


def check_grid_data(data: Dataset) -> None:
    """Raise :class:`~engine.data.DataError` unless ``data`` has ``GRID_MIN_POINTS`` points."""
    if data.n_samples < GRID_MIN_POINTS:
        raise DataError(
            f"There are {data.n_samples:,} points: comparing clustering methods needs at "
            f"least {GRID_MIN_POINTS}. Use more rows, or columns with fewer missing values."
        )


# ----------------------------------------------------------------------------- rules


def silhouette_k(
    X: Array, labels_for_k: Callable[[int], Ints], ks: Sequence[int] = K_RANGE
) -> tuple[int, dict[int, float]]:
    """The K in ``ks`` whose clustering has the highest silhouette.

    ``labels_for_k(k)`` clusters the data into k groups. The silhouettes are computed on a
    random sample of at most ``K_SELECTION_POINTS``, from one distance matrix shared by
    every K. Returns the best K (the smaller on a tie) and every score.
    """
    rows = _score_rows(len(X), K_SELECTION_POINTS)
    distances = pairwise_distances(X[rows])  # (m, m), once for all K
    ks = [k for k in ks if k < len(X)] or [1]
    scores = {}
    for k in ks:
        sample = labels_for_k(k)[rows]
        scores[k] = (
            float(silhouette_score(distances, sample, metric="precomputed"))
            if 1 < len(np.unique(sample)) < len(rows) else -1.0
        )  # fmt: skip
    best = max(scores, key=lambda k: (scores[k], -k))
    return best, scores


def _score_rows(n: int, max_points: int = SCORE_MAX_POINTS) -> Ints:
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=max_points, replace=False))


def _dbscan_choice(X: Array) -> Choice:
    n, d = X.shape
    low = max(4, 2 * d)
    min_samples = min(int(np.clip(round(0.01 * n), low, max(low, 50))), n)
    curve = k_distance(X, min_samples)
    eps = curve.eps
    if eps == 0:  # duplicates: at least min_samples copies of most points
        positive = curve.distances[curve.distances > 0]
        if positive.size == 0:
            raise ValueError(
                f"Every point has {min_samples - 1} or more exact duplicates, so the k-distance "
                "curve is flat at 0 and gives no ε. Set ε by hand (any small number > 0)."
            )
        eps = float(positive.min())
    return Choice(
        {"eps": round_sig(eps), "min_samples": min_samples},
        f"min_samples = 1 % of the points, between 2 × features (at least 4) and 50 = "
        f"{min_samples}; ε = {round_sig(eps):g}, the knee of the sorted distances to the "
        f"{min_samples}-th nearest neighbour.",
    )


def _dbscan_fit(X: Array, p: Mapping) -> Ints:
    check_eps(p["eps"])
    check_min_samples(p["min_samples"], len(X), low=1)
    return DBSCAN(eps=p["eps"], min_samples=p["min_samples"]).fit(X).labels_


def _hdbscan_choice(X: Array) -> Choice:
    mcs = min(max(5, round(0.01 * len(X))), len(X))
    return Choice(
        {"min_cluster_size": mcs, "min_samples": None},
        f"min_cluster_size = 1 % of the points, at least 5 = {mcs}; min_samples = "
        "min_cluster_size (scikit-learn's default).",
    )


def _hdbscan_fit(X: Array, p: Mapping) -> Ints:
    check_sizes(p["min_cluster_size"], p.get("min_samples"), len(X))
    return HDBSCAN(min_cluster_size=p["min_cluster_size"], min_samples=p.get("min_samples"),
                   copy=True).fit(X).labels_  # fmt: skip


def _birch_choice(X: Array) -> Choice:
    k = min(10, len(X) - 1)
    spacing = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)[0][:, -1]
    threshold = round_sig(float(np.median(spacing)) or 1e-12)
    tree = birch_steps(X, threshold, 50, None)
    # More clusters than subclusters cannot be made: K stops at the tree's subclusters.
    ks = [k for k in K_RANGE if k <= tree.n_subclusters]
    best, _ = silhouette_k(X, lambda k: tree.with_global_step(k).labels, ks)
    return Choice(
        {"threshold": threshold, "branching_factor": 50, "n_clusters": best},
        f"threshold = median distance to the {k}-th nearest neighbour = {threshold:g}; "
        f"branching factor 50 (scikit-learn's); n_clusters = {best}, the best silhouette of "
        f"the global step for K = {K_RANGE.start}…{K_RANGE.stop - 1}.",
    )


def _birch_fit(X: Array, p: Mapping) -> Ints:
    return birch_steps(X, p["threshold"], p["branching_factor"], p["n_clusters"]).labels


def _mean_shift_choice(X: Array) -> Choice:
    n_sample = min(len(X), 500)
    estimate = estimate_bandwidth(X, quantile=BANDWIDTH_QUANTILE, n_samples=n_sample,
                                  random_state=0)  # fmt: skip
    if estimate == 0:  # mostly duplicates: use the spacing of the distinct points instead
        distinct = np.unique(X, axis=0)
        if len(distinct) < 2:
            raise ValueError("All points are identical: there is nothing to shift towards.")
        nearest = NearestNeighbors(n_neighbors=2).fit(distinct).kneighbors(distinct)[0][:, 1]
        bandwidth = round_sig(float(np.median(nearest)))
        return Choice(
            {"bandwidth": bandwidth, "bin_seeding": True},
            f"bandwidth = {bandwidth:g}, the median distance between neighbouring distinct "
            "points (estimate_bandwidth gave 0: most points are duplicates); bin seeding.",
        )
    bandwidth = round_sig(float(estimate))
    return Choice(
        {"bandwidth": bandwidth, "bin_seeding": True},
        f"bandwidth = {bandwidth:g} from estimate_bandwidth: the mean distance to the nearest "
        f"{BANDWIDTH_QUANTILE:.0%} of {n_sample:,} sampled points; seeds on a bandwidth-sized "
        "grid (bin_seeding).",
    )


def _mean_shift_fit(X: Array, p: Mapping) -> Ints:
    bandwidth = p["bandwidth"]
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) or not (
        bandwidth > 0 and math.isfinite(bandwidth)
    ):
        raise ValueError(
            f"bandwidth = {bandwidth!r} must be a number > 0: it is the radius of the window "
            "each seed averages over."
        )
    # The lab's recorder, not sklearn.cluster.MeanShift: its centres and labels equal
    # scikit-learn's to the bit (tests/test_clustering_mean_shift.py) and it is 4-18x faster
    # (bench/clustering.py), which keeps the whole grid within its 10 s.
    return MeanShiftRecorder(bandwidth, bin_seeding=bool(p["bin_seeding"])).fit(X).labels_


def _gmm_choice(X: Array) -> Choice:
    best, best_bic = None, np.inf
    for covariance_type in COVARIANCE_TYPES:
        for k in GMM_K_RANGE:
            if k > len(X):
                break
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    gm = GaussianMixture(k, covariance_type=covariance_type,
                                         random_state=0).fit(X)  # fmt: skip
            except ValueError:  # a collapsed component: that (K, type) is not a candidate
                continue
            bic = gm.bic(X)
            if bic < best_bic:
                best, best_bic = (k, covariance_type), bic
    k, covariance_type = best if best is not None else (1, "spherical")
    return Choice(
        {"n_components": k, "covariance_type": covariance_type},
        f"n_components = {k} and covariance_type = {covariance_type}: the lowest BIC over "
        f"K = {GMM_K_RANGE.start}…{GMM_K_RANGE.stop - 1} × the four covariance types.",
    )


def _gmm_fit(X: Array, p: Mapping) -> Ints:
    k = p["n_components"]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(X):
        raise ValueError(
            f"n_components = {k!r} must be a whole number from 1 to the number of points "
            f"({len(X):,})."
        )
    if p["covariance_type"] not in COVARIANCE_TYPES:
        raise ValueError(f"covariance_type must be one of {', '.join(COVARIANCE_TYPES)}.")
    try:
        gm = GaussianMixture(k, covariance_type=p["covariance_type"], random_state=0).fit(X)
    except ValueError as exc:
        if "ill-defined empirical covariance" in str(exc):
            raise ValueError(
                "A component's covariance became singular (it collapsed onto too few "
                "distinct points). Lower n_components or use a simpler covariance type."
            ) from None
        raise
    return gm.predict(X)


def _ward_choice(X: Array) -> Choice:
    _check_ward_size(len(X))
    tree = linkage(X, method="ward")
    best, _ = silhouette_k(X, lambda k: fcluster(tree, k, criterion="maxclust") - 1)
    return Choice(
        {"n_clusters": best},
        f"n_clusters = {best}, the best silhouette for K = {K_RANGE.start}…"
        f"{K_RANGE.stop - 1} (cuts of one Ward tree).",
    )


def _ward_fit(X: Array, p: Mapping) -> Ints:
    _check_ward_size(len(X))
    k = p["n_clusters"]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(X):
        raise ValueError(f"n_clusters = {k!r} must be a whole number from 1 to {len(X):,}.")
    return (fcluster(linkage(X, method="ward"), k, criterion="maxclust") - 1).astype(np.intp)


def _check_ward_size(n: int) -> None:
    if n > WARD_MAX_POINTS:
        raise ValueError(
            f"Ward's method keeps all n(n − 1)/2 pairwise distances: {n:,} points is more than "
            f"its cap of {WARD_MAX_POINTS:,} here."
        )


def round_sig(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant digits: a default the page can state exactly."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


METHODS: Mapping[str, Method] = MappingProxyType({
    "dbscan": Method("dbscan", "DBSCAN", _dbscan_choice, _dbscan_fit, ("eps", "min_samples")),
    "hdbscan": Method("hdbscan", "HDBSCAN", _hdbscan_choice, _hdbscan_fit,
                      ("min_cluster_size", "min_samples")),
    "birch": Method("birch", "BIRCH", _birch_choice, _birch_fit,
                    ("threshold", "branching_factor", "n_clusters")),
    "mean_shift": Method("mean_shift", "Mean-Shift", _mean_shift_choice, _mean_shift_fit,
                         ("bandwidth", "bin_seeding")),
    "gmm": Method("gmm", "GMM", _gmm_choice, _gmm_fit, ("n_components", "covariance_type")),
    "ward": Method("ward", "Ward", _ward_choice, _ward_fit, ("n_clusters",),
                   cost=f"O(n²) memory: refused above {WARD_MAX_POINTS:,} points"),
})  # fmt: skip


# ----------------------------------------------------------------------------- cells


def run_cell(
    data: Dataset, method: Method, overrides: Mapping[str, object] | None = None
) -> Cell:
    """Choose the default, apply the overrides, fit and score one cell; never raises for
    bad parameters or a failed fit (the cell carries the message).

    Runs with one BLAS/OpenMP thread: a cell's matrices are small, and on a busy machine
    the libraries' spinning threads cost far more than they give (the GMM's BIC search on
    1,500 points took 14 s with two OpenBLAS threads at load 8, and 0.5 s with one).
    """
    with threadpool_limits(limits=1):
        return _run_cell(data, method, overrides)


def _run_cell(data: Dataset, method: Method, overrides: Mapping[str, object] | None) -> Cell:
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(method.param_names)
    t0 = time.perf_counter()
    try:
        if unknown:
            raise ValueError(f"{method.name} has no parameter {', '.join(sorted(unknown))}.")
        choice = method.choose(data.X) if set(method.param_names) - set(overrides) else None
    except ValueError as exc:
        return Cell(method.key, data.name, dict(overrides), "", None, 0.0,
                    time.perf_counter() - t0, error=str(exc))  # fmt: skip
    choose_seconds = time.perf_counter() - t0
    params = {**(choice.params if choice else {}), **overrides}
    rule = choice.rule if choice else ""
    if overrides:
        rule += " Overridden: " + ", ".join(f"{k} = {v}" for k, v in overrides.items()) + "."
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            labels = np.asarray(method.fit(data.X, params), dtype=np.intp)
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        return Cell(method.key, data.name, dict(params), rule.strip(), None,
                    time.perf_counter() - t0, choose_seconds, error=str(exc))  # fmt: skip
    seconds = time.perf_counter() - t0
    quiet = (FutureWarning, DeprecationWarning)  # the library's own upkeep, not the user's
    notes = tuple(dict.fromkeys(
        str(w.message) for w in caught if not issubclass(w.category, quiet)
    ))  # fmt: skip
    return _scored(data, method, params, rule.strip(), labels, seconds, choose_seconds, notes)


def _scored(data, method, params, rule, labels, seconds, choose_seconds, notes) -> Cell:
    clustered = labels >= 0
    n_clusters = len(np.unique(labels[clustered]))
    ari = silhouette = None
    if data.labels is not None:
        ari = float(adjusted_rand_score(data.labels, labels))
    else:
        rows = _score_rows(len(labels))
        rows = rows[clustered[rows]]
        if 1 < len(np.unique(labels[rows])) < len(rows):
            silhouette = float(silhouette_score(data.X[rows], labels[rows]))
        if len(labels) > SCORE_MAX_POINTS:
            notes += (f"Silhouette on a random sample of {SCORE_MAX_POINTS:,} points.",)
    return Cell(
        method.key, data.name, dict(params), rule, labels, seconds,
        choose_seconds, n_clusters, float(1 - clustered.mean()), ari, silhouette, None, notes,
    )  # fmt: skip


def compare(
    datasets: Sequence[Dataset],
    methods: Sequence[Method],
    overrides: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> tuple[tuple[Cell, ...], ...]:
    """Every method on every data set: rows of cells, in the order given.

    ``overrides[(data name, method key)]`` replaces that cell's defaults.
    ``on_progress(fraction, text)`` is called after each cell.
    """
    overrides = overrides or {}
    total, done, grid = len(datasets) * len(methods), 0, []
    for data in datasets:
        row = []
        for method in methods:
            row.append(run_cell(data, method, overrides.get((data.name, method.key))))
            done += 1
            if on_progress is not None:
                on_progress(done / total, f"{method.name} on {data.title}")
        grid.append(tuple(row))
    return tuple(grid)
