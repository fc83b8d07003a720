"""Figures of the K-means lab: engine results in, ``plotly.graph_objects.Figure`` out.

No Streamlit here, and no computation beyond arranging numbers for Plotly: the points,
half-steps, grids and tables come from :mod:`engine.kmeans`. The look (template, fonts,
cluster colours) is the Lab's one theme, :mod:`charts.theme`. Plotly renders a subset of
HTML in titles, axis titles and hover text, so every piece of user text (file and column
names) goes through :func:`charts.theme.user_text` before it is placed in a figure.

Cluster numbers are shown 1-based ("cluster 1" is label 0).

One cohesive job, about 590 lines: every figure of the K-means lab (a half-step's scatter with
its Voronoi regions, the J and shift curves, the playback, the seeding, several starts, the
restart study, the elbow), built on the layout and hover helpers at the top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.theme import FONT, HOVER_FONT_SIZE, TEMPLATE, cluster_colors, user_text
from engine.kmeans import HalfStep, KMeansRun, PlaneView, VoronoiGrid

__all__ = [
    "WEBGL_THRESHOLD",
    "cluster_colors",
    "convergence_figure",
    "elbow_figure",
    "plane_notes",
    "playback_figure",
    "restart_figure",
    "result_figure",
    "runs_figure",
    "seeding_figure",
    "shift_figure",
]

WEBGL_THRESHOLD = 5_000
"""Above this many drawn points scatters use WebGL (``Scattergl``); SVG slows down past it."""

_CENTROID_SIZE = 24
_MAX_HOVER_CENTROIDS = 12


def _discrete_colorscale(colors: Sequence[str]) -> list[list]:
    """A stepped colorscale mapping integer k (with cmin=-0.5, cmax=K-0.5) to colors[k]."""
    n = len(colors)
    scale = []
    for k, color in enumerate(colors):
        scale += [[k / n, color], [(k + 1) / n, color]]
    return scale


def _layout(fig: go.Figure, title: str, notes: Sequence[str] = (), height: int = 560) -> None:
    fig.update_layout(
        template=TEMPLATE,
        font=FONT,
        height=height,
        margin={"l": 60, "r": 20, "t": 90 if notes else 60, "b": 55},
        title={"text": user_text(title), "x": 0.01, "xanchor": "left"},
        hoverlabel={"font_size": HOVER_FONT_SIZE},
    )
    if notes:
        fig.add_annotation(
            text="<br>".join(user_text(n) for n in notes),
            xref="paper", yref="paper", x=0, y=1.0, xanchor="left", yanchor="bottom",
            showarrow=False, align="left", font={"size": 13, "color": "#555"},
        )


def plane_notes(view: PlaneView) -> list[str]:
    """What the reader must know about how the points are drawn (projection, sample)."""
    notes = []
    if view.projected:
        notes.append(
            f"PCA projection of {view.n_features} features onto 2 axes; "
            f"K-means ran on all {view.n_features} features."
        )
    if view.sampled:
        notes.append(
            f"Showing a random sample of {len(view.index):,} of {view.n_total:,} points; "
            "K-means ran on all of them."
        )
    return notes


def _hover(n_clusters: int, header: str) -> str:
    """Hover text: row number, then the distance to every centroid (customdata[1:])."""
    lines = [f"<b>{header}</b> · row %{{customdata[0]:,.0f}}"]
    for k in range(min(n_clusters, _MAX_HOVER_CENTROIDS)):
        lines.append(f"distance to centroid {k + 1}: %{{customdata[{k + 1}]:.3f}}")
    if n_clusters > _MAX_HOVER_CENTROIDS:
        lines.append(f"(first {_MAX_HOVER_CENTROIDS} of {n_clusters} centroids)")
    return "<br>".join(lines) + "<extra></extra>"


def _customdata(rows: npt.ArrayLike, distances: npt.ArrayLike) -> npt.NDArray[np.float32]:
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 1)
    distances = np.asarray(distances, dtype=np.float32)[:, :_MAX_HOVER_CENTROIDS]
    return np.hstack([rows, distances])  # (n, 1 + K)


# --------------------------------------------------------------------------------------------
# The result: points, centroids, Voronoi regions
# --------------------------------------------------------------------------------------------


def result_figure(
    points: npt.ArrayLike,
    labels: npt.ArrayLike,
    centers: npt.ArrayLike,
    *,
    distances: npt.ArrayLike | None = None,
    row_numbers: npt.ArrayLike | None = None,
    counts: npt.ArrayLike | None = None,
    voronoi: VoronoiGrid | None = None,
    axis_titles: tuple[str, str] = ("x1", "x2"),
    title: str = "K-means result",
    notes: Sequence[str] = (),
    webgl: bool | None = None,
    height: int = 600,
) -> go.Figure:
    """Points coloured by cluster, centroids as large stars, Voronoi regions shaded behind.

    Parameters
    ----------
    points : array of shape (n, 2)
        Plane coordinates of the drawn points.
    labels : array of shape (n,)
        Cluster of each drawn point (0-based).
    centers : array of shape (K, 2)
        Plane coordinates of the centroids.
    distances : array of shape (n, K), optional
        Distance of each point to each centroid, shown on hover ("why this cluster?").
    row_numbers : array of shape (n,), optional
        Row of each point in the data (for hover); 0..n-1 by default.
    counts : array of shape (K,), optional
        Cluster sizes over all the data, for the legend.
    voronoi : VoronoiGrid, optional
        Nearest-centroid grid shaded behind the points (2-D data only).
    axis_titles, title, notes : str
        User text allowed: it is escaped.
    webgl : bool, optional
        Draw points with ``Scattergl``; default when more than ``WEBGL_THRESHOLD`` points.
    """
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    centers = np.asarray(centers, dtype=np.float64)
    n_clusters = len(centers)
    colors = cluster_colors(n_clusters)
    webgl = len(points) > WEBGL_THRESHOLD if webgl is None else webgl
    Scatter = go.Scattergl if webgl else go.Scatter
    rows = np.arange(len(points)) if row_numbers is None else np.asarray(row_numbers)
    fig = go.Figure()

    if voronoi is not None:
        fig.add_trace(
            go.Heatmap(
                x=voronoi.x, y=voronoi.y, z=voronoi.labels, name="Voronoi regions",
                colorscale=_discrete_colorscale(colors), zmin=-0.5, zmax=n_clusters - 0.5,
                opacity=0.16, showscale=False, hoverinfo="skip",
            )
        )
    for k in range(n_clusters):
        members = labels == k
        size = int(members.sum()) if counts is None else int(np.asarray(counts)[k])
        trace = {
            "x": points[members, 0].astype(np.float32),
            "y": points[members, 1].astype(np.float32),
            "mode": "markers",
            "name": f"cluster {k + 1} ({size:,})",
            "legendgroup": f"c{k}",
            "marker": {
                "color": colors[k], "size": 7 if len(points) <= 2_000 else 4,
                "opacity": 0.85, "line": {"width": 0.5 if len(points) <= 2_000 else 0,
                                          "color": "white"},
            },
        }
        if distances is not None:
            trace["customdata"] = _customdata(rows[members], np.asarray(distances)[members])
            trace["hovertemplate"] = _hover(n_clusters, f"cluster {k + 1}")
        fig.add_trace(Scatter(**trace))
    fig.add_trace(
        go.Scatter(
            x=centers[:, 0], y=centers[:, 1], mode="markers", name="centroids",
            marker={"symbol": "star", "size": _CENTROID_SIZE, "color": colors,
                    "line": {"width": 2, "color": "#111"}},
            customdata=np.arange(1, n_clusters + 1),
            hovertemplate="<b>centroid %{customdata}</b><br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        )
    )
    _layout(fig, title, notes, height)
    # Equal scales (so Voronoi edges look perpendicular to the lines between centroids),
    # obtained by shrinking the plot area, never by widening the range past the grid.
    fig.update_xaxes(title_text=user_text(axis_titles[0]), zeroline=False, constrain="domain")
    fig.update_yaxes(title_text=user_text(axis_titles[1]), zeroline=False,
                     scaleanchor="x", scaleratio=1, constrain="domain")
    if voronoi is not None:
        fig.update_xaxes(range=[voronoi.x[0], voronoi.x[-1]])
        fig.update_yaxes(range=[voronoi.y[0], voronoi.y[-1]])
    fig.update_layout(legend={"itemsizing": "constant"})
    return fig


# --------------------------------------------------------------------------------------------
# Convergence: J at both half-steps, the centroid shift against the tolerance
# --------------------------------------------------------------------------------------------


def _stop_text(run: KMeansRun) -> str:
    if run.stop_reason == "max_iter reached":
        return f"stopped: max_iter = {run.n_iter} reached before converging"
    return f"converged at iteration {run.n_iter}: {run.stop_reason}"


def convergence_figure(run: KMeansRun, *, log_y: bool = False, height: int = 420) -> go.Figure:
    """J per iteration after the assignment (x = t) and after the update (x = t + ½).

    J never rises from one half-step to the next; the zigzag line joins them in order and
    a marker shows where the run stopped and why.
    """
    t = np.array([it.iteration for it in run.iterations], dtype=np.float64)
    j_assign = np.array([it.inertia_assign for it in run.iterations])
    j_update = np.array([it.inertia_update for it in run.iterations])
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=np.column_stack([t, t + 0.5]).ravel(), y=run.inertia_curve, mode="lines",
            name="J, half-step by half-step", line={"color": "#9ca3af", "width": 2},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t, y=j_assign, mode="markers", name="after assignment",
            marker={"symbol": "circle", "size": 10, "color": "#4f46e5"},
            hovertemplate="iteration %{x}<br>J after assignment = %{y:,.4f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t + 0.5, y=j_update, mode="markers", name="after update",
            marker={"symbol": "diamond", "size": 10, "color": "#f59e0b"},
            customdata=t,
            hovertemplate="iteration %{customdata}<br>J after update = %{y:,.4f}<extra></extra>",
        )
    )
    converged = run.converged
    fig.add_trace(
        go.Scatter(
            x=[t[-1] + 0.5], y=[j_update[-1]], mode="markers+text",
            name="converged" if converged else "stopped (max_iter)",
            text=[_stop_text(run)], textposition="top left",
            marker={"symbol": "star" if converged else "x", "size": 18,
                    "color": "#16a34a" if converged else "#dc2626",
                    "line": {"width": 1, "color": "#111"}},
            hovertemplate=f"{_stop_text(run)}<br>J = %{{y:,.4f}}<extra></extra>",
        )
    )
    _layout(fig, "Objective J = Σ‖x − μ‖² at every half-step", height=height)
    positive = bool((run.inertia_curve > 0).all())
    fig.update_yaxes(title_text="J" + (" (log scale)" if log_y and positive else ""),
                     type="log" if log_y and positive else "linear")
    fig.update_xaxes(title_text="iteration", dtick=1 if len(t) <= 30 else None)
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return fig


def shift_figure(run: KMeansRun, *, height: int = 420) -> go.Figure:
    """Σ‖Δμ‖² per iteration on a log axis, with the tolerance it is compared against."""
    t = np.array([it.iteration for it in run.iterations])
    shift = np.array([it.center_shift_total for it in run.iterations])
    fig = go.Figure(
        go.Scatter(
            x=t, y=shift, mode="lines+markers", name="centroid shift Σ‖Δμ‖²",
            line={"color": "#0ea5e9", "width": 3}, marker={"size": 9},
            hovertemplate="iteration %{x}<br>Σ‖Δμ‖² = %{y:.3e}<extra></extra>",
        )
    )
    if run.tol > 0:
        fig.add_trace(
            go.Scatter(
                x=[t.min() - 0.3, t.max() + 0.3], y=[run.tol, run.tol], mode="lines",
                name=f"tolerance {run.tol:.3g} (tol × mean feature variance)",
                line={"color": "#dc2626", "dash": "dash", "width": 2},
                hovertemplate=f"tolerance = {run.tol:.3e}<extra></extra>",
            )
        )
    notes = [] if run.tol > 0 else ["tol = 0: the run stops only when no point changes cluster."]
    if (shift == 0).any():
        notes.append("A shift of exactly 0 cannot be drawn on a log axis.")
    _layout(fig, "How far the centroids moved", notes, height)
    fig.update_yaxes(type="log", title_text="Σ‖Δμ‖² (log scale)", exponentformat="power", dtick=1)
    fig.update_xaxes(title_text="iteration", dtick=1 if len(t) <= 30 else None)
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return fig


# --------------------------------------------------------------------------------------------
# Playback: Plotly frames animated in the browser
# --------------------------------------------------------------------------------------------


def _frame_name(step: HalfStep) -> str:
    return f"{step.iteration} {'assign' if step.half == 'assign' else 'update'}"


def playback_figure(
    points: npt.ArrayLike,
    steps: Sequence[HalfStep],
    *,
    project: Callable[[npt.ArrayLike], npt.NDArray] = np.asarray,
    row_numbers: npt.ArrayLike | None = None,
    axis_titles: tuple[str, str] = ("x1", "x2"),
    notes: Sequence[str] = (),
    frame_ms: int = 700,
    hover_budget: int = 400_000,
    height: int = 620,
) -> go.Figure:
    """An animated figure with one frame per half-step, a Play/Pause button and a slider.

    Centroids move along their trajectories (drawn as lines up to the current frame) and
    points change colour at each assignment. Every animated trace is SVG ``go.Scatter``:
    Plotly does not animate WebGL traces, so pass a display sample for large N. Distances
    to every centroid ride along in the hover text while the frames stay within
    ``hover_budget`` numbers.
    """
    points = np.asarray(points, dtype=np.float64)
    n_clusters = len(steps[0].centers)
    colors = cluster_colors(n_clusters)
    rows = np.arange(len(points)) if row_numbers is None else np.asarray(row_numbers)
    with_hover = len(steps) * len(points) * (n_clusters + 1) <= hover_budget
    centers = [np.asarray(project(s.centers), dtype=np.float64) for s in steps]  # (K, 2) each

    def frame_data(i: int) -> list[go.Scatter]:
        step = steps[i]
        marker = {
            "color": step.labels.astype(np.int16), "colorscale": _discrete_colorscale(colors),
            "cmin": -0.5, "cmax": n_clusters - 0.5, "size": 8 if len(points) <= 600 else 5,
            "line": {"width": 0.5, "color": "white"}, "opacity": 0.85,
        }
        pts = {"marker": marker}
        if with_hover:
            pts["customdata"] = _customdata(rows, step.distances)
        # Trajectories: each centroid's path so far, one polyline per centroid, None-separated.
        path = np.stack(centers[: i + 1])  # (i+1, K, 2)
        xs = np.concatenate([np.append(path[:, k, 0], np.nan) for k in range(n_clusters)])
        ys = np.concatenate([np.append(path[:, k, 1], np.nan) for k in range(n_clusters)])
        return [
            go.Scatter(**pts),
            go.Scatter(x=xs, y=ys),
            go.Scatter(x=centers[i][:, 0], y=centers[i][:, 1]),
        ]

    first = frame_data(0)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=points[:, 0].astype(np.float32), y=points[:, 1].astype(np.float32),
            mode="markers", name="points", marker=first[0].marker, showlegend=False,
            customdata=first[0].customdata,
            hovertemplate=_hover(n_clusters, "point") if with_hover else
            "row %{x:.3f}, %{y:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=first[1].x, y=first[1].y, mode="lines", name="centroid paths",
            line={"color": "#111", "width": 2, "dash": "dot"}, hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=first[2].x, y=first[2].y, mode="markers", name="centroids",
            marker={"symbol": "star", "size": _CENTROID_SIZE, "color": colors,
                    "line": {"width": 2, "color": "#111"}},
            hovertemplate="centroid (%{x:.3f}, %{y:.3f})<extra></extra>",
        )
    )

    fig.frames = [
        go.Frame(data=frame_data(i), traces=[0, 1, 2], name=_frame_name(s))
        for i, s in enumerate(steps)
    ]
    play = {"frame": {"duration": frame_ms, "redraw": False},
            "transition": {"duration": int(frame_ms * 0.6), "easing": "cubic-in-out"},
            "fromcurrent": True, "mode": "immediate"}
    fig.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0, "y": -0.08, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 10, "r": 10},
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate",
                 "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                   "mode": "immediate", "transition": {"duration": 0}}]},
            ],
        }],
        sliders=[{
            "active": 0, "x": 0.3, "len": 0.7, "y": -0.08, "yanchor": "top",
            "pad": {"t": 10}, "currentvalue": {"prefix": "half-step ", "font": {"size": 14}},
            "steps": [
                {"label": f"{s.iteration}{'a' if s.half == 'assign' else 'u'}",
                 "method": "animate",
                 "args": [[_frame_name(s)], {"frame": {"duration": 0, "redraw": False},
                                            "mode": "immediate",
                                            "transition": {"duration": 250}}]}
                for s in steps
            ],
        }],
    )
    _layout(fig, "Playback: a = assignment, u = update half-step", notes, height)
    fig.update_layout(margin={"b": 130})
    # Fixed ranges: the view must not jump between frames.
    all_x = np.concatenate([points[:, 0]] + [c[:, 0] for c in centers])
    all_y = np.concatenate([points[:, 1]] + [c[:, 1] for c in centers])
    pad_x = 0.05 * (np.ptp(all_x) or 1.0)
    pad_y = 0.05 * (np.ptp(all_y) or 1.0)
    fig.update_xaxes(title_text=user_text(axis_titles[0]), zeroline=False,
                     range=[all_x.min() - pad_x, all_x.max() + pad_x])
    fig.update_yaxes(title_text=user_text(axis_titles[1]), zeroline=False,
                     range=[all_y.min() - pad_y, all_y.max() + pad_y])
    return fig


# --------------------------------------------------------------------------------------------
# k-means++ seeding
# --------------------------------------------------------------------------------------------


def seeding_figure(
    points: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    earlier: npt.ArrayLike,
    candidates: npt.ArrayLike,
    chosen: npt.ArrayLike,
    *,
    step: int,
    n_clusters: int,
    axis_titles: tuple[str, str] = ("x1", "x2"),
    notes: Sequence[str] = (),
    height: int = 560,
) -> go.Figure:
    """How k-means++ picked centroid ``step`` (0-based): D² probabilities as size and colour.

    Parameters
    ----------
    points : (n, 2) drawn points; probabilities : (n,) their chance of being drawn;
    earlier : (step, 2) centroids chosen before; candidates : (m, 2) points drawn as
    candidates; chosen : (2,) the candidate kept (it lowers Σ D² most).
    """
    points = np.asarray(points, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    earlier = np.asarray(earlier, dtype=np.float64).reshape(-1, 2)
    candidates = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    chosen = np.asarray(chosen, dtype=np.float64).reshape(2)
    uniform = np.ptp(p) <= 1e-12 * max(p.max(), 1e-300)
    relative = np.full_like(p, 0.1) if uniform else p / p.max()
    Scatter = go.Scattergl if len(points) > WEBGL_THRESHOLD else go.Scatter
    fig = go.Figure()
    fig.add_trace(
        Scatter(
            x=points[:, 0].astype(np.float32), y=points[:, 1].astype(np.float32),
            mode="markers", name="points (size, colour ∝ D²)",
            marker={"size": (4 + 22 * np.sqrt(relative)).astype(np.float32),
                    "color": p.astype(np.float32), "colorscale": "YlOrRd",
                    "cmin": 0.0, "cmax": float(p.max()) if p.max() > 0 else 1.0,
                    "showscale": True, "colorbar": {"title": {"text": "P(chosen)"}},
                    "line": {"width": 0.4, "color": "#555"}, "opacity": 0.85},
            customdata=p.astype(np.float32),
            hovertemplate="P(chosen next) = %{customdata:.4f}<extra></extra>",
        )
    )
    if len(earlier):
        fig.add_trace(
            go.Scatter(
                x=earlier[:, 0], y=earlier[:, 1], mode="markers", name="centroids so far",
                marker={"symbol": "star", "size": _CENTROID_SIZE, "color": "#111"},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=candidates[:, 0], y=candidates[:, 1], mode="markers",
            name="candidates drawn ∝ D²",
            marker={"symbol": "circle-open", "size": 22, "color": "#2563eb",
                    "line": {"width": 3}},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[chosen[0]], y=[chosen[1]], mode="markers", name="chosen (lowest Σ D²)",
            marker={"symbol": "star", "size": _CENTROID_SIZE + 6, "color": "#22c55e",
                    "line": {"width": 2, "color": "#111"}},
        )
    )
    title = (
        "Seeding step 1: the first centroid is a uniformly random point"
        if step == 0 else
        f"Seeding step {step + 1} of {n_clusters}: points far from every centroid are likelier"
    )
    _layout(fig, title, notes, height)
    fig.update_xaxes(title_text=user_text(axis_titles[0]), zeroline=False)
    fig.update_yaxes(title_text=user_text(axis_titles[1]), zeroline=False,
                     scaleanchor="x", scaleratio=1)
    fig.update_layout(legend={"orientation": "h", "y": -0.15})
    return fig


# --------------------------------------------------------------------------------------------
# Several starts: runs of one fit, restart study, choosing K
# --------------------------------------------------------------------------------------------


def runs_figure(runs: Sequence[KMeansRun], *, height: int = 440) -> go.Figure:
    """J after each update for every run of one fit (``n_init``); the kept run is marked."""
    fig = go.Figure()
    for i, run in enumerate(runs):
        j = np.array([it.inertia_update for it in run.iterations])
        t = np.arange(1, len(j) + 1)
        best = run.is_best
        fig.add_trace(
            go.Scatter(
                x=t, y=j, mode="lines+markers",
                name=f"run {i + 1}{' (best)' if best else ''}: J = {run.inertia:,.3f}",
                line={"width": 4 if best else 1.5, "color": "#16a34a" if best else None},
                marker={"size": 8 if best else 5},
                opacity=1.0 if best else 0.6,
                hovertemplate=f"run {i + 1}<br>iteration %{{x}}<br>J = %{{y:,.4f}}<extra></extra>",
            )
        )
    _layout(fig, f"{len(runs)} starts, one J curve each: the lowest final J is kept",
            height=height)
    fig.update_xaxes(title_text="iteration")
    fig.update_yaxes(title_text="J after update")
    return fig


def restart_figure(study: pd.DataFrame, minima: pd.DataFrame, *, height: int = 440) -> go.Figure:
    """Histogram of final J over many seeds, one per init; the best J as a dashed line."""
    colors = {"random": "#ef4444", "k-means++": "#4f46e5"}
    fig = go.Figure()
    for init, group in study.groupby("init", sort=False):
        n_min = int((minima["init"] == init).sum())
        hits = int(minima.loc[(minima["init"] == init) & minima["best"], "runs"].sum())
        fig.add_trace(
            go.Histogram(
                x=group["J"].to_numpy(), name=(
                    f"{init}: {n_min} distinct minima, best found {hits}/{len(group)}"),
                marker_color=colors.get(str(init)), opacity=0.65, nbinsx=40,
            )
        )
    best = float(study["J"].min())
    fig.add_vline(x=best, line_dash="dash", line_color="#16a34a",
                  annotation_text=f"best J = {best:,.3f}", annotation_position="top right")
    _layout(fig, "Final J over many seeds: local minima made visible", height=height)
    fig.update_layout(barmode="overlay", legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text="final J")
    fig.update_yaxes(title_text="runs")
    return fig


def elbow_figure(sweep: pd.DataFrame, *, chosen_k: int | None = None,
                 height: int = 420) -> go.Figure:
    """Final J against K (the elbow) beside the silhouette score against K."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        "Elbow: final J for each K", "Silhouette score (higher is better)"))
    fig.add_trace(go.Scatter(x=sweep["K"], y=sweep["J"], mode="lines+markers", name="J",
                             line={"color": "#4f46e5", "width": 3}, marker={"size": 9}),
                  row=1, col=1)
    has_sil = sweep["silhouette"].notna()
    fig.add_trace(go.Scatter(x=sweep.loc[has_sil, "K"], y=sweep.loc[has_sil, "silhouette"],
                             mode="lines+markers", name="silhouette",
                             line={"color": "#f59e0b", "width": 3}, marker={"size": 9}),
                  row=1, col=2)
    if has_sil.any():
        best = sweep.loc[sweep["silhouette"].idxmax()]
        fig.add_trace(go.Scatter(x=[best["K"]], y=[best["silhouette"]], mode="markers",
                                 name=f"best silhouette: K = {int(best['K'])}",
                                 marker={"symbol": "star", "size": 20, "color": "#16a34a"}),
                      row=1, col=2)
    if chosen_k is not None:
        for col in (1, 2):
            fig.add_vline(x=chosen_k, line_dash="dot", line_color="#6b7280", row=1, col=col)
    _layout(fig, "", height=height)
    fig.update_layout(margin={"t": 50}, legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text="K", dtick=1)
    return fig
