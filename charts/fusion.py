"""Plotly figures for the Fusion lab: clustered attention and deep clustering.

Engine results in (:mod:`engine.clustered_attention`, :mod:`engine.deep_clustering`),
``go.Figure`` out. The attention maps are the Attention lab's own
(:func:`charts.attention.head_grid_figure`: tokens escaped, masked cells grey), so the two
labs draw attention alike; template, fonts and cluster colours come from :mod:`charts.theme`.
Tokens are user text: every one goes through ``token_label``/``user_text``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.attention import head_grid_figure, token_label
from charts.theme import FONT, HOVER_FONT_SIZE, TEMPLATE, cluster_colors, user_text
from engine.clustered_attention.analysis import EpsilonBound, OperationCount, QueryProjection
from engine.clustered_attention.run import ClusteredRun, ErrorCurves
from engine.clustered_attention.toy import AccuracyCurve
from engine.deep_clustering import SPACES, DECHistory, DeepClusteringResult

__all__ = [
    "accuracy_curve_figure",
    "attention_triptych_figure",
    "cluster_examples_figure",
    "confusion_figure",
    "dec_history_figure",
    "embeddings_figure",
    "epsilon_figure",
    "error_curves_figure",
    "operations_figure",
    "query_clusters_figure",
]

FULL, CLUSTERED, IMPROVED = "#4c78a8", "#e45756", "#54a24b"  # one colour per method, everywhere


def _layout(fig: go.Figure, height: int, **kwargs) -> go.Figure:
    """The Lab's look, then this figure's own settings (which win)."""
    common = dict(template=TEMPLATE, font=FONT, height=height,
                  hoverlabel=dict(font_size=HOVER_FONT_SIZE), margin=dict(l=10, r=10, t=50, b=10))
    fig.update_layout(**(common | kwargs))
    return fig


# ----------------------------------------------------------------------------- attention


def attention_triptych_figure(run: ClusteredRun, *, height: int = 400) -> go.Figure:
    """Full, clustered and i-clustered weights of one head side by side, one colour scale."""
    tokens = list(run.head.tokens)
    names = [
        "full softmax(QKᵀ/√d)",
        f"clustered · C = {run.n_clusters} · error {run.error_clustered:.1%}",
        f"i-clustered · k = {run.topk} · error {run.error_improved:.1%}",
    ]
    fig = head_grid_figure(run.stack, tokens, tokens, causal=run.head.causal, head_names=names,
                           cols=3, zmax=1.0)  # fmt: skip
    fig.update_annotations(font_size=16)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=36, b=10))
    return fig


def query_clusters_figure(
    projection: QueryProjection, labels: npt.ArrayLike, tokens: Sequence[str], *, height: int = 420
) -> go.Figure:
    """The queries in their principal plane, coloured by cluster, each joined to its centroid."""
    labels = np.asarray(labels)
    used = np.unique(labels)  # projection.centroids holds the non-empty clusters, in order
    colors = cluster_colors(int(labels.max()) + 1)
    fig = go.Figure()
    for rank, c in enumerate(used):
        members = np.flatnonzero(labels == c)
        centre = projection.centroids[rank]
        xs, ys = [], []
        for i in members:  # a spoke from the centroid to each member
            xs += [centre[0], projection.queries[i, 0], None]
            ys += [centre[1], projection.queries[i, 1], None]
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colors[c], width=1),
                                 hoverinfo="skip", showlegend=False))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=projection.queries[members, 0], y=projection.queries[members, 1],
            mode="markers+text", name=f"cluster {c + 1}", legendgroup=str(c),
            marker=dict(size=12, color=colors[c], line=dict(color="white", width=1)),
            text=[token_label(tokens[i]) for i in members], textposition="top center",
            textfont=dict(size=14),
            customdata=np.stack([members, np.full(len(members), c + 1)], axis=1),
            hovertemplate="query %{customdata[0]}: %{text}<br>cluster %{customdata[1]}"
            "<extra></extra>",
        ))  # fmt: skip
    fig.add_trace(go.Scatter(
        x=projection.centroids[:, 0], y=projection.centroids[:, 1], mode="markers",
        name="centroids", marker=dict(symbol="x", size=16, color=[colors[c] for c in used],
                                      line=dict(color="black", width=2)),
        hovertemplate="centroid of cluster %{customdata}<extra></extra>", customdata=used + 1,
    ))  # fmt: skip
    return _layout(
        fig, height, title="Queries (dots) and their centroids (×)", showlegend=False,
        xaxis_title=f"PC 1 (this plane holds {projection.explained:.0%} of the variance)",
        yaxis_title="PC 2",
    )  # fmt: skip


def error_curves_figure(curves: ErrorCurves, *, height: int = 420) -> go.Figure:
    """Relative error of the head's output against C (left) and against k (right)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.14,
                        subplot_titles=("against C", "i-clustered against k"))
    for y, name, colour in ((curves.clustered, "clustered", CLUSTERED),
                            (curves.improved, "i-clustered", IMPROVED)):  # fmt: skip
        fig.add_trace(go.Scatter(x=curves.n_clusters, y=y, name=name, mode="lines+markers",
                                 line=dict(color=colour, width=3)), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=curves.topk_values, y=curves.improved_by_topk, mode="lines+markers",
                             name="i-clustered", showlegend=False,
                             line=dict(color=IMPROVED, width=3)), row=1, col=2)  # fmt: skip
    fig.add_vline(x=curves.fixed_clusters, line_dash="dot", row=1, col=1)
    fig.add_vline(x=curves.topk, line_dash="dot", row=1, col=2)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", title_text="relative error")
    fig.update_xaxes(title_text=f"clusters C (k = {curves.topk})", row=1, col=1)
    fig.update_xaxes(title_text=f"top-k keys (C = {curves.fixed_clusters})", row=1, col=2)
    fig.update_annotations(yshift=8)  # subplot titles clear of the figure title
    return _layout(fig, height, title="Relative error of the head's output",
                   margin=dict(l=10, r=10, t=80, b=10),
                   legend=dict(orientation="h", y=-0.25), hovermode="x unified")  # fmt: skip


