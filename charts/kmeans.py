"""Figures of the K-means lab: engine results in, ``plotly.graph_objects.Figure`` out.

The public face of two modules, one per kind of picture:

- :mod:`charts.kmeans_plane` - the plane: a half-step's clusters with their Voronoi regions
  (:func:`result_figure`), the playback with J beside it (:func:`playback_figure`), the
  k-means++ seeding (:func:`seeding_figure`), all on one window of the data at equal scales;
- :mod:`charts.kmeans_curves` - the curves: J at every half-step with a "you are here" ring
  (:func:`convergence_figure`), the centroid shift, several starts, the restart study and
  choosing K;
- :mod:`charts.kmeans_elkan` - Elkan's savings: the distances its bounds skipped per
  iteration beside Lloyd's N·K (:func:`elkan_figure`), and on several data sets.

No Streamlit here, and no computation beyond arranging numbers for Plotly: the points,
half-steps, grids and tables come from :mod:`engine.kmeans`. The look is the Lab's one
template, :mod:`charts.theme`.

>>> from charts import kmeans as charts
>>> fig = charts.convergence_figure(model.history_, at=(2, "update"))  # doctest: +SKIP
"""

from charts.kmeans_curves import (
    convergence_figure,
    elbow_figure,
    half_step_x,
    restart_figure,
    runs_figure,
    shift_figure,
    stop_text,
)
from charts.kmeans_elkan import elkan_figure, elkan_share_figure
from charts.kmeans_plane import (
    WEBGL_THRESHOLD,
    plane_notes,
    playback_figure,
    result_figure,
    seeding_figure,
)
from charts.theme import cluster_colors

__all__ = [
    "WEBGL_THRESHOLD",
    "cluster_colors",
    "convergence_figure",
    "elbow_figure",
    "elkan_figure",
    "elkan_share_figure",
    "half_step_x",
    "plane_notes",
    "playback_figure",
    "restart_figure",
    "result_figure",
    "runs_figure",
    "seeding_figure",
    "shift_figure",
    "stop_text",
]
