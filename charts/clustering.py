"""Figures of the Clustering-family lab: engine results in, ``plotly.graph_objects.Figure`` out.

One colour rule everywhere: label k is ``cluster_colors(n_clusters)[k]``, noise (-1) is
``NOISE_COLOR``. The HDBSCAN condensed tree paints each selected cluster with the colour
its points have in the scatter (the mismatch users of other tools report;
``tests/test_clustering_charts.py`` checks it). Points are drawn in whatever 2-D plane the
page chose (the data itself, or a projection); nothing here computes clusters.

Every piece of user text (titles built from file or column names) goes through
``charts.theme.user_text``. Tick and label fonts are at least 14 px, for projectors.

One module for the lab's figures, longer than most (about 580 lines) because every figure
shares the colour rule, the plane and the animation helpers above its section.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.cluster.hierarchy import dendrogram

from charts.theme import FONT, HOVER_FONT_SIZE, TEMPLATE, cluster_colors, user_text
from engine.clustering import (
    BirchRun,
    Cell,
    DbscanRun,
    EMRun,
    HdbscanRun,
    KDistance,
    MeanShift,
    PcaView,
    TsneRun,
)

__all__ = [
    "NOISE_COLOR",
    "bic_figure",
    "birch_figure",
    "condensed_tree_figure",
    "dbscan_figure",
    "gmm_figure",
    "grid_figure",
    "k_distance_figure",
    "label_colors",
    "labels_figure",
    "lower_bound_figure",
    "mean_shift_figure",
    "mst_figure",
    "pca_figure",
    "point_colors",
    "single_linkage_figure",
    "threshold_figure",
    "tsne_figure",
]

Array = npt.NDArray[np.float64]
NOISE_COLOR = "#B8B8B8"
UNREACHED_COLOR = "#E4E4E4"
AXIS_FONT = {"size": 14}
WEBGL_THRESHOLD = 5_000
_CIRCLE = np.linspace(0.0, 2.0 * np.pi, 61)


# ----------------------------------------------------------------------------- shared


def label_colors(labels: npt.ArrayLike, n_clusters: int | None = None) -> list[str]:
    """The colour of each point: its cluster's, or ``NOISE_COLOR`` for -1."""
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if n_clusters is None and len(labels) else (n_clusters or 0)
    palette = np.array(cluster_colors(max(k, 1)) + [NOISE_COLOR], dtype=object)
    return palette[np.where(labels < 0, len(palette) - 1, labels)].tolist()


def _layout(fig: go.Figure, title: str, height: int, **kwargs) -> go.Figure:
    fig.update_layout(
        template=TEMPLATE, font=FONT, height=height,
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 18}},
        margin={"l": 60, "r": 20, "t": 70, "b": 55},
        hoverlabel={"font_size": HOVER_FONT_SIZE}, **kwargs,
    )
    fig.update_xaxes(tickfont=AXIS_FONT, title_font=AXIS_FONT)
    fig.update_yaxes(tickfont=AXIS_FONT, title_font=AXIS_FONT)
    return fig


def _plane_axes(fig: go.Figure, axis_titles: Sequence[str], **where) -> None:
    fig.update_xaxes(title_text=user_text(axis_titles[0]), **where)
    fig.update_yaxes(title_text=user_text(axis_titles[1]), scaleanchor="x", scaleratio=1,
                     **where)


def _label_marker(labels: npt.NDArray) -> dict:
    """Marker colours for labels as numbers on a stepped colour scale: value 0 is noise,
    value k + 1 is cluster k. Numbers, not colour strings, because Plotly checks every
    colour string one by one (0.13 s per 10,000 points; the 7 × 7 grid took seconds)."""
    k = max(int(labels.max()) + 1 if len(labels) else 0, 1)
    colors = [NOISE_COLOR, *cluster_colors(k)]
    scale = [[edge / (k + 1), color] for i, color in enumerate(colors) for edge in (i, i + 1)]
    return {"color": labels + 1, "colorscale": scale, "cmin": -0.5, "cmax": k + 0.5}


