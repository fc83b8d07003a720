"""The K-means lab's engine: Lloyd's algorithm to read, to run fast, and to look at.

One module per job, read in this order:

- :mod:`~engine.kmeans.lloyd` - one Lloyd iteration: the assignment half-step
  (:func:`reference_step`) and the update half-step (:func:`update_centers`) written to be
  read, side by side, and the compiled pass the estimator runs (``_lloyd_numba``, and
  ``_lloyd_torch`` on a GPU; ``_sparse_numba`` for CSR input);
- :mod:`~engine.kmeans.elkan` - Elkan's step: Lloyd's labels with most distances skipped
  by triangle-inequality bounds (:func:`reference_elkan_step` to read, :class:`ElkanStep`
  compiled in ``_elkan_numba`` to run), and how many it skipped (:func:`elkan_counts`);
- :mod:`~engine.kmeans.estimator` - :class:`KMeans`, scikit-learn's interface around the
  loop, seeded by ``_seeding`` (k-means++, recorded);
- :mod:`~engine.kmeans.history` - what a fit records (:class:`KMeansRun`);
- :mod:`~engine.kmeans.plane`, :mod:`~engine.kmeans.studies`, :mod:`~engine.kmeans.tables` -
  what the page shows around a fit: the plane the points are drawn on, studies (choosing K,
  restarts, the scikit-learn cross-check) and tables to show and export.

Pure computation; imports only itself, :mod:`engine.data` and ``engine._*`` helpers.

>>> from engine.kmeans import KMeans
"""

from engine.kmeans.elkan import (
    ElkanBounds,
    ElkanCounts,
    ElkanStep,
    elkan_counts,
    reference_elkan_step,
)
from engine.kmeans.estimator import KMeans
from engine.kmeans.history import KMeansRun, LloydIteration, SeedingStep
from engine.kmeans.lloyd import StepResult, UpdateResult, reference_step, update_centers
from engine.kmeans.plane import (
    ANIMATION_MAX_ITERATIONS,
    ANIMATION_MAX_POINTS,
    DISPLAY_MAX_POINTS,
    HalfStep,
    PlaneView,
    VoronoiGrid,
    display_sample,
    half_step,
    half_steps,
    make_plane_view,
    padded_range,
    plane_ranges,
    voronoi_grid,
)
from engine.kmeans.studies import (
    STUDY_MAX_POINTS,
    CrossCheck,
    adjusted_rand,
    cross_check,
    distinct_minima,
    elbow_sweep,
    restart_study,
)
from engine.kmeans.tables import centroids_table, history_table, iteration_table, labelled_rows

__all__ = [
    "ANIMATION_MAX_ITERATIONS",
    "ANIMATION_MAX_POINTS",
    "DISPLAY_MAX_POINTS",
    "STUDY_MAX_POINTS",
    "CrossCheck",
    "ElkanBounds",
    "ElkanCounts",
    "ElkanStep",
    "HalfStep",
    "KMeans",
    "KMeansRun",
    "LloydIteration",
    "PlaneView",
    "SeedingStep",
    "StepResult",
    "UpdateResult",
    "VoronoiGrid",
    "adjusted_rand",
    "centroids_table",
    "cross_check",
    "display_sample",
    "distinct_minima",
    "elkan_counts",
    "elbow_sweep",
    "half_step",
    "half_steps",
    "history_table",
    "iteration_table",
    "labelled_rows",
    "make_plane_view",
    "padded_range",
    "plane_ranges",
    "reference_elkan_step",
    "reference_step",
    "restart_study",
    "update_centers",
    "voronoi_grid",
]
