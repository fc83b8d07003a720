"""Each method's own view for the Clustering-family lab: what happens inside.

Called by ``app_pages/clustering.py`` for the cell the user opened. Every view takes the
open row (its points and the plane they are drawn in) and the cell (its parameters), runs
the method's step recorder from ``engine.clustering`` through a cached function keyed on the
data digest and the parameters, and draws it with ``charts.clustering``. Recorders run on
at most ``VIEW_MAX_POINTS`` points (a stated random sample above that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from threadpoolctl import threadpool_limits

from app_pages.clustering_methods import KMEANS
from app_pages.components.text import md_text
from charts import clustering as charts
from engine import clustering as cl
from engine import data as data_io

VIEW_MAX_POINTS = 10_000
MEAN_SHIFT_MAX_POINTS = 3_000
SWEEP_MAX_POINTS = 1_500  # parameter sweeps refit several times: on a sample this size


@dataclass(frozen=True, eq=False)
class Row:
    """The open data set: points, true groups, the plane drawn and its key for caches."""

    data: data_io.Dataset
    digest: str
    plane: np.ndarray  # (n, 2) what the figures draw
    axis_titles: tuple[str, str]
    projection: np.ndarray | None  # (2, d) PCA directions, or None when the data is 2-D


def _sample_rows(n: int, cap: int) -> np.ndarray:
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=cap, replace=False))


def _sample_note(n: int, cap: int, what: str) -> None:
    if n > cap:
        st.caption(f"{what} runs on a random sample of {cap:,} of the {n:,} points "
                   "(the grid cell used them all).")


# ----------------------------------------------------------------------------- cached runs
# Keyed on the digest of every value of X (Streamlit hashes big arrays from a sample);
# the arrays themselves are passed unhashed (leading underscore).


@st.cache_data(max_entries=16, scope="session", show_spinner="Recording DBSCAN…")
def _dbscan(digest: str, _X: np.ndarray, eps: float, min_samples: int):
    rows = _sample_rows(len(_X), VIEW_MAX_POINTS)
    X = _X[rows]
    return rows, cl.dbscan_steps(X, eps, min_samples), cl.k_distance(X, min_samples)


@st.cache_data(max_entries=16, scope="session", show_spinner="Building HDBSCAN's trees…")
def _hdbscan(digest: str, _X: np.ndarray, min_cluster_size: int, min_samples: int | None):
    rows = _sample_rows(len(_X), VIEW_MAX_POINTS)
    return rows, cl.hdbscan_steps(_X[rows], min_cluster_size, min_samples)


@st.cache_data(max_entries=16, scope="session", show_spinner="Building the CF-tree…")
def _birch(digest: str, _X: np.ndarray, threshold: float, branching_factor: int, k: int):
    rows = _sample_rows(len(_X), VIEW_MAX_POINTS)
    X = _X[rows]
    run = cl.birch_steps(X, threshold, branching_factor, k)
    sweep = X[_sample_rows(len(X), SWEEP_MAX_POINTS)]
    thresholds = threshold * np.geomspace(0.25, 4.0, 7)
    counts = cl.subcluster_counts(sweep, thresholds, branching_factor)
    branching = cl.branching_effects(sweep, threshold, [5, 10, 25, 50, 100])
    return rows, run, thresholds, counts, branching


@st.cache_data(max_entries=16, scope="session", show_spinner="Trying other sizes…")
def _hdbscan_sizes(digest: str, _X: np.ndarray, min_cluster_size: int):
    X = _X[_sample_rows(len(_X), SWEEP_MAX_POINTS)]
    sizes = sorted({max(2, min_cluster_size // 2), min_cluster_size, 2 * min_cluster_size})
    return cl.size_effects(X, sizes, [1, 5, None])


@st.cache_data(max_entries=16, scope="session", show_spinner="Climbing from every seed…")
def _mean_shift(digest: str, _X: np.ndarray, bandwidth: float, bin_seeding: bool):
    rows = _sample_rows(len(_X), MEAN_SHIFT_MAX_POINTS)
    return rows, cl.MeanShift(bandwidth, bin_seeding=bin_seeding).fit(_X[rows])


@st.cache_data(max_entries=16, scope="session", show_spinner="Running EM…")
def _gmm(digest: str, _X: np.ndarray, k: int, covariance_type: str):
    model = cl.GaussianMixture(k, covariance_type=covariance_type, random_state=0).fit(_X)
    rows = _sample_rows(len(_X), cl.GRID_SAMPLES * 2)
    bic, aic = cl.information_criteria(_X[rows], range(1, 9))
    with threadpool_limits(limits=1):
        kmeans = KMEANS.fit(_X, {"n_clusters": k})
    return model, bic, aic, kmeans


# ----------------------------------------------------------------------------- views


def dbscan_view(row: Row, cell: cl.Cell) -> None:
    try:
        rows, run, curve = _dbscan(row.digest, row.data.X, cell.params["eps"],
                                   cell.params["min_samples"])
    except ValueError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    _sample_note(len(row.data.X), VIEW_MAX_POINTS, "This view")
    plane = row.plane[rows]
    left, right = st.columns([3, 2])
    with right:
        st.plotly_chart(charts.k_distance_figure(curve, eps=run.eps), key="clustering_kdist",
                        theme=None)
        kinds = {k: int((run.kinds == k).sum()) for k in ("core", "border", "noise")}
        st.markdown(
            f"**{kinds['core']:,} core** points have at least {run.min_samples} points within "
            f"ε = {run.eps:.3g} (themselves included); **{kinds['border']:,} border** points "
            f"are within ε of a core point; **{kinds['noise']:,} noise** points are neither."
        )
    with left:
        _dbscan_growth(row, plane, run)


@st.fragment
def _dbscan_growth(row: Row, plane: np.ndarray, run: cl.DbscanRun) -> None:
    """The growth slider and its picture: a fragment, so a step redraws this alone."""
    key = f"clustering_dbscan_step_{row.digest[:8]}_{run.eps:g}_{run.n_steps}"
    step = st.slider("Points reached so far (clusters grow from core points)", 0, run.n_steps,
                     run.n_steps, key=key)
    chart_key = f"clustering_dbscan_select_{row.digest[:8]}"  # "select": not kept by app.py
    clicked = clicked_point(st.session_state.get(chart_key), len(plane))
    focus = clicked if clicked is not None else (int(run.order[step - 1]) if step else None)
    fig = charts.dbscan_figure(plane, run, step=step,
                               focus=focus if row.projection is None else None,
                               axis_titles=row.axis_titles,
                               title=f"DBSCAN after {step:,} of {run.n_steps:,} points joined")
    fig.update_layout(clickmode="event+select")  # a click reruns this fragment alone
    st.plotly_chart(fig, key=chart_key, theme=None, on_select="rerun", selection_mode="points")
    whose = (f"point {clicked}'s (clicked)" if clicked is not None
             else "that of the point that joined last")
    st.caption(f"The dotted circle is the ε-ball: {whose}. Click any point to draw its own; "
               "hover a point for how many points lie within ε. Lines join each point to the "
               "core point whose ball reached it." if row.projection is None else
               "Drawn in the PCA plane: ε-balls live in all features, so none is drawn.")


def clicked_point(selection, n_points: int) -> int | None:
    """The point index of a click on the DBSCAN picture (its markers carry it as
    ``customdata[0]``), or None: no click, or a click on a line or the ε-ball."""
    points = (selection or {}).get("selection", {}).get("points", [])
    for point in points:
        data = point.get("customdata")
        if isinstance(data, dict):  # a row of a numpy customdata arrives as {"0": …, "1": …}
            data = [data[k] for k in sorted(data, key=int)]
        if isinstance(data, (list, tuple)) and data and 0 <= int(data[0]) < n_points:
            return int(data[0])
    return None


def hdbscan_view(row: Row, cell: cl.Cell) -> None:
    try:
        rows, run = _hdbscan(row.digest, row.data.X, cell.params["min_cluster_size"],
                             cell.params.get("min_samples"))
    except ValueError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    _sample_note(len(row.data.X), VIEW_MAX_POINTS, "This view")
    plane = row.plane[rows]
    top_left, top_right = st.columns(2)
    top_left.plotly_chart(
        charts.labels_figure(plane, run.labels, strength=run.probabilities,
                             axis_titles=row.axis_titles,
                             title=f"{run.n_clusters} clusters · shade = membership strength"),
        key="clustering_hdbscan_scatter", theme=None,
    )
    top_right.plotly_chart(charts.condensed_tree_figure(run), key="clustering_hdbscan_tree",
                           theme=None)
    st.caption("Same colours in both: each filled bar of the condensed tree is the cluster of "
               "that colour in the scatter. A cluster is selected when it is more stable "
               "(Σ of λ its points stay for) than its descendants together.")
    bottom_left, bottom_right = st.columns(2)
    bottom_left.plotly_chart(charts.mst_figure(plane, run, axis_titles=row.axis_titles),
                             key="clustering_hdbscan_mst", theme=None)
    bottom_right.plotly_chart(charts.single_linkage_figure(run), key="clustering_hdbscan_slt",
                              theme=None)
    st.markdown("**min_cluster_size and min_samples:** a larger min_cluster_size merges small "
                "clusters into their parents; a larger min_samples makes sparse points noise.")
    st.dataframe(_hdbscan_sizes(row.digest, row.data.X, run.min_cluster_size),
                 hide_index=True, column_config={"noise": st.column_config.NumberColumn(
                     format="percent")})
    st.caption(f"Core distance = distance to the {run.min_samples}-th nearest neighbour. "
               "Mutual reachability of a and b = max(core(a), core(b), d(a, b)): sparse points "
               "are pushed away from everything. Cutting the spanning tree's longest edges "
               "gives the single-linkage tree; min_cluster_size condenses it.")


def birch_view(row: Row, cell: cl.Cell) -> None:
    p = cell.params
    try:
        rows, run, thresholds, counts, branching = _birch(row.digest, row.data.X, p["threshold"],
                                               p["branching_factor"], p["n_clusters"])
    except ValueError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    _sample_note(len(row.data.X), VIEW_MAX_POINTS, "This view")
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.birch_figure(row.plane[rows], _in_plane(row, run),
                                          draw_radii=row.projection is None,
                                          axis_titles=row.axis_titles),
                      key="clustering_birch_chart", theme=None)
    right.plotly_chart(charts.threshold_figure(thresholds, counts, chosen=p["threshold"]),
                       key="clustering_birch_threshold", theme=None)
    right.markdown(
        f"**Stage 1** — one pass over the points builds a CF-tree: each point joins the "
        f"nearest leaf subcluster if its radius stays ≤ {p['threshold']:.3g}; a node with more "
        f"than {p['branching_factor']} entries splits. **Stage 2** — the "
        f"{run.n_subclusters} subcluster centroids (◆) are grouped into {p['n_clusters']} "
        "clusters by Ward's method; each point takes its nearest centroid's cluster."
    )
    right.dataframe(branching, hide_index=True)
    right.caption("A larger branching factor gives wider, shallower trees; on "
                  f"≤ {SWEEP_MAX_POINTS:,} points, with this threshold.")


def _in_plane(row: Row, run: cl.BirchRun) -> cl.BirchRun:
    """The run with its centroids in the drawn plane (radii kept: drawn only for 2-D data)."""
    if row.projection is None:
        return run
    mean = row.data.X.mean(axis=0)
    centers = (run.centers - mean) @ row.projection.T
    return cl.BirchRun(run.threshold, run.branching_factor, centers, run.radii, run.sizes,
                       run.leaf_of, run.depth, run.subcluster_of_point, run.subcluster_labels,
                       run.labels)


def mean_shift_view(row: Row, cell: cl.Cell) -> None:
    p = cell.params
    try:
        rows, ms = _mean_shift(row.digest, row.data.X, p["bandwidth"], bool(p["bin_seeding"]))
    except ValueError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    _sample_note(len(row.data.X), MEAN_SHIFT_MAX_POINTS, "Mean-Shift's view")
    project = _projector(row)
    st.plotly_chart(
        charts.mean_shift_figure(row.plane[rows], ms, project=project,
                                 axis_titles=row.axis_titles,
                                 title=f"{len(ms.trajectories_):,} seeds climb to "
                                       f"{len(ms.merge_.modes)} modes → "
                                       f"{len(ms.cluster_centers_)} clusters"),
        key="clustering_mean_shift_chart", theme=None,
    )
    st.caption(f"Each seed moves to the mean of the points within bandwidth {ms.bandwidth_:.3g} "
               "(dotted circles around the centres) until it stops; stopping points closer "
               "than the bandwidth merge (×), keeping the one with more points (★). "
               "Press ▶ Play to watch the seeds climb.")


def _projector(row: Row):
    if row.projection is None:
        return None
    mean = row.data.X.mean(axis=0)
    return lambda a: (np.asarray(a) - mean) @ row.projection.T


def gmm_view(row: Row, cell: cl.Cell) -> None:
    p = cell.params
    try:
        model, bic, aic, kmeans = _gmm(row.digest, row.data.X, p["n_components"],
                                       p["covariance_type"])
    except ValueError as exc:
        st.error(md_text(exc), icon=":material/error:")
        return
    _em_steps(row, model.history_, kmeans, p["n_components"])
    st.caption("E-step: each point's responsibilities (how likely each component made it; the "
               "shade shows the largest). M-step: weights, means and covariances from those "
               "weighted points. K-means is the limit where every responsibility is 0 or 1 "
               "and every covariance is the same tiny sphere.")
    criterion = st.radio("Criterion", ("BIC", "AIC"), horizontal=True, key="clustering_gmm_ic")
    st.plotly_chart(charts.bic_figure(bic if criterion == "BIC" else aic, criterion=criterion,
                                      chosen=(p["n_components"], p["covariance_type"])),
                    key="clustering_gmm_bic", theme=None)


@st.fragment
def _em_steps(row: Row, run: cl.EMRun, kmeans: np.ndarray, k: int) -> None:
    """The iteration slider and its pictures: a fragment, so a step redraws this alone."""
    key = f"clustering_gmm_iteration_{row.digest[:8]}_{k}_{run.covariance_type}_{run.n_iter}"
    iteration = st.slider("EM iteration", 0, run.n_iter, run.n_iter, key=key)
    resp = run.responsibilities_at(row.data.X, iteration)
    origin = None if row.projection is None else row.data.X.mean(axis=0)
    left, right = st.columns([3, 2])
    left.plotly_chart(charts.gmm_figure(row.plane, run, resp, iteration,
                                        projection=row.projection, origin=origin,
                                        axis_titles=row.axis_titles),
                      key="clustering_gmm_chart", theme=None)
    right.plotly_chart(charts.lower_bound_figure(run, iteration=iteration),
                       key="clustering_gmm_bound", theme=None)
    right.plotly_chart(charts.labels_figure(row.plane, kmeans, axis_titles=row.axis_titles,
                                            title=f"K-means, K = {k}: the hard-assignment "
                                                  "limit", height=360),
                       key="clustering_gmm_kmeans", theme=None)


def result_view(row: Row, cell: cl.Cell, name: str) -> None:
    """K-means and Ward: the result (their inner steps live elsewhere or are one cut)."""
    st.plotly_chart(charts.labels_figure(row.plane, cell.labels, axis_titles=row.axis_titles,
                                         title=f"{name}: {cell.n_clusters} clusters"),
                    key="clustering_result_chart", theme=None)
    if cell.method == "kmeans":
        st.page_link("app_pages/kmeans.py", label="See Lloyd's iterations in the K-means lab",
                     icon=":material/arrow_forward:")


def pca_panel(row: Row, cell: cl.Cell) -> None:
    """PCA of the open data set, coloured by its true groups or else by the open cell."""
    view = cl.pca_view(row.data.X)
    labels = row.data.labels if row.data.labels is not None else cell.labels
    if labels is None:
        labels = np.zeros(len(row.data.X), dtype=int)
    st.plotly_chart(charts.pca_figure(view, labels, feature_names=("",)),
                    key="clustering_pca_chart", theme=None)


VIEWS = {"dbscan": dbscan_view, "hdbscan": hdbscan_view, "birch": birch_view,
         "mean_shift": mean_shift_view, "gmm": gmm_view}