def point_colors(trace: go.Scattergl) -> list[str]:
    """The colour each point of a ``_points`` trace is drawn in (for tests and exports)."""
    marker = trace.marker
    values = np.asarray(marker.color, dtype=float)
    steps = marker.colorscale[::2]  # one (start, colour) pair per value
    index = np.round((values - marker.cmin) / (marker.cmax - marker.cmin) * len(steps) - 0.5)
    return [steps[int(i)][1] for i in index]


def _trace_class(n_points: int) -> type:
    """SVG up to ``WEBGL_THRESHOLD`` points, WebGL above. One class per figure: WebGL traces
    are painted above every SVG trace, so mixing them hides the ellipses and circles."""
    return go.Scattergl if n_points > WEBGL_THRESHOLD else go.Scatter


def _points(points: Array, labels: npt.ArrayLike, *, name: str = "points", size: int = 7,
            opacity: npt.ArrayLike | float = 0.85, hover: str | None = None,
            gl: bool | None = None) -> go.Scatter:
    labels = np.asarray(labels).astype(np.int32)  # sent as typed arrays: small types, less sent
    points = np.asarray(points, dtype=np.float32)
    Trace = _trace_class(len(points)) if gl is None else go.Scattergl if gl else go.Scatter
    return Trace(
        x=points[:, 0], y=points[:, 1], mode="markers", name=name, showlegend=False,
        marker={**_label_marker(labels), "size": size, "opacity": opacity,
                "line": {"width": 0}},
        customdata=labels,
        hovertemplate=hover or "cluster %{customdata}<extra></extra>",
    )


def _circle(center: Array, radius: float) -> tuple[Array, Array]:
    return center[0] + radius * np.cos(_CIRCLE), center[1] + radius * np.sin(_CIRCLE)


def _segments(a: Array, b: Array) -> tuple[Array, Array]:
    """x and y of many line segments a_i → b_i in one trace (None-separated)."""
    x = np.column_stack([a[:, 0], b[:, 0], np.full(len(a), np.nan)]).ravel()
    y = np.column_stack([a[:, 1], b[:, 1], np.full(len(a), np.nan)]).ravel()
    return x, y


def labels_figure(points: Array, labels: npt.ArrayLike, *, title: str,
                  axis_titles: Sequence[str] = ("x1", "x2"), strength: npt.ArrayLike | None = None,
                  height: int = 480) -> go.Figure:
    """A clustering: one colour per cluster, noise grey; ``strength`` (0…1) as opacity."""
    opacity = 0.85 if strength is None else np.clip(0.15 + 0.85 * np.asarray(strength), 0, 1)
    fig = go.Figure(_points(points, labels, opacity=opacity))
    _plane_axes(fig, axis_titles)
    return _layout(fig, title, height)


# ----------------------------------------------------------------------------- the grid


