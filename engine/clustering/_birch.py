"""BIRCH's two stages: the CF-tree's subclusters, then the global step that groups them.

BIRCH reads the points once, folding each into the nearest leaf subcluster of a tree
whose entries are clustering features (CF = count N, linear sum LS, squared sum SS), as
long as the subcluster's radius stays within ``threshold``; a node holding more than
``branching_factor`` entries splits. The leaf subclusters then go through a global
clustering step (agglomerative, Ward) to give ``n_clusters`` clusters.

scikit-learn's ``Birch`` keeps the subcluster centres but not their sizes or radii, so
:func:`birch_steps` reads them from the fitted tree: ``dummy_leaf_`` (a documented
attribute: "start pointer to all the leaves") chains the leaves, and each leaf's
``subclusters_`` hold their CF (``n_samples_``, ``linear_sum_``, ``squared_sum_``) and
``radius`` = sqrt(SS/N − ‖LS/N‖²). The leaves are read in the order scikit-learn reads
them, so subcluster i here is ``subcluster_centers_[i]`` (tested).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import AgglomerativeClustering, Birch
from sklearn.metrics import pairwise_distances_argmin

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


@dataclass(frozen=True)
class BirchRun:
    """A fitted CF-tree and its global step.

    Attributes
    ----------
    threshold, branching_factor : float, int
    centers : ndarray of shape (n_sub, d)
        Leaf subcluster centroids LS / N.
    radii : ndarray of shape (n_sub,)
        Root-mean-square distance of each subcluster's points to its centroid (≤ threshold
        unless a single point sits there).
    sizes : ndarray of shape (n_sub,)
        Points folded into each subcluster.
    leaf_of : ndarray of shape (n_sub,)
        Which leaf node holds each subcluster (leaves numbered in chain order).
    depth : int
        Levels of the CF-tree, the leaves included.
    subcluster_of_point : ndarray of shape (n,)
        The subcluster each point is nearest to (how scikit-learn labels points).
    subcluster_labels : ndarray of shape (n_sub,)
        The global step's cluster of each subcluster (``arange`` with no global step).
    labels : ndarray of shape (n,)
        ``subcluster_labels[subcluster_of_point]``.
    """

    threshold: float
    branching_factor: int
    centers: Array
    radii: Array
    sizes: Ints
    leaf_of: Ints
    depth: int
    subcluster_of_point: Ints
    subcluster_labels: Ints
    labels: Ints

    @property
    def n_subclusters(self) -> int:
        return len(self.centers)

    @property
    def n_leaves(self) -> int:
        return int(self.leaf_of.max()) + 1 if len(self.leaf_of) else 0

    def with_global_step(self, n_clusters: int | None) -> BirchRun:
        """The same tree grouped into ``n_clusters`` by Ward's method (None: no grouping)."""
        sub_labels = global_step(self.centers, n_clusters)
        return BirchRun(
            self.threshold, self.branching_factor, self.centers, self.radii, self.sizes,
            self.leaf_of, self.depth, self.subcluster_of_point, sub_labels,
            sub_labels[self.subcluster_of_point],
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"BirchRun(threshold={self.threshold:.4g}, n_subclusters={self.n_subclusters}, "
            f"n_leaves={self.n_leaves}, depth={self.depth})"
        )


