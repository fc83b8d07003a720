"""HDBSCAN in its five pictures: core distances and mutual reachability, the minimum
spanning tree, the single-linkage tree, the condensed tree and the stability-selected
clusters, with each point's membership strength.

scikit-learn's ``HDBSCAN`` computes all of these but keeps only ``labels_`` and
``probabilities_`` (and, privately, the single-linkage tree). The ``hdbscan`` package
exposes the trees, but it is a second implementation whose labels differ from
scikit-learn's (adjusted Rand 0.94 on the digits table with the same settings, measured
here), so its trees would not explain the labels the Lab shows. Instead
:func:`hdbscan_steps` runs scikit-learn's own pipeline one step at a time and keeps what
``HDBSCAN.fit`` throws away: the core distances (a k-d tree's k-th neighbour), the minimum
spanning tree of mutual reachability (scikit-learn's Prim, ``mst_from_data_matrix``) and the
single-linkage tree made from it (``_process_mst``), exactly as ``_hdbscan_prims`` calls
them. The steps after the tree are written out here, the way
``sklearn/cluster/_hdbscan/_tree.pyx`` does them: condense the tree by
``min_cluster_size``, sum each cluster's stability, select clusters by excess of mass, label
the points and measure their membership. The labels and strengths found equal
``HDBSCAN().fit``'s (tested), so the condensed tree drawn is the one behind the labels, and
the cluster numbers match.

Why scikit-learn's own spanning tree, and not one computed here: many mutual reachability
distances are tied (they equal a core distance), and which tied edge comes first changes
the labels of bridge points, so only scikit-learn's own tree reproduces its labels. Its two
functions are private; they have had the same form since scikit-learn 1.3, and
:func:`_sklearn_pipeline` says so plainly if that changes. One pass through them, instead
of a fit plus a second spanning tree for the picture, halves the view's time.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import DistanceMetric
from sklearn.neighbors import NearestNeighbors

Array = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


@dataclass(frozen=True)
class CondensedTree:
    """The single-linkage tree condensed by ``min_cluster_size``, as an edge list.

    Each row is a parent cluster and a child (a smaller cluster, or one point falling
    out) at λ = 1 / distance. Clusters are numbered from ``n_samples`` (the root) up;
    points are 0 … n_samples − 1.

    Attributes
    ----------
    parent, child : ndarray of shape (n_rows,)
    lambda_val : ndarray of shape (n_rows,)
        1 / the mutual reachability distance at which the child left the parent.
    child_size : ndarray of shape (n_rows,)
        Points in the child (1 for a point).
    n_samples : int
    """

    parent: Ints
    child: Ints
    lambda_val: Array
    child_size: Ints
    n_samples: int

    @property
    def clusters(self) -> Ints:
        """Every cluster node, root first (ascending numbers are a topological order)."""
        return np.arange(self.n_samples, self.n_samples + self.n_clusters)

    @property
    def n_clusters(self) -> int:
        return int(max(self.parent.max(), self.child.max()) - self.n_samples + 1)

    def birth(self) -> Array:
        """λ at which each cluster node appeared (0 for the root), indexed by node − n_samples."""
        births = np.zeros(self.n_clusters)
        is_cluster = self.child >= self.n_samples
        births[self.child[is_cluster] - self.n_samples] = self.lambda_val[is_cluster]
        return births

    def death(self) -> Array:
        """Largest λ of any child leaving each cluster node (when its last points left)."""
        deaths = np.zeros(self.n_clusters)
        np.maximum.at(deaths, self.parent - self.n_samples, self.lambda_val)
        return deaths


@dataclass(frozen=True)
class HdbscanRun:
    """Everything between the points and HDBSCAN's labels.

    Attributes
    ----------
    min_cluster_size, min_samples : int
    core_distances : ndarray of shape (n,)
        Distance to the ``min_samples``-th nearest neighbour (itself the first).
    mst_edges : ndarray of shape (n − 1, 2)
        Point pairs of a minimum spanning tree of the mutual reachability graph.
    mst_weights : ndarray of shape (n − 1,)
        Their mutual reachability max(core(a), core(b), d(a, b)).
    linkage : ndarray of shape (n − 1, 4)
        scikit-learn's single-linkage tree in scipy's format (left, right, height, size).
    condensed : CondensedTree
    stability : ndarray of shape (n_cluster_nodes,)
        Σ over the cluster's points of (λ_leave − λ_birth), indexed by node − n_samples.
    selected : ndarray
        Cluster nodes chosen by excess of mass, ascending: label k is ``selected[k]``.
    labels : ndarray of shape (n,)
        -1 for noise (equal to ``sklearn.cluster.HDBSCAN``'s ``labels_``).
    probabilities : ndarray of shape (n,)
        Membership strength in [0, 1] (equal to scikit-learn's ``probabilities_``).
    """

    min_cluster_size: int
    min_samples: int
    core_distances: Array
    mst_edges: Ints
    mst_weights: Array
    linkage: Array
    condensed: CondensedTree
    stability: Array
    selected: Ints
    labels: Ints
    probabilities: Array

    @property
    def n_clusters(self) -> int:
        return len(self.selected)

    def label_of_node(self) -> dict[int, int]:
        """Cluster node → the label its points carry (only for selected nodes)."""
        return {int(node): k for k, node in enumerate(self.selected)}

    def __repr__(self) -> str:
        return (
            f"HdbscanRun(min_cluster_size={self.min_cluster_size}, "
            f"min_samples={self.min_samples}, n_clusters={self.n_clusters}, "
            f"noise={int((self.labels == -1).sum())})"
        )


def hdbscan_steps(
    X: npt.ArrayLike, min_cluster_size: int = 5, min_samples: int | None = None
) -> HdbscanRun:
    """Run scikit-learn's HDBSCAN step by step, keeping every step between points and labels.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    min_cluster_size : int, default=5
        Smallest group the condensed tree still calls a cluster (2 … n_samples).
    min_samples : int or None, default=None
        Neighbours (itself included) defining the core distance; None: min_cluster_size.

    Returns
    -------
    HdbscanRun

    Raises
    ------
    ValueError
        If a parameter is out of range (the message names it).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    check_sizes(min_cluster_size, min_samples, len(X))
    k = min_cluster_size if min_samples is None else min_samples
    core, edges, weights, linkage = single_linkage_tree(X, k)
    condensed = condense_tree(linkage, min_cluster_size)
    stability = cluster_stability(condensed)
    selected = select_clusters(condensed, stability)
    labels, probabilities = label_points(condensed, selected)
    return HdbscanRun(
        min_cluster_size, k, core, edges, weights, linkage, condensed, stability,
        selected, labels, probabilities,
    )  # fmt: skip


def single_linkage_tree(X: Array, min_samples: int) -> tuple[Array, Ints, Array, Array]:
    """scikit-learn's HDBSCAN up to its single-linkage tree, keeping every step.

    Prior validation of data is assumed (float64, C-contiguous, 1 ≤ min_samples ≤ n).

    Returns
    -------
    core : ndarray of shape (n,)
        Distance to the ``min_samples``-th nearest neighbour, the point itself the first.
    edges : ndarray of shape (n − 1, 2)
        A minimum spanning tree of mutual reachability max(core(a), core(b), ‖a − b‖), in the
        order Prim's algorithm added its edges.
    weights : ndarray of shape (n − 1,)
        The mutual reachability of each edge.
    linkage : ndarray of shape (n − 1, 4)
        The single-linkage tree those edges make, in scipy's format (left, right, height, size).
    """
    mst_from_data_matrix, process_mst = _sklearn_pipeline()
    # The calls HDBSCAN.fit makes for Euclidean data ("auto": a k-d tree, leaf_size 40).
    neighbours = NearestNeighbors(n_neighbors=min_samples, algorithm="kd_tree", leaf_size=40)
    distances, _ = neighbours.fit(X).kneighbors(X, min_samples)  # (n, min_samples)
    core = np.ascontiguousarray(distances[:, -1])
    mst = mst_from_data_matrix(X, core, DistanceMetric.get_metric("euclidean"), 1.0)
    linkage = _as_linkage(process_mst(mst))
    edges = np.column_stack([mst["current_node"], mst["next_node"]]).astype(np.intp)
    return core, edges, np.asarray(mst["distance"], dtype=np.float64), linkage


def condense_tree(linkage: Array, min_cluster_size: int) -> CondensedTree:
    """Walk the single-linkage tree from the root; keep a split only if both sides are big.

    At each merge (seen top-down as a split at λ = 1/height): if both sides hold at least
    ``min_cluster_size`` points, two new clusters are born; if one side is smaller, its
    points fall out of the parent, which lives on as the other side; if both are smaller,
    every point falls out and the cluster ends.
    """
    n = len(linkage) + 1
    # Plain lists: this walk is a Python loop, and list items read faster than numpy scalars.
    left = linkage[:, 0].astype(np.intp).tolist()
    right = linkage[:, 1].astype(np.intp).tolist()
    height = linkage[:, 2].tolist()
    size = [1] * n + linkage[:, 3].astype(np.intp).tolist()

    def points_under(node: int) -> list[int]:
        """The points below ``node``, breadth first (scikit-learn's row order)."""
        level, found = [node], []
        while level:
            found.extend(v for v in level if v < n)
            level = [c for v in level if v >= n for c in (left[v - n], right[v - n])]
        return found

    rows: list[tuple[int, int, float, int]] = []
    relabel = {2 * n - 2: n}  # tree node -> condensed cluster number; the root is n
    next_cluster = n + 1
    queue = [2 * n - 2]  # breadth first, as scikit-learn numbers the clusters
    while queue:
        later = []
        for node in queue:
            if node < n or node not in relabel:
                continue
            cluster = relabel[node]
            a, b = left[node - n], right[node - n]
            lam = 1.0 / height[node - n] if height[node - n] > 0 else math.inf
            big_a, big_b = size[a] >= min_cluster_size, size[b] >= min_cluster_size
            if big_a and big_b:
                for child in (a, b):
                    relabel[child] = next_cluster
                    rows.append((cluster, next_cluster, lam, size[child]))
                    next_cluster += 1
            else:
                for child, big in ((a, big_a), (b, big_b)):
                    if big:
                        relabel[child] = cluster  # the parent lives on as this side
                    else:
                        rows.extend((cluster, p, lam, 1) for p in points_under(child))
            later.extend(c for c in (a, b) if c >= n)
        queue = later
    parent, child, lam, child_size = (np.array(col) for col in zip(*rows, strict=True))
    return CondensedTree(
        parent.astype(np.intp), child.astype(np.intp), lam.astype(np.float64),
        child_size.astype(np.intp), n,
    )  # fmt: skip


def cluster_stability(tree: CondensedTree) -> Array:
    """Stability of each cluster: Σ over its rows of (λ_row − λ_birth) × child size."""
    births = tree.birth()
    rows = tree.parent - tree.n_samples
    stability = np.zeros(tree.n_clusters)
    np.add.at(stability, rows, (tree.lambda_val - births[rows]) * tree.child_size)
    return stability


def select_clusters(tree: CondensedTree, stability: Array) -> Ints:
    """Excess of mass: from the leaves up, keep a cluster if it is more stable than its
    selected descendants together; never the root (scikit-learn's default)."""
    n = tree.n_samples
    stability = stability.copy()
    is_cluster_row = tree.child >= n
    children: dict[int, list[int]] = {}
    for p, c in zip(tree.parent[is_cluster_row], tree.child[is_cluster_row], strict=True):
        children.setdefault(int(p), []).append(int(c))
    chosen = {}
    for node in range(n + tree.n_clusters - 1, n, -1):  # children before parents; root last
        below = children.get(node, [])
        below_stability = sum(stability[c - n] for c in below)
        if below_stability > stability[node - n]:
            chosen[node] = False
            stability[node - n] = below_stability
        else:
            chosen[node] = True
            stack = list(below)
            while stack:  # a chosen cluster unselects everything under it
                c = stack.pop()
                chosen[c] = False
                stack.extend(children.get(c, []))
    return np.array(sorted(node for node, keep in chosen.items() if keep), dtype=np.intp)


def label_points(tree: CondensedTree, selected: Ints) -> tuple[Ints, Array]:
    """Each point's selected ancestor cluster (or -1) and its membership strength.

    Strength = min(λ at which the point left, λ at which its cluster died) / the latter:
    1 for points that stay until the cluster's end, falling towards 0 at its edge.
    """
    n = tree.n_samples
    parent_of = np.full(n + tree.n_clusters, -1, dtype=np.intp)
    parent_of[tree.child] = tree.parent
    label_of = {int(node): k for k, node in enumerate(selected)}
    deaths = tree.death()

    def selected_ancestor(node: int) -> int:
        while node != -1 and node not in label_of:
            node = parent_of[node]
        return node

    # Resolve each cluster node once, then read each point's answer from its parent.
    ancestor = {int(c): selected_ancestor(int(c)) for c in tree.clusters}
    labels = np.full(n, -1, dtype=np.intp)
    probabilities = np.zeros(n)
    is_point = tree.child < n
    for p, parent, lam in zip(
        tree.child[is_point], tree.parent[is_point], tree.lambda_val[is_point], strict=True
    ):
        node = ancestor[int(parent)]
        if node == -1:
            continue
        labels[p] = label_of[node]
        top = deaths[node - n]
        probabilities[p] = 1.0 if top == 0 or np.isinf(lam) else min(lam, top) / top
    return labels, probabilities


def check_sizes(min_cluster_size: object, min_samples: object, n_samples: int) -> None:
    for name, value, low in (("min_cluster_size", min_cluster_size, 2),
                             ("min_samples", min_samples, 1)):  # fmt: skip
        if value is None and name == "min_samples":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not (
            low <= value <= n_samples
        ):
            raise ValueError(
                f"{name} = {value!r} must be a whole number from {low} to the number of "
                f"points ({n_samples:,})."
            )


def _sklearn_pipeline():
    """scikit-learn's private spanning-tree and single-linkage steps (see the module's note)."""
    try:
        from sklearn.cluster._hdbscan._linkage import mst_from_data_matrix
        from sklearn.cluster._hdbscan.hdbscan import _process_mst
    except ImportError as exc:
        raise RuntimeError(
            "This scikit-learn no longer has HDBSCAN's mst_from_data_matrix and _process_mst "
            f"where they were ({exc}); engine/clustering/_hdbscan.py needs updating for it."
        ) from None
    return mst_from_data_matrix, _process_mst


def _as_linkage(tree: np.ndarray) -> Array:
    """scikit-learn's single-linkage record array as scipy's (n − 1, 4) float linkage matrix."""
    fields = ("left_node", "right_node", "value", "cluster_size")
    if tree.dtype.names != fields:
        raise RuntimeError(
            "This scikit-learn's HDBSCAN no longer builds its single-linkage tree as "
            f"{fields}; engine/clustering/_hdbscan.py needs updating for it."
        )
    return np.column_stack([tree[f].astype(np.float64) for f in fields])


def size_effects(
    X: npt.ArrayLike, min_cluster_sizes: list[int], min_samples_values: list[int | None]
) -> list[dict[str, float]]:
    """Clusters and noise share of HDBSCAN for each pair of sizes.

    One row per (min_cluster_size, min_samples): how coarse the clusters are, and how much
    is called noise. Pairs out of range for the data are skipped. The single-linkage tree
    depends on min_samples alone (min_cluster_size only condenses it), so each tree is
    built once and condensed for every min_cluster_size; the labels are those of
    ``HDBSCAN(min_cluster_size, min_samples).fit`` (tested).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    trees: dict[int, Array] = {}  # min_samples -> single-linkage tree
    rows = []
    for mcs in min_cluster_sizes:
        for ms in min_samples_values:
            if not 2 <= mcs <= len(X) or (ms is not None and not 1 <= ms <= len(X)):
                continue
            k = mcs if ms is None else ms
            if k not in trees:
                trees[k] = single_linkage_tree(X, k)[3]
            tree = condense_tree(trees[k], mcs)
            labels, _ = label_points(tree, select_clusters(tree, cluster_stability(tree)))
            rows.append({"min_cluster_size": mcs, "min_samples": k,
                         "clusters": int(labels.max()) + 1,
                         "noise": float((labels == -1).mean())})  # fmt: skip
    return rows