def grid_figure(rows: Sequence[tuple[str, Array]], cells: Sequence[Sequence[Cell]],
                methods: Sequence[str], *, cell_height: int = 210) -> go.Figure:
    """Small multiples: one row per data set, one column per method.

    ``rows`` gives each row's title and its points in the plane drawn. Every cell's title
    says its number of clusters and its score, and below it the fit time and noise share;
    a failed cell shows "failed" (its message is on the page). Trace i is cell
    (i // n_methods, i % n_methods), so a click on a point names its cell.

    The axes are laid out by hand: ``make_subplots`` took 3 s for 7 × 7 cells, this 0.1 s.
    """
    n_rows, n_cols = len(rows), len(methods)
    title_px, top_px = 84, 60
    height = (cell_height + title_px) * n_rows + top_px
    layout: dict = {}
    traces, annotations = [], []
    for r, ((title, points), row) in enumerate(zip(rows, cells, strict=True)):
        # 3 px for the standard shapes' 1,500 points, larger for a sample table's 150.
        size = int(np.clip(round(90 / np.sqrt(max(len(points), 1))), 3, 7))
        y1 = 1 - (top_px + r * (cell_height + title_px) + title_px) / height
        y0 = y1 - cell_height / height
        for c, cell in enumerate(row):
            i = r * n_cols + c + 1
            x0, x1 = c / n_cols + 0.004, (c + 1) / n_cols - 0.004
            hidden = {"showticklabels": False, "showgrid": False, "zeroline": False}
            layout[f"xaxis{i}"] = {"domain": [x0, x1], "anchor": f"y{i}", **hidden}
            layout[f"yaxis{i}"] = {"domain": [max(y0, 0.0), y1], "anchor": f"x{i}", **hidden}
            labels = cell.labels if cell.labels is not None else np.full(len(points), -1)
            trace = _points(points, labels, size=size, opacity=0.8, gl=True,
                            hover=f"{user_text(title)} · {user_text(methods[c])}<br>"
                                  "cluster %{customdata} — click to open<extra></extra>")
            trace.update(xaxis=f"x{i}", yaxis=f"y{i}")
            traces.append(trace)
            text = ("<b>failed</b><br>see the<br>message<br> " if cell.error is not None else
                    f"<b>{cell.score_text}</b><br>{cell.n_clusters} clusters<br>"
                    f"{cell.noise_share:.0%} noise<br>{cell.seconds:.2f} s")
            annotations.append({"text": text, "x": (x0 + x1) / 2, "y": y1, "xref": "paper",
                                "yref": "paper", "yanchor": "bottom", "showarrow": False,
                                "font": {"size": 14}})
        annotations.append({"text": f"<b>{user_text(title)}</b>", "textangle": -90, "x": 0,
                            "xshift": -14, "y": (y0 + y1) / 2, "xref": "paper",
                            "yref": "paper", "xanchor": "right", "showarrow": False,
                            "font": {"size": 15}})
    for c, name in enumerate(methods):
        annotations.append({"text": f"<b>{user_text(name)}</b>", "x": (c + 0.5) / n_cols,
                            "y": 1, "yshift": -4, "xref": "paper", "yref": "paper",
                            "yanchor": "top", "showarrow": False, "font": {"size": 17}})
    fig = go.Figure(data=traces)
    fig.update_layout(template=TEMPLATE, font=FONT, height=height, annotations=annotations,
                      margin={"l": 42, "r": 8, "t": 10, "b": 10}, dragmode=False,
                      hoverlabel={"font_size": HOVER_FONT_SIZE}, clickmode="event+select",
                      **layout)
    return fig


# ----------------------------------------------------------------------------- DBSCAN


def dbscan_figure(points: Array, run: DbscanRun, *, step: int | None = None,
                  focus: int | None = None, axis_titles: Sequence[str] = ("x1", "x2"),
                  title: str = "DBSCAN", height: int = 560) -> go.Figure:
    """Core (large), border (small) and noise (grey ×) points; clusters as grown by ``step``.

    Lines join each reached point to the core point whose ε-ball reached it. ``focus`` draws
    the ε-ball around one point (ε is a radius in the data's units: meaningful when the plane
    is the data itself).
    """
    Trace = _trace_class(len(points))
    step = run.n_steps if step is None else step
    labels = run.labels_at(step)
    reached = np.zeros(len(labels), dtype=bool)
    reached[run.order[:step]] = True
    n = int(run.labels.max()) + 1
    colors = np.array(label_colors(np.where(reached, labels, -1), n), dtype=object)
    colors[~reached & (run.kinds != "noise")] = UNREACHED_COLOR
    fig = go.Figure()
    edges = reached & (run.reached_from >= 0)
    if edges.any():
        x, y = _segments(points[run.reached_from[edges]], points[edges])
        fig.add_trace(Trace(x=x, y=y, mode="lines", line={"color": "#9A9A9A", "width": 1},
                                   hoverinfo="skip", name="reached from", showlegend=False))
    kinds = {"core": ("circle", 9), "border": ("circle-open", 8), "noise": ("x-thin-open", 7)}
    for kind, (symbol, size) in kinds.items():
        sel = run.kinds == kind
        fig.add_trace(Trace(
            x=points[sel, 0], y=points[sel, 1], mode="markers", name=f"{kind} ({sel.sum():,})",
            marker={"color": colors[sel].tolist(), "symbol": symbol, "size": size,
                    "line": {"width": 1.5, "color": colors[sel].tolist()}},
            customdata=np.column_stack([np.flatnonzero(sel), run.n_neighbors[sel]]),
            hovertemplate=f"point %{{customdata[0]}} · {kind}<br>%{{customdata[1]}} points "
                          "within ε<extra></extra>",
        ))
    if focus is not None:
        x, y = _circle(points[focus], run.eps)
        fig.add_trace(Trace(x=x, y=y, mode="lines", name=f"ε-ball of point {focus}",
                                 line={"color": "#222", "width": 2, "dash": "dot"},
                                 hoverinfo="skip"))
    _plane_axes(fig, axis_titles)
    return _layout(fig, title, height, legend={"orientation": "h", "y": -0.12})


