"""Mean-Shift with a flat kernel, recording each seed's path uphill to its mode.

scikit-learn's ``MeanShift`` returns only the modes and labels. The Lab shows the climb:
every seed moves to the mean of the points within ``bandwidth`` of it, again and again,
until it stops moving; nearby stopping points are merged into one cluster centre. This
module runs that loop itself and keeps every position in ``trajectories_``.

The arithmetic is scikit-learn 1.9's (``sklearn/cluster/_mean_shift.py``): the same
neighbour search (a ``NearestNeighbors`` radius query, whose neighbour order is part of the
result: the mean of the same points added in another order can differ in its last bit,
and modes equal to the bit are merged), the same stopping rule (a move of at most
``1e-3 × bandwidth``, or ``max_iter``), the same removal of near-duplicate modes by
intensity and the same labelling. So ``cluster_centers_`` and ``labels_`` equal
scikit-learn's for the same seeds. One difference makes it faster, not different: all
seeds that are still moving are queried in one call per iteration instead of one call per
seed per iteration.

Example
-------
>>> X = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]], dtype=float)
>>> ms = MeanShift(bandwidth=2).fit(X)
>>> ms.labels_.tolist(), len(ms.trajectories_)
([1, 1, 1, 0, 0, 0], 6)
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import estimate_bandwidth, get_bin_seeds
from sklearn.metrics import pairwise_distances_argmin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ModeMerge:
    """How the seeds' stopping points became cluster centres.

    Attributes
    ----------
    modes : ndarray of shape (n_modes, d)
        Distinct stopping points, by decreasing intensity (points within bandwidth).
    intensities : ndarray of shape (n_modes,)
    kept : ndarray of bool, shape (n_modes,)
        True for the modes that became ``cluster_centers_`` (in the same order).
    absorbed_by : ndarray of shape (n_modes,)
        For a removed mode, the index (into ``modes``) of the stronger mode within
        bandwidth that removed it; for a kept mode, itself.
    """

    modes: Array
    intensities: npt.NDArray[np.intp]
    kept: npt.NDArray[np.bool_]
    absorbed_by: npt.NDArray[np.intp]


class MeanShift(ClusterMixin, BaseEstimator):
    """Mean-Shift clustering with a flat kernel, keeping every seed's trajectory.

    Same parameters and results as ``sklearn.cluster.MeanShift`` (without ``n_jobs``).

    Parameters
    ----------
    bandwidth : float or None, default=None
        Radius of the flat kernel. None: ``sklearn.cluster.estimate_bandwidth(X)``
        (quadratic in the number of points).
    seeds : array-like of shape (n_seeds, n_features) or None, default=None
        Starting points. None: every point, or the bin centres with ``bin_seeding``.
    bin_seeding : bool, default=False
        Seed from a grid of cells ``bandwidth`` wide instead of from every point.
    min_bin_freq : int, default=1
        With ``bin_seeding``, only cells holding at least this many points give a seed.
    cluster_all : bool, default=True
        Label every point with its nearest centre; if False, points farther than
        ``bandwidth`` from every centre get -1.
    max_iter : int, default=300
        Most mean-shift steps per seed.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
    n_iter_ : int
        Most steps any seed took (scikit-learn's count).
    bandwidth_ : float
        The bandwidth used (given or estimated).
    seeds_ : ndarray of shape (n_seeds, n_features)
    trajectories_ : list of ndarray of shape (n_positions_i, n_features)
        Seed i's path: first row the seed, last row where it stopped.
    seed_labels_ : ndarray of shape (n_seeds,)
        The cluster each seed's mode ended in (-1: no point within bandwidth of the seed).
    merge_ : ModeMerge
        The distinct stopping points and which stronger mode removed each duplicate.
    n_features_in_ : int
    """

    def __init__(
        self,
        bandwidth: float | None = None,
        *,
        seeds: npt.ArrayLike | None = None,
        bin_seeding: bool = False,
        min_bin_freq: int = 1,
        cluster_all: bool = True,
        max_iter: int = 300,
    ) -> None:
        self.bandwidth = bandwidth
        self.seeds = seeds
        self.bin_seeding = bin_seeding
        self.min_bin_freq = min_bin_freq
        self.cluster_all = cluster_all
        self.max_iter = max_iter

    def fit(self, X: npt.ArrayLike, y: object = None) -> MeanShift:
        """Climb from every seed, merge the modes, label the points; return self."""
        X = check_array(X, dtype=np.float64)
        self._check_params(X)
        bandwidth = self.bandwidth
        if bandwidth is None:
            bandwidth = float(estimate_bandwidth(X))
            if bandwidth <= 0:
                raise ValueError(
                    "The estimated bandwidth is 0 (most points are duplicates of each other). "
                    "Give a bandwidth > 0."
                )
        if self.seeds is not None:
            seeds = check_array(self.seeds, dtype=np.float64)
            if seeds.shape[1] != X.shape[1]:
                raise ValueError(
                    f"seeds have {seeds.shape[1]} features but X has {X.shape[1]}."
                )
        elif self.bin_seeding:
            # float32 bin centres, as scikit-learn makes them; widening to float64 is exact.
            seeds = np.asarray(get_bin_seeds(X, bandwidth, self.min_bin_freq), np.float64)
        else:
            seeds = X

        trajectories, intensities, steps = _climb(X, seeds, bandwidth, self.max_iter)
        ends = [tuple(path[-1]) for path in trajectories]
        strength = {end: n for end, n in zip(ends, intensities, strict=True) if n}
        if not strength:
            raise ValueError(
                f"No point lies within bandwidth={bandwidth:g} of any seed. Increase the "
                "bandwidth or seed from the data."
            )
        merge = _merge_modes(strength, bandwidth)
        centers = merge.modes[merge.kept]

        nearest = NearestNeighbors(n_neighbors=1).fit(centers)
        distances, idx = nearest.kneighbors(X)
        labels = idx[:, 0]
        if not self.cluster_all:
            labels = np.where(distances[:, 0] <= bandwidth, labels, -1)

        # Seed -> its mode -> the kept mode that absorbed it -> the cluster number.
        row_of_mode = {tuple(m): i for i, m in enumerate(merge.modes)}
        cluster_of_mode = np.cumsum(merge.kept) - 1  # (n_modes,) rank among kept modes
        self.seed_labels_ = np.array(
            [cluster_of_mode[merge.absorbed_by[row_of_mode[end]]] if n else -1
             for end, n in zip(ends, intensities, strict=True)],
            dtype=np.intp,
        )  # fmt: skip
        self.cluster_centers_, self.labels_ = centers, labels
        self.n_iter_ = int(max(steps))
        self.bandwidth_ = float(bandwidth)
        self.seeds_ = seeds
        self.trajectories_ = trajectories
        self.merge_ = merge
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.intp]:
        """The nearest cluster centre of each point."""
        check_is_fitted(self, "cluster_centers_")
        return pairwise_distances_argmin(check_array(X, dtype=np.float64), self.cluster_centers_)

    def positions_at(self, step: int) -> Array:
        """Every seed's position after ``step`` moves (stopped seeds stay put), (n_seeds, d)."""
        return np.stack([path[min(step, len(path) - 1)] for path in self.trajectories_])

    def _check_params(self, X: Array) -> None:
        if self.bandwidth is not None and (
            isinstance(self.bandwidth, bool)
            or not isinstance(self.bandwidth, numbers.Real)
            or not np.isfinite(self.bandwidth)
            or self.bandwidth <= 0
        ):
            raise ValueError(
                f"bandwidth={self.bandwidth!r} should be a number > 0: it is the radius of "
                "the window each seed averages over."
            )
        for name, minimum in (("max_iter", 0), ("min_bin_freq", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (
                value < minimum
            ):
                raise ValueError(f"{name}={value!r} should be a whole number >= {minimum}.")


def _climb(
    X: Array, seeds: Array, bandwidth: float, max_iter: int
) -> tuple[list[Array], list[int], list[int]]:
    """Move every seed to the mean of its window until it stops; keep every position.

    Returns each seed's path, the number of points in its last window (0: its first window
    was empty) and its step count, as ``_mean_shift_single_seed`` counts them.
    """
    stop_thresh = 1e-3 * bandwidth
    tree = NearestNeighbors(radius=bandwidth).fit(X)
    paths = [[seed] for seed in seeds]
    intensity = [0] * len(seeds)
    steps = [0] * len(seeds)
    moving = list(range(len(seeds)))
    while moving:
        windows = tree.radius_neighbors(
            np.array([paths[i][-1] for i in moving]), bandwidth, return_distance=False
        )
        still_moving = []
        for i, window in zip(moving, windows, strict=True):
            if len(window) == 0:  # nothing within reach: the seed stops and gives no mode
                intensity[i] = 0
                continue
            old = paths[i][-1]
            new = np.mean(X[window], axis=0)  # (d,) the window's mean: one step uphill
            paths[i].append(new)
            intensity[i] = len(window)
            if np.linalg.norm(new - old) <= stop_thresh or steps[i] == max_iter:
                continue
            steps[i] += 1
            still_moving.append(i)
        moving = still_moving
    return [np.array(p, dtype=np.float64) for p in paths], intensity, steps


def _merge_modes(strength: dict[tuple, int], bandwidth: float) -> ModeMerge:
    """Keep the strongest mode of every group within bandwidth, as scikit-learn does.

    Modes are visited by decreasing intensity (ties: larger coordinates first); each mode
    still kept removes every other mode within bandwidth of it.
    """
    ordered = sorted(strength.items(), key=lambda item: (item[1], item[0]), reverse=True)
    modes = np.array([mode for mode, _ in ordered])
    intensities = np.array([n for _, n in ordered], dtype=np.intp)
    near = NearestNeighbors(radius=bandwidth).fit(modes).radius_neighbors(
        modes, return_distance=False
    )
    kept = np.ones(len(modes), dtype=bool)
    absorbed_by = np.arange(len(modes))
    for i in range(len(modes)):
        if kept[i]:
            newly = near[i][kept[near[i]] & (near[i] != i)]
            absorbed_by[newly] = i
            kept[near[i]] = False
            kept[i] = True
    return ModeMerge(modes, intensities, kept, absorbed_by)
