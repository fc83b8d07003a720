"""The Clustering-family lab's engine: DBSCAN, HDBSCAN, BIRCH, Mean-Shift and GMM, each
with the inner steps the libraries do not expose, and the grid that compares them.

One private module per method, as ``sklearn/cluster`` is laid out:

- ``_gaussian_mixture``: :class:`GaussianMixture`, EM by hand with ``history_`` (equals
  scikit-learn's).
- ``_mean_shift``: :class:`MeanShift`, every seed's path in ``trajectories_`` (equals
  scikit-learn's).
- ``_dbscan``: :func:`dbscan_steps` (core/border/noise, the order clusters grow) and
  :func:`k_distance` (the curve whose knee gives ε).
- ``_hdbscan``: :func:`hdbscan_steps`: core distances, the mutual reachability spanning
  tree, the single-linkage and condensed trees, stability and the selected clusters.
- ``_birch``: :func:`birch_steps`: the CF-tree's subclusters and the global step.
- ``_projection``: :func:`pca_view` and :func:`tsne_run` (t-SNE recorded as it unfolds).
- ``_compare``: the grid (:func:`compare`, :func:`run_cell`) and its data-driven defaults.
  Its rows are ``engine.data`` Datasets: the standard shapes (:func:`grid_datasets`) or a
  user's own data (:func:`grid_row`).

This package imports ``engine.data`` and never another lab's engine: the K-means column
of the grid is added by the page (``app_pages/clustering_methods.py``).

>>> from engine.clustering import GaussianMixture, MeanShift
"""

from engine.clustering._birch import BirchRun, birch_steps, branching_effects, subcluster_counts
from engine.clustering._compare import (
    GRID_MAX_POINTS,
    GRID_MIN_POINTS,
    GRID_SAMPLES,
    GRID_SHAPES,
    K_RANGE,
    METHODS,
    Cell,
    Choice,
    Method,
    check_grid_data,
    compare,
    grid_datasets,
    grid_row,
    run_cell,
    silhouette_k,
)
from engine.clustering._dbscan import DbscanRun, KDistance, dbscan_steps, k_distance
from engine.clustering._gaussian_mixture import (
    COVARIANCE_TYPES,
    EMIteration,
    EMRun,
    GaussianMixture,
    SingularCovarianceError,
    information_criteria,
)
from engine.clustering._hdbscan import CondensedTree, HdbscanRun, hdbscan_steps, size_effects
from engine.clustering._mean_shift import MeanShift, ModeMerge
from engine.clustering._projection import (
    TSNE_CAVEATS,
    TSNE_MAX_POINTS,
    PcaView,
    TsneRun,
    check_perplexity,
    pca_view,
    tsne_run,
)

__all__ = [
    "COVARIANCE_TYPES",
    "GRID_MAX_POINTS",
    "GRID_MIN_POINTS",
    "GRID_SAMPLES",
    "GRID_SHAPES",
    "K_RANGE",
    "METHODS",
    "TSNE_CAVEATS",
    "TSNE_MAX_POINTS",
    "BirchRun",
    "Cell",
    "Choice",
    "CondensedTree",
    "DbscanRun",
    "EMIteration",
    "EMRun",
    "GaussianMixture",
    "HdbscanRun",
    "KDistance",
    "MeanShift",
    "Method",
    "ModeMerge",
    "PcaView",
    "SingularCovarianceError",
    "TsneRun",
    "birch_steps",
    "check_perplexity",
    "branching_effects",
    "check_grid_data",
    "compare",
    "dbscan_steps",
    "grid_datasets",
    "grid_row",
    "hdbscan_steps",
    "information_criteria",
    "k_distance",
    "pca_view",
    "run_cell",
    "silhouette_k",
    "size_effects",
    "subcluster_counts",
    "tsne_run",
]