def k_distance_figure(
    curve: KDistance, *, eps: float | None = None, height: int = 380
) -> go.Figure:
    """Sorted distances to the k-th neighbour, the knee and the ε in use."""
    fig = go.Figure(go.Scatter(y=curve.distances, mode="lines", name=f"{curve.k}-distance",
                               line={"width": 3}))
    fig.add_trace(go.Scatter(x=[curve.knee], y=[curve.eps], mode="markers", name="knee",
                             marker={"size": 13, "color": "#D62728"}))
    fig.add_hline(y=curve.eps if eps is None else eps, line_dash="dash",
                  annotation_text=f"ε = {curve.eps if eps is None else eps:.3g}",
                  annotation_font_size=14)
    fig.update_xaxes(title_text="points, sorted")
    fig.update_yaxes(title_text=f"distance to the {curve.k}-th neighbour")
    return _layout(fig, "k-distance curve: ε from its knee", height, showlegend=False)


# ----------------------------------------------------------------------------- HDBSCAN


def mst_figure(points: Array, run: HdbscanRun, *, axis_titles: Sequence[str] = ("x1", "x2"),
               height: int = 520) -> go.Figure:
    """Points shaded by core distance and the minimum spanning tree of mutual reachability."""
    Trace = _trace_class(len(points))
    a, b = run.mst_edges.T
    x, y = _segments(points[a], points[b])
    fig = go.Figure(Trace(x=x, y=y, mode="lines", line={"color": "#7F7F7F", "width": 1},
                                 hoverinfo="skip", name="spanning tree"))
    fig.add_trace(Trace(
        x=points[:, 0], y=points[:, 1], mode="markers", name="points",
        marker={"color": run.core_distances, "colorscale": "Viridis_r", "size": 7,
                "colorbar": {"title": {"text": "core distance", "side": "right"},
                             "tickfont": AXIS_FONT}},
        customdata=run.core_distances,
        hovertemplate="core distance %{customdata:.3g}<extra></extra>",
    ))
    _plane_axes(fig, axis_titles)
    return _layout(fig, "Core distances and the mutual-reachability spanning tree", height,
                   showlegend=False)


def _icicle_layout(run: HdbscanRun) -> dict[int, tuple[float, float]]:
    """Each condensed cluster's horizontal span: children split the parent's span by size."""
    tree, n = run.condensed, run.condensed.n_samples
    is_cluster = tree.child >= n
    children: dict[int, list[tuple[int, int]]] = {}
    for p, c, s in zip(tree.parent[is_cluster], tree.child[is_cluster],
                       tree.child_size[is_cluster], strict=True):
        children.setdefault(int(p), []).append((int(c), int(s)))
    spans, stack = {n: (0.0, float(n))}, [n]
    while stack:
        node = stack.pop()
        x0, x1 = spans[node]
        kids = children.get(node, [])
        total = sum(s for _, s in kids) or 1
        for c, s in kids:
            width = (x1 - x0) * s / total
            spans[c] = (x0, x0 + width)
            x0 += width
            stack.append(c)
    return spans