def birch_steps(
    X: npt.ArrayLike,
    threshold: float = 0.5,
    branching_factor: int = 50,
    n_clusters: int | None = 3,
) -> BirchRun:
    """Build the CF-tree with scikit-learn's ``Birch`` and read its subclusters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    threshold : float, default=0.5
        Largest radius a leaf subcluster may reach by absorbing a point (> 0).
    branching_factor : int, default=50
        Most entries per tree node (> 1).
    n_clusters : int or None, default=3
        Clusters of the global step; None keeps the subclusters as clusters.

    Returns
    -------
    BirchRun

    Raises
    ------
    ValueError
        Threshold ≤ 0, branching factor < 2, or more clusters than subclusters.
    """
    X = np.asarray(X, dtype=np.float64)
    check_threshold(threshold)
    check_branching_factor(branching_factor)
    model = Birch(threshold=threshold, branching_factor=branching_factor, n_clusters=None,
                  compute_labels=False).fit(X)  # fmt: skip
    centers, radii, sizes, leaf_of = [], [], [], []
    leaf, number = model.dummy_leaf_.next_leaf_, 0
    while leaf is not None:
        for sub in leaf.subclusters_:
            centers.append(sub.centroid_)
            radii.append(sub.radius)
            sizes.append(sub.n_samples_)
            leaf_of.append(number)
        leaf, number = leaf.next_leaf_, number + 1
    centers = np.array(centers, dtype=np.float64).reshape(-1, X.shape[1])
    nearest = pairwise_distances_argmin(X, centers)
    run = BirchRun(
        float(threshold), int(branching_factor), centers, np.array(radii, dtype=np.float64),
        np.array(sizes, dtype=np.intp), np.array(leaf_of, dtype=np.intp),
        _depth(model.root_), nearest.astype(np.intp), np.arange(len(centers)), nearest,
    )  # fmt: skip
    return run.with_global_step(n_clusters)


def global_step(centers: Array, n_clusters: int | None) -> Ints:
    """Group subcluster centroids with Ward's method, as ``Birch`` does (None: no grouping)."""
    if n_clusters is None:
        return np.arange(len(centers), dtype=np.intp)
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral) or (
        n_clusters < 1
    ):
        raise ValueError(f"n_clusters = {n_clusters!r} must be a whole number >= 1.")
    if n_clusters > len(centers):
        raise ValueError(
            f"The CF-tree has only {len(centers)} subclusters, fewer than n_clusters = "
            f"{n_clusters}. Lower the threshold (smaller subclusters) or ask for fewer "
            "clusters."
        )
    if n_clusters == 1:
        return np.zeros(len(centers), dtype=np.intp)
    ward = AgglomerativeClustering(n_clusters=n_clusters).fit_predict(centers)
    return ward.astype(np.intp)


def subcluster_counts(
    X: npt.ArrayLike, thresholds: npt.ArrayLike, branching_factor: int = 50
) -> Ints:
    """Number of leaf subclusters for each threshold (the tree only, no global step)."""
    X = np.asarray(X, dtype=np.float64)
    return np.array(
        [len(Birch(threshold=float(t), branching_factor=branching_factor, n_clusters=None,
                   compute_labels=False).fit(X).subcluster_centers_)
         for t in thresholds],
        dtype=np.intp,
    )  # fmt: skip


def _depth(node) -> int:
    depth = 1
    while not node.is_leaf:
        node, depth = node.subclusters_[0].child_, depth + 1
    return depth


def check_threshold(threshold: object) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not (
        threshold > 0 and np.isfinite(threshold)
    ):
        raise ValueError(
            f"threshold = {threshold!r} must be a number > 0: it is the largest radius a "
            "subcluster may grow to."
        )


def check_branching_factor(branching_factor: object) -> None:
    if isinstance(branching_factor, bool) or not isinstance(branching_factor, numbers.Integral) or (
        branching_factor < 2
    ):
        raise ValueError(
            f"branching_factor = {branching_factor!r} must be a whole number >= 2: the most "
            "entries a tree node holds before it splits."
        )


def branching_effects(
    X: npt.ArrayLike, threshold: float, branching_factors: list[int]
) -> list[dict[str, int]]:
    """Subclusters, leaves and depth of the CF-tree for each branching factor."""
    X = np.asarray(X, dtype=np.float64)
    rows = []
    for b in branching_factors:
        run = birch_steps(X, threshold, b, None)
        rows.append({"branching_factor": b, "subclusters": run.n_subclusters,
                     "leaves": run.n_leaves, "depth": run.depth})  # fmt: skip
    return rows