def accuracy_curve_figure(curve: AccuracyCurve, task_title: str, *, height: int = 400) -> go.Figure:
    """Task accuracy with the head clustered, against C, beside the unchanged model's."""
    fig = go.Figure()
    for y, name, colour in ((curve.clustered, "clustered", CLUSTERED),
                            (curve.improved, f"i-clustered (k = {curve.topk})", IMPROVED)):
        fig.add_trace(go.Scatter(x=curve.n_clusters, y=y, name=name, mode="lines+markers",
                                 line=dict(color=colour, width=3)))  # fmt: skip
    fig.add_hline(y=curve.full, line_dash="dash", line_color=FULL,
                  annotation_text=f"full attention {curve.full:.1%}",
                  annotation_position="bottom right")  # fmt: skip
    return _layout(fig, height, title=f"{user_text(task_title)}: accuracy on held-out strings",
                   xaxis_title="clusters C", yaxis=dict(title="accuracy", tickformat=".0%"),
                   legend=dict(orientation="h", y=-0.25), hovermode="x unified")  # fmt: skip


def operations_figure(counts: OperationCount, *, height: int = 300) -> go.Figure:
    """Multiply-adds of full, clustered and i-clustered attention, split by what they pay for."""
    rows = ["full", "clustered", "i-clustered"]
    parts = {
        "clustering the queries": [0, counts.clustering, counts.clustering],
        "attention (L·S or C·S)": [counts.full, counts.clustered, counts.clustered],
        "exact top-k per query": [0, 0, counts.improved - counts.clustered],
    }
    fig = go.Figure([
        go.Bar(y=rows, x=values, name=name, orientation="h", marker_color=colour,
               hovertemplate="%{y}: %{x:,} multiply-adds<extra>" + name + "</extra>")
        for (name, values), colour in zip(parts.items(), ("#bab0ac", FULL, IMPROVED), strict=True)
    ])  # fmt: skip
    totals = [counts.full, counts.clustered_total, counts.improved_total]
    fig.add_trace(go.Scatter(y=rows, x=totals, mode="text", showlegend=False, hoverinfo="skip",
                             text=[f"  {t:,}" for t in totals], textposition="middle right"))
    fig.update_xaxes(range=[0, max(totals) * 1.35], title_text="multiply-adds for this head")
    return _layout(fig, height, barmode="stack", legend=dict(orientation="h", y=-0.35),
                   yaxis=dict(autorange="reversed"))  # fmt: skip