def condensed_tree_figure(run: HdbscanRun, *, height: int = 520) -> go.Figure:
    """The condensed tree as an icicle: λ = 1/distance grows downwards, each bar a cluster
    from its birth to its last point's departure, width ∝ its points at birth.

    Selected clusters are filled with their label's scatter colour; the others are outlined.
    """
    tree, n = run.condensed, run.condensed.n_samples
    births, deaths = tree.birth(), tree.death()
    finite = np.concatenate([births, deaths])
    finite = finite[np.isfinite(finite)]  # λ is infinite for duplicate points (distance 0)
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    colors = cluster_colors(max(run.n_clusters, 1))
    label_of = run.label_of_node()
    spans = _icicle_layout(run)
    fig = go.Figure()
    for node, (x0, x1) in spans.items():
        i = node - n
        y0, y1 = births[i], min(deaths[i], top)
        label = label_of.get(node)
        gap = 0.04 * (x1 - x0)
        fig.add_trace(go.Scatter(
            x=[x0 + gap, x1 - gap, x1 - gap, x0 + gap, x0 + gap], y=[y0, y0, y1, y1, y0],
            mode="lines", fill="toself",
            fillcolor=colors[label] if label is not None else "rgba(200,200,200,0.35)",
            line={"color": colors[label] if label is not None else "#8C8C8C", "width": 1.5},
            name=f"cluster {label}" if label is not None else f"node {node}",
            showlegend=False,
            hovertemplate=(f"{'cluster ' + str(label) if label is not None else 'not selected'}"
                           f"<br>stability {run.stability[i]:.3g}<br>λ {y0:.3g} → {y1:.3g}"
                           "<extra></extra>"),
            meta={"node": node, "label": label},
        ))
        if label is not None:
            fig.add_annotation(x=(x0 + x1) / 2, y=y1, text=f"<b>{label}</b>", showarrow=False,
                               yshift=-12, font={"size": 15, "color": colors[label]})
    fig.update_yaxes(title_text="λ = 1 / mutual-reachability distance", autorange="reversed")
    fig.update_xaxes(title_text="points (bar width ∝ cluster size at birth)",
                     showticklabels=False)
    return _layout(fig, "Condensed tree: filled bars are the clusters selected", height)


def single_linkage_figure(run: HdbscanRun, *, leaves: int = 40, height: int = 420) -> go.Figure:
    """The single-linkage tree of mutual reachability, its top ``leaves`` merges."""
    tree = dendrogram(run.linkage, truncate_mode="lastp", p=leaves, no_plot=True)
    fig = go.Figure()
    for xs, ys in zip(tree["icoord"], tree["dcoord"], strict=True):
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#4C78A8", "width": 2},
                                 hoverinfo="skip", showlegend=False))
    fig.update_xaxes(showticklabels=False, title_text=f"the last {leaves} merges")
    fig.update_yaxes(title_text="mutual-reachability distance")
    return _layout(fig, "Single-linkage tree", height)


# ----------------------------------------------------------------------------- BIRCH


def birch_figure(points: Array, run: BirchRun, *, draw_radii: bool = True,
                 axis_titles: Sequence[str] = ("x1", "x2"), height: int = 560) -> go.Figure:
    """Points and the CF-tree's subclusters: a circle of each subcluster's radius around its
    centroid, both in the colour of the global step's cluster."""
    Trace = _trace_class(len(points))
    fig = go.Figure(_points(points, run.labels, size=5, opacity=0.3))
    colors = label_colors(run.subcluster_labels)
    if draw_radii:
        xs, ys = [], []
        for center, radius in zip(run.centers, run.radii, strict=True):
            x, y = _circle(center, radius)
            xs += [*x, None]
            ys += [*y, None]
        fig.add_trace(Trace(x=xs, y=ys, mode="lines", line={"color": "#555", "width": 1},
                                 hoverinfo="skip", name="subcluster radius"))
    fig.add_trace(Trace(
        x=run.centers[:, 0], y=run.centers[:, 1], mode="markers", name="subcluster centroids",
        marker={"color": colors, "size": 7, "symbol": "diamond", "line": {"width": 1,
                                                                        "color": "#222"}},
        customdata=np.column_stack([run.sizes, run.radii, run.subcluster_labels]),
        hovertemplate="%{customdata[0]} points · radius %{customdata[1]:.3g}<br>"
                      "global cluster %{customdata[2]}<extra></extra>",
    ))
    _plane_axes(fig, axis_titles)
    return _layout(fig, f"{run.n_subclusters} subclusters in {run.n_leaves} leaves "
                        f"(tree depth {run.depth})", height, showlegend=False)


