"""The K-means lab's pictures of the plane: a half-step's clusters, the playback, the seeding.

Every scatter here is drawn on the same axes: the ranges the page computes once for the
data (``ranges``: x and y, from :func:`engine.kmeans.plane_ranges`) at equal scales, so a
student who moves from the result to the step-through, the playback or the seeding sees
the points where they were, and Voronoi edges meet the lines between centroids at right
angles. Plotly renders a subset of HTML in titles, axis titles and hover text, so every
piece of user text (file and column names) goes through :func:`charts.theme.user_text`.

Cluster numbers are shown 1-based ("cluster 1" is label 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts._figure import titled, whole_number_ticks
from charts.kmeans_curves import half_step_x, here_marker, j_curve_traces
from charts.theme import DARK, cluster_colors, user_text
from engine.kmeans import HalfStep, PlaneView, VoronoiGrid, padded_range

__all__ = [
    "WEBGL_THRESHOLD",
    "plane_notes",
    "playback_figure",
    "result_figure",
    "seeding_figure",
]

WEBGL_THRESHOLD = 5_000
"""Above this many drawn points scatters use WebGL (``Scattergl``); SVG slows down past it."""

Ranges = tuple[tuple[float, float], tuple[float, float]]

_CENTROID_SIZE = 24
_MAX_HOVER_CENTROIDS = 12


def _discrete_colorscale(colors: Sequence[str]) -> list[list]:
    """A stepped colorscale mapping integer k (with cmin=-0.5, cmax=K-0.5) to colors[k]."""
    n = len(colors)
    scale = []
    for k, color in enumerate(colors):
        scale += [[k / n, color], [(k + 1) / n, color]]
    return scale


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


def _fitted(points: npt.ArrayLike, *more: npt.ArrayLike) -> Ranges:
    """Padded x and y ranges around ``points`` and any more (centroids), as a fallback."""
    allp = np.vstack([np.asarray(points, dtype=np.float64).reshape(-1, 2)]
                     + [np.asarray(m, dtype=np.float64).reshape(-1, 2) for m in more])
    return padded_range(allp[:, 0]), padded_range(allp[:, 1])


def _plane_axes(fig: go.Figure, ranges: Ranges, axis_titles: tuple[str, str],
                *, row: int | None = None, col: int | None = None) -> None:
    """The Lab's one plane: the given ranges, equal scales, the plot area shrunk to fit.

    Equal scales make Voronoi edges perpendicular to the lines between centroids; they are
    obtained by shrinking the plot area (``constrain="domain"``), never by widening the
    ranges, so every scatter of a data set shows exactly the same window.
    """
    (x0, x1), (y0, y1) = ranges
    fig.update_xaxes(title_text=user_text(axis_titles[0]), range=[x0, x1], zeroline=False,
                     constrain="domain", row=row, col=col)  # fmt: skip
    x_anchor = fig.get_subplot(row, col).xaxis.plotly_name.replace("axis", "") if row else "x"
    fig.update_yaxes(title_text=user_text(axis_titles[1]), range=[y0, y1], zeroline=False,
                     scaleanchor=x_anchor, scaleratio=1, constrain="domain", row=row, col=col)


# --------------------------------------------------------------------------------------------
# The result of one half-step: points, centroids, Voronoi regions
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
    ranges: Ranges | None = None,
    axis_titles: tuple[str, str] = ("x1", "x2"),
    title: str = "K-means result",
    notes: Sequence[str] = (),
    webgl: bool | None = None,
    height: int = 560,
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
    ranges : ((x0, x1), (y0, y1)), optional
        The plane's window, the same for every scatter of the data; by default the
        Voronoi grid's, or padded around the points and centroids.
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
        )  # fmt: skip
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
                "color": colors[k], "size": 8 if len(points) <= 2_000 else 4,
                "opacity": 0.85, "line": {"width": 0.5 if len(points) <= 2_000 else 0,
                                          "color": "white"},
            },
        }  # fmt: skip
        if distances is not None:
            trace["customdata"] = _customdata(rows[members], np.asarray(distances)[members])
            trace["hovertemplate"] = _hover(n_clusters, f"cluster {k + 1}")
        fig.add_trace(Scatter(**trace))
    fig.add_trace(
        go.Scatter(
            x=centers[:, 0], y=centers[:, 1], mode="markers", name="centroids",
            marker={"symbol": "star", "size": _CENTROID_SIZE, "color": colors,
                    "line": {"width": 2, "color": DARK}},
            customdata=np.arange(1, n_clusters + 1),
            hovertemplate="<b>centroid %{customdata}</b><br>(%{x:.3f}, %{y:.3f})<extra></extra>",
        )
    )  # fmt: skip
    if ranges is None:
        ranges = ((voronoi.x[0], voronoi.x[-1]), (voronoi.y[0], voronoi.y[-1])) if voronoi \
            else _fitted(points, centers)  # fmt: skip
    titled(fig, title, notes, height=height, bottom=40)
    _plane_axes(fig, ranges, axis_titles)
    fig.update_layout(legend={"itemsizing": "constant", "orientation": "h", "y": -0.12,
                              "yanchor": "top", "x": 0})  # fmt: skip
    fig.update_layout(margin={"b": 40 + 26 * (1 + n_clusters // 5)})
    return fig


# --------------------------------------------------------------------------------------------
# Playback: Plotly frames animated in the browser, the J curve beside the plane
# --------------------------------------------------------------------------------------------


def _frame_name(step: HalfStep) -> str:
    return f"{step.iteration} {'assign' if step.half == 'assign' else 'update'}"


def _frame_label(step: HalfStep) -> str:
    half = "assignment" if step.half == "assign" else "update"
    return f"iteration {step.iteration} · after {half} · J = {step.inertia:,.3f}"


def playback_figure(
    points: npt.ArrayLike,
    steps: Sequence[HalfStep],
    *,
    project: Callable[[npt.ArrayLike], npt.NDArray] = np.asarray,
    row_numbers: npt.ArrayLike | None = None,
    ranges: Ranges | None = None,
    axis_titles: tuple[str, str] = ("x1", "x2"),
    notes: Sequence[str] = (),
    frame_ms: int = 700,
    hover_budget: int = 400_000,
    height: int = 600,
) -> go.Figure:
    """An animated figure with one frame per half-step, a Play/Pause button and a slider.

    Left, the plane: centroids move along their trajectories (drawn as lines up to the
    current frame) and points change colour at each assignment. Right, the J curve with a
    "you are here" ring that follows the frame; the slider's label names the half-step and
    its J. Every animated trace is SVG ``go.Scatter``: Plotly does not animate WebGL traces,
    so pass a display sample for large N. Distances to every centroid ride along in the
    hover text while the frames stay within ``hover_budget`` numbers.

    Frame traces, in order: points, centroid paths, centroids, the "you are here" ring.
    """
    points = np.asarray(points, dtype=np.float64)
    n_clusters = len(steps[0].centers)
    colors = cluster_colors(n_clusters)
    rows = np.arange(len(points)) if row_numbers is None else np.asarray(row_numbers)
    with_hover = len(steps) * len(points) * (n_clusters + 1) <= hover_budget
    centers = [np.asarray(project(s.centers), dtype=np.float64) for s in steps]  # (K, 2) each
    here_x = [half_step_x(s.iteration, s.half) for s in steps]

    def frame_data(i: int) -> list[go.Scatter]:
        step = steps[i]
        marker = {
            "color": step.labels.astype(np.int16), "colorscale": _discrete_colorscale(colors),
            "cmin": -0.5, "cmax": n_clusters - 0.5, "size": 8 if len(points) <= 600 else 5,
            "line": {"width": 0.5, "color": "white"}, "opacity": 0.85,
        }  # fmt: skip
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
            go.Scatter(x=[here_x[i]], y=[step.inertia]),
        ]

    first = frame_data(0)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], horizontal_spacing=0.1)
    fig.add_trace(
        go.Scatter(
            x=points[:, 0].astype(np.float32), y=points[:, 1].astype(np.float32),
            mode="markers", name="points", marker=first[0].marker, showlegend=False,
            customdata=first[0].customdata,
            hovertemplate=_hover(n_clusters, "point") if with_hover else
            "(%{x:.3f}, %{y:.3f})<extra></extra>",
        ), row=1, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=first[1].x, y=first[1].y, mode="lines", name="centroid paths",
            line={"color": DARK, "width": 2, "dash": "dot"}, hoverinfo="skip",
        ), row=1, col=1,
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=first[2].x, y=first[2].y, mode="markers", name="centroids",
            marker={"symbol": "star", "size": _CENTROID_SIZE, "color": colors,
                    "line": {"width": 2, "color": DARK}},
            hovertemplate="centroid (%{x:.3f}, %{y:.3f})<extra></extra>",
        ), row=1, col=1,
    )  # fmt: skip
    fig.add_trace(here_marker(here_x[0], steps[0].inertia, "this frame"), row=1, col=2)
    assigns = [s for s in steps if s.half == "assign"]
    updates = [s for s in steps if s.half == "update"]
    for trace in j_curve_traces([s.iteration for s in assigns], [s.inertia for s in assigns],
                                [s.inertia for s in updates]):  # fmt: skip
        trace.showlegend = False
        fig.add_trace(trace, row=1, col=2)

    fig.frames = [
        go.Frame(data=frame_data(i), traces=[0, 1, 2, 3], name=_frame_name(s))
        for i, s in enumerate(steps)
    ]
    play = {"frame": {"duration": frame_ms, "redraw": False},
            "transition": {"duration": int(frame_ms * 0.6), "easing": "cubic-in-out"},
            "fromcurrent": True, "mode": "immediate"}  # fmt: skip
    fig.update_layout(
        updatemenus=[{
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0, "y": -0.1, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 10, "r": 10},
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate",
                 "args": [[None], {"frame": {"duration": 0, "redraw": False},
                                   "mode": "immediate", "transition": {"duration": 0}}]},
            ],
        }],
        sliders=[{
            "active": 0, "x": 0.22, "len": 0.78, "y": -0.1, "yanchor": "top",
            "pad": {"t": 10},
            # The current frame's label (half-step and J) is the slider's value; the
            # labels under every step would overlap, so they are transparent.
            "currentvalue": {"prefix": "", "xanchor": "left"},
            "font": {"color": "rgba(0,0,0,0)"},
            "steps": [
                {"label": _frame_label(s), "method": "animate",
                 "args": [[_frame_name(s)], {"frame": {"duration": 0, "redraw": False},
                                            "mode": "immediate",
                                            "transition": {"duration": 250}}]}
                for s in steps
            ],
        }],
    )  # fmt: skip
    if ranges is None:
        ranges = _fitted(points, *centers)
    titled(fig, "Playback: every half-step, with J beside it", notes, height=height, bottom=130)
    fig.update_layout(margin_t=fig.layout.margin.t + 34)  # the legend sits under the title
    _plane_axes(fig, ranges, axis_titles, row=1, col=1)
    fig.update_xaxes(title_text="iteration", row=1, col=2,
                     range=[here_x[0] - 0.3, here_x[-1] + 0.3],
                     **whole_number_ticks(steps[-1].iteration))  # fmt: skip
    fig.update_yaxes(title_text="J", row=1, col=2)
    fig.update_layout(legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0})
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
    ranges: Ranges | None = None,
    axis_titles: tuple[str, str] = ("x1", "x2"),
    notes: Sequence[str] = (),
    height: int = 560,
) -> go.Figure:
    """How k-means++ picked centroid ``step`` (0-based): D² probabilities as size and colour.

    Parameters
    ----------
    points : (n, 2) drawn points; probabilities : (n,) their chance of being drawn;
    earlier : (step, 2) centroids chosen before; candidates : (m, 2) points drawn as
    candidates; chosen : (2,) the candidate kept (it lowers Σ D² most); ranges : the
    plane's window, as in :func:`result_figure`.
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
                    "showscale": True,
                    "colorbar": {"title": {"text": "P(chosen)"}, "len": 0.8, "y": 0,
                                 "yanchor": "bottom"},
                    "line": {"width": 0.4, "color": "#555"}, "opacity": 0.85},
            customdata=p.astype(np.float32),
            hovertemplate="P(chosen next) = %{customdata:.4f}<extra></extra>",
        )
    )  # fmt: skip
    if len(earlier):
        fig.add_trace(
            go.Scatter(
                x=earlier[:, 0], y=earlier[:, 1], mode="markers", name="centroids so far",
                marker={"symbol": "star", "size": _CENTROID_SIZE, "color": DARK},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=candidates[:, 0], y=candidates[:, 1], mode="markers",
            name="candidates drawn ∝ D²",
            marker={"symbol": "circle-open", "size": 22, "color": "#2563eb",
                    "line": {"width": 3}},
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=[chosen[0]], y=[chosen[1]], mode="markers", name="chosen (lowest Σ D²)",
            marker={"symbol": "star", "size": _CENTROID_SIZE + 6, "color": "#22c55e",
                    "line": {"width": 2, "color": DARK}},
        )
    )  # fmt: skip
    title = (
        "Seeding step 1: the first centroid is a uniformly random point"
        if step == 0 else
        f"Seeding step {step + 1} of {n_clusters}: points far from every centroid are likelier"
    )  # fmt: skip
    titled(fig, title, notes, height=height, bottom=80)
    _plane_axes(fig, ranges or _fitted(points, earlier, candidates), axis_titles)
    fig.update_layout(legend={"orientation": "h", "y": -0.12, "yanchor": "top", "x": 0})
    return fig