def epsilon_figure(bound: EpsilonBound, tokens: Sequence[str], *, height: int = 380) -> go.Figure:
    """Two queries' softmax rows, and their distance against the bound ε‖K‖₂/√d."""
    names = [f"query {p}: {token_label(tokens[p])}" for p in (bound.i, bound.j)]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.72, 0.28], horizontal_spacing=0.1,
                        subplot_titles=("their attention rows (no mask)", "‖difference‖₂"))
    keys = np.arange(len(bound.row_i))
    for row, name, colour in ((bound.row_i, names[0], FULL), (bound.row_j, names[1], CLUSTERED)):
        fig.add_trace(go.Bar(x=keys, y=row, name=name, marker_color=colour), row=1, col=1)
    fig.add_trace(go.Bar(
        x=["actual", "bound"], y=[bound.difference, bound.bound], showlegend=False,
        marker_color=["#54a24b", "#bab0ac"], text=[f"{bound.difference:.3f}", f"{bound.bound:.3f}"],
        textposition="outside", cliponaxis=False,
    ), row=1, col=2)  # fmt: skip
    ticks = list(range(0, len(tokens), max(1, len(tokens) // 24)))
    fig.update_xaxes(tickvals=ticks, ticktext=[token_label(tokens[t]) for t in ticks], row=1,
                     col=1)  # the keys; word ticks slant, so no axis title under them
    fig.update_yaxes(title_text="weight", row=1, col=1)
    fig.update_yaxes(range=[0, max(bound.bound, bound.difference) * 1.25 + 1e-12], row=1, col=2)
    fig.update_annotations(yshift=8)
    return _layout(fig, height, barmode="group", legend=dict(orientation="h", y=-0.4),
                   margin=dict(l=10, r=10, t=80, b=10),
                   title=f"ε = ‖q{bound.i} − q{bound.j}‖ = {bound.epsilon:.2f}, "
                   f"bound ε‖K‖₂/√d = {bound.bound:.2f}")  # fmt: skip


# ----------------------------------------------------------------------------- deep clustering


def _digit_colours(result: DeepClusteringResult, target: npt.ArrayLike) -> dict[str, list[str]]:
    """Per clustering, a colour per cluster: the colour of the digit it matches best, so the
    three pictures use the same colour for the same digit."""
    palette = cluster_colors(max(10, result.config.n_clusters))
    out = {}
    for name, view in result.views.items():
        order = view.cluster_order(target)
        colours = [""] * len(order)
        for rank, c in enumerate(order):
            colours[c] = palette[rank]
        out[name] = colours
    return out


def embeddings_figure(
    result: DeepClusteringResult, target: npt.ArrayLike, *, height: int = 450
) -> go.Figure:
    """The digits in the principal plane of each space, coloured by their cluster."""
    target = np.asarray(target)
    colours = _digit_colours(result, target)
    titles = [f"{SPACES[n]} · ARI {v.ari:.3f}" for n, v in result.views.items()]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.04)
    for col, (name, view) in enumerate(result.views.items(), start=1):
        fig.add_trace(go.Scattergl(
            x=view.plane[:, 0], y=view.plane[:, 1], mode="markers", showlegend=False,
            marker=dict(size=5, color=[colours[name][c] for c in view.labels], opacity=0.8),
            customdata=np.stack([view.labels + 1, target], axis=1),
            hovertemplate="cluster %{customdata[0]}<br>true digit %{customdata[1]}<extra></extra>",
        ), row=1, col=col)  # fmt: skip
    palette = cluster_colors(max(10, result.config.n_clusters))
    for digit in range(10):  # a legend of the colours: cluster k's colour is its digit's
        fig.add_trace(go.Scattergl(x=[None], y=[None], mode="markers", name=str(digit),
                                   marker=dict(size=10, color=palette[digit])), row=1, col=1)
    fig.update_xaxes(showticklabels=False, title_text="PC 1")
    fig.update_yaxes(showticklabels=False)
    fig.update_annotations(font_size=16)
    return _layout(fig, height, margin=dict(l=10, r=10, t=40, b=10),
                   legend=dict(orientation="h", y=-0.08, title_text="best-matching digit:"))


def dec_history_figure(
    history: DECHistory, ari_raw: float, ari_autoencoder: float, *, height: int = 380
) -> go.Figure:
    """DEC's KL loss and ARI per epoch (epoch 0: the K-means start)."""
    epochs = [e.epoch for e in history.epochs]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("KL(P ‖ Q) per epoch", "ARI per epoch"))
    fig.add_trace(go.Scatter(x=epochs, y=[e.loss for e in history.epochs], mode="lines",
                             name="KL loss", line=dict(color=FULL, width=3)), row=1, col=1)
    aris = [e.ari for e in history.epochs]
    fig.add_trace(go.Scatter(x=[0, *epochs], y=[history.ari_start, *aris], mode="lines",
                             name="DEC", line=dict(color=IMPROVED, width=3)), row=1, col=2)
    for value, name, colour in ((ari_raw, "K-means on pixels", "#bab0ac"),
                                (ari_autoencoder, "autoencoder + K-means", CLUSTERED)):
        fig.add_trace(go.Scatter(x=[0, max(epochs, default=1)], y=[value, value], mode="lines",
                                 name=name, line=dict(color=colour, dash="dash")), row=1, col=2)
    fig.update_xaxes(title_text="epoch")
    return _layout(fig, height, legend=dict(orientation="h", y=-0.3), hovermode="x unified")


def confusion_figure(
    table: npt.ArrayLike, order: npt.ArrayLike, *, title: str, height: int = 420
) -> go.Figure:
    """Images of each true digit (columns) in each cluster (rows, best-matching digit first)."""
    table = np.asarray(table)[np.asarray(order)]
    rows = [f"cluster {c + 1}" for c in order]
    fig = go.Figure(go.Heatmap(
        z=table, x=[str(d) for d in range(table.shape[1])], y=rows, colorscale="Blues",
        text=table, texttemplate="%{text}", textfont=dict(size=14), showscale=False,
        hovertemplate="%{y}, digit %{x}: %{z} images<extra></extra>",
    ))  # fmt: skip
    return _layout(fig, height, title=title, xaxis_title="true digit",
                   yaxis=dict(autorange="reversed", type="category"))  # fmt: skip


def cluster_examples_figure(
    images: npt.ArrayLike, examples: Sequence[npt.ArrayLike], order: npt.ArrayLike, *,
    title: str, height: int = 420,
) -> go.Figure:  # fmt: skip
    """The most typical images of each cluster, one cluster per row, as one tiled picture."""
    images = np.asarray(images)
    n = max((len(e) for e in examples), default=1)
    order = list(order)
    canvas = np.full((len(order) * 9, n * 9), np.nan)  # 8×8 tiles with a 1-pixel gap
    for row, c in enumerate(order):
        for col, index in enumerate(examples[c]):
            canvas[row * 9 : row * 9 + 8, col * 9 : col * 9 + 8] = images[index]
    fig = go.Figure(go.Heatmap(z=canvas, colorscale="Greys", showscale=False, hoverinfo="skip",
                               zmin=0, zmax=1))  # fmt: skip
    fig.update_yaxes(autorange="reversed", tickvals=[r * 9 + 3.5 for r in range(len(order))],
                     ticktext=[f"cluster {c + 1}" for c in order], showgrid=False,
                     scaleanchor="x", constrain="domain")  # fmt: skip
    fig.update_xaxes(visible=False, showgrid=False, constrain="domain")
    return _layout(fig, height, title=title, plot_bgcolor="white")