def threshold_figure(thresholds: npt.ArrayLike, counts: npt.ArrayLike, *, chosen: float,
                     height: int = 360) -> go.Figure:
    """Subclusters in the CF-tree for each threshold."""
    fig = go.Figure(go.Scatter(x=thresholds, y=counts, mode="lines+markers", line={"width": 3},
                               marker={"size": 9}))
    fig.add_vline(x=chosen, line_dash="dash", annotation_text=f"threshold {chosen:.3g}",
                  annotation_font_size=14)
    fig.update_xaxes(type="log", title_text="threshold (largest subcluster radius)")
    fig.update_yaxes(type="log", title_text="leaf subclusters")
    return _layout(fig, "Threshold → number of subclusters", height)


# ----------------------------------------------------------------------------- Mean-Shift


def mean_shift_figure(points: Array, ms: MeanShift, *, project=None, max_paths: int = 300,
                      axis_titles: Sequence[str] = ("x1", "x2"), title: str = "Mean-Shift",
                      height: int = 600) -> go.Figure:
    """Every seed's climb (lines), the modes kept (stars) and merged (×), the bandwidth as a
    circle around each centre; ▶ Play moves the seeds step by step (in the browser).

    ``project`` maps data coordinates to the plane drawn (default: the first two features).
    """
    Trace = _trace_class(len(points))
    project = project or (lambda a: np.asarray(a)[:, :2])
    n_seeds = len(ms.trajectories_)
    shown = np.arange(n_seeds)
    if n_seeds > max_paths:
        shown = np.sort(np.random.default_rng(0).choice(n_seeds, max_paths, replace=False))
    seed_colors = np.array(label_colors(ms.seed_labels_, len(ms.cluster_centers_)), dtype=object)
    fig = go.Figure(_points(points, ms.labels_, size=5, opacity=0.25))
    xs, ys = [], []
    for i in shown:
        path = project(ms.trajectories_[i])
        xs += [*path[:, 0], None]
        ys += [*path[:, 1], None]
    fig.add_trace(Trace(x=xs, y=ys, mode="lines", line={"color": "#555", "width": 1},
                               name="paths", hoverinfo="skip"))
    centers = project(ms.cluster_centers_)
    circle_x, circle_y = [], []
    for center in centers:
        x, y = _circle(center, ms.bandwidth_)
        circle_x += [*x, None]
        circle_y += [*y, None]
    fig.add_trace(Trace(x=circle_x, y=circle_y, mode="lines", name="bandwidth",
                             line={"color": "#222", "dash": "dot", "width": 1.5},
                             hoverinfo="skip"))
    merged = project(ms.merge_.modes[~ms.merge_.kept])
    fig.add_trace(Trace(x=merged[:, 0], y=merged[:, 1], mode="markers", name="merged modes",
                             marker={"symbol": "x", "size": 10, "color": "#444"}))
    fig.add_trace(Trace(
        x=centers[:, 0], y=centers[:, 1], mode="markers", name="cluster centres",
        marker={"symbol": "star", "size": 22, "color": cluster_colors(len(centers)),
                "line": {"width": 1.5, "color": "#111"}},
    ))
    steps = min(ms.n_iter_ + 1, 60)
    moving = Trace(x=project(ms.positions_at(0)[shown])[:, 0],
                        y=project(ms.positions_at(0)[shown])[:, 1], mode="markers",
                        name="seeds", marker={"size": 8, "color": seed_colors[shown].tolist(),
                                              "line": {"width": 1, "color": "#111"}})
    fig.add_trace(moving)
    seeds_trace = len(fig.data) - 1
    frames = []
    for t in range(steps + 1):
        at = project(ms.positions_at(t)[shown])
        frames.append(go.Frame(data=[Trace(x=at[:, 0], y=at[:, 1])],
                               traces=[seeds_trace], name=str(t)))
    fig.frames = frames
    _animation_controls(fig, [str(t) for t in range(steps + 1)], "step")
    _plane_axes(fig, axis_titles)
    return _layout(fig, title, height, legend={"orientation": "h", "y": -0.22})


def _animation_controls(fig: go.Figure, names: Sequence[str], prefix: str) -> None:
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0.0, "y": -0.08,
                      "xanchor": "left", "yanchor": "top", "font": {"size": 14},
                      "buttons": [
                          {"label": "▶ Play", "method": "animate",
                           "args": [None, {"frame": {"duration": 250, "redraw": False},
                                           "fromcurrent": True, "transition": {"duration": 0}}]},
                          {"label": "❚❚ Pause", "method": "animate",
                           "args": [[None], {"mode": "immediate",
                                             "frame": {"duration": 0, "redraw": False}}]},
                      ]}],
        sliders=[{"x": 0.22, "y": -0.05, "len": 0.78, "currentvalue": {"prefix": f"{prefix} ",
                                                                        "font": {"size": 14}},
                  "font": {"size": 13},
                  "steps": [{"label": name, "method": "animate",
                             "args": [[name], {"mode": "immediate",
                                               "frame": {"duration": 0, "redraw": False}}]}
                            for name in names]}],
    )


# ----------------------------------------------------------------------------- GMM


def _ellipse(mean: Array, covariance: Array, n_sigma: float) -> tuple[Array, Array]:
    """The n-σ contour of a 2-D Gaussian: the unit circle stretched by √eigenvalues."""
    values, vectors = np.linalg.eigh(covariance)
    circle = np.column_stack([np.cos(_CIRCLE), np.sin(_CIRCLE)])
    contour = mean + n_sigma * (circle * np.sqrt(np.maximum(values, 0))) @ vectors.T
    return contour[:, 0], contour[:, 1]


def _full_covariances(covariances: Array, covariance_type: str, K: int, d: int) -> Array:
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.repeat(covariances[np.newaxis], K, axis=0)
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.stack([np.eye(d) * c for c in covariances])


def gmm_figure(points: Array, run: EMRun, responsibilities: Array, iteration: int, *,
               projection: Array | None = None, origin: Array | None = None,
               axis_titles: Sequence[str] = ("x1", "x2"), height: int = 560) -> go.Figure:
    """One EM iteration: points coloured by their most likely component and shaded by how
    sure (the largest responsibility), the means (×) and each component's 1σ and 2σ ellipse.

    ``projection`` (2, d) maps the means and covariances to the drawn plane
    (W (μ − origin), W Σ Wᵀ); None: the data is 2-D.
    """
    Trace = _trace_class(len(points))
    weights, means, covariances = run.parameters_at(iteration)
    K, d = means.shape
    if origin is not None:
        means = means - origin
    W = np.eye(2, d) if projection is None else projection
    full = _full_covariances(covariances, run.covariance_type, K, d)
    labels = responsibilities.argmax(axis=1)
    sure = responsibilities.max(axis=1)
    fig = go.Figure(_points(points, labels, size=6, opacity=np.clip(sure, 0.1, 0.75),
                            hover="component %{customdata}<extra></extra>"))
    colors = cluster_colors(K)
    for k in range(K):  # a white halo under a dark line: visible over any point colour
        for n_sigma, dash in ((1, "solid"), (2, "dot")):
            x, y = _ellipse(W @ means[k], W @ full[k] @ W.T, n_sigma)
            for color, width in (("white", 5), ("#1F1F1F", 2)):
                fig.add_trace(Trace(x=x, y=y, mode="lines", hoverinfo="skip", showlegend=False,
                                    line={"color": color, "width": width,
                                          "dash": dash if color != "white" else "solid"}))
    projected = means @ W.T
    fig.add_trace(Trace(
        x=projected[:, 0], y=projected[:, 1], mode="markers", showlegend=False,
        marker={"symbol": "x", "size": 16, "color": colors, "line": {"width": 2, "color": "#111"}},
        customdata=np.column_stack([np.arange(K), weights]),
        hovertemplate="component %{customdata[0]} · weight %{customdata[1]:.2f}<extra></extra>",
    ))
    _plane_axes(fig, axis_titles)
    return _layout(fig, f"EM iteration {iteration} of {run.n_iter} · solid 1σ, dotted 2σ",
                   height)


def lower_bound_figure(run: EMRun, *, iteration: int | None = None, height: int = 360) -> go.Figure:
    """The mean log-likelihood per iteration: EM's analogue of the K-means lab's J curve."""
    bounds = run.lower_bounds
    steps = np.arange(1, len(bounds) + 1)
    fig = go.Figure(go.Scatter(x=steps, y=bounds, mode="lines+markers", line={"width": 3},
                               marker={"size": 8}))
    if iteration:
        fig.add_vline(x=iteration, line_dash="dash")
    fig.update_xaxes(title_text="iteration", dtick=max(1, len(bounds) // 10))
    fig.update_yaxes(title_text="mean log-likelihood (lower bound)")
    return _layout(fig, "Lower bound: it never falls", height, showlegend=False)


def bic_figure(table: dict[str, dict[int, float]], *, chosen: tuple[int, str] | None = None,
               criterion: str = "BIC", height: int = 380) -> go.Figure:
    """BIC (or AIC) against K, one line per covariance type; the lowest is circled."""
    fig = go.Figure()
    for covariance_type, scores in table.items():
        fig.add_trace(go.Scatter(x=list(scores), y=list(scores.values()), mode="lines+markers",
                                 name=covariance_type, line={"width": 3}))
    if chosen is not None and chosen[1] in table and chosen[0] in table[chosen[1]]:
        fig.add_trace(go.Scatter(x=[chosen[0]], y=[table[chosen[1]][chosen[0]]], mode="markers",
                                 marker={"size": 20, "symbol": "circle-open", "color": "#111",
                                         "line": {"width": 3}}, name="lowest"))
    fig.update_xaxes(title_text="components K", dtick=1)
    fig.update_yaxes(title_text=f"{criterion} (lower is better)")
    return _layout(fig, f"{criterion} over K and covariance types", height)


# ----------------------------------------------------------------------------- projections


def pca_figure(view: PcaView, labels: npt.ArrayLike, *, feature_names: Sequence[str],
               height: int = 460) -> go.Figure:
    """The first two principal components, and the variance each component explains."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.65, 0.35], horizontal_spacing=0.1,
                        subplot_titles=("Points on PC1 and PC2", "Explained variance"))
    fig.add_trace(_points(view.points, labels, size=5), row=1, col=1)
    ratio = view.explained_variance_ratio
    fig.add_trace(go.Bar(x=[f"PC{i + 1}" for i in range(len(ratio))], y=ratio,
                         text=[f"{r:.0%}" for r in ratio], textposition="outside",
                         marker_color="#4C78A8", showlegend=False), row=1, col=2)
    fig.update_xaxes(title_text=f"PC1 ({ratio[0]:.0%})", row=1, col=1)
    fig.update_yaxes(title_text=f"PC2 ({ratio[1]:.0%})" if len(ratio) > 1 else "PC2", row=1,
                     col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    for annotation in fig.layout.annotations:
        annotation.font = {"size": 15}
    kept = float(ratio[:2].sum())
    return _layout(fig, f"PCA keeps {kept:.0%} of the variance in this picture", height)


def tsne_figure(run: TsneRun, labels: npt.ArrayLike, *, height: int = 560) -> go.Figure:
    """The t-SNE layout as it unfolds: ▶ Play runs the recorded snapshots in the browser."""
    labels = np.asarray(labels)[run.rows]
    last = run.snapshots[-1]
    fig = go.Figure(go.Scatter(x=last[:, 0], y=last[:, 1], mode="markers",
                               marker={"color": label_colors(labels), "size": 5},
                               hoverinfo="skip", showlegend=False))
    bound = float(np.abs(np.concatenate(run.snapshots)).max()) * 1.05
    names = [str(t) for t in run.iterations]
    fig.frames = [go.Frame(data=[go.Scatter(x=s[:, 0], y=s[:, 1])], name=name, traces=[0])
                  for s, name in zip(run.snapshots, names, strict=True)]
    _animation_controls(fig, names, "iteration")
    fig.update_xaxes(range=[-bound, bound], showticklabels=False, title_text="t-SNE 1")
    fig.update_yaxes(range=[-bound, bound], showticklabels=False, title_text="t-SNE 2",
                     scaleanchor="x")
    phase = f"first {run.exaggeration_iterations} iterations with early exaggeration"
    return _layout(fig, f"t-SNE, perplexity {run.perplexity:g} ({phase})", height)
