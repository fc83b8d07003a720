"""Elkan's savings in pictures: the distances its bounds skipped, iteration by iteration.

Engine results in (:class:`~engine.kmeans.ElkanCounts`), figures out. Lloyd's assignment
computes N·K point–centroid distances every iteration; Elkan's computes only those its
triangle-inequality bounds cannot rule out. :func:`elkan_figure` sets the two side by side
for one run, :func:`elkan_share_figure` compares the share skipped on several data sets.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from charts._figure import titled, whole_number_ticks
from charts.theme import DARK, user_text
from engine.kmeans import ElkanCounts

__all__ = ["ELKAN_COLOUR", "LLOYD_COLOUR", "elkan_figure", "elkan_share_figure"]

LLOYD_COLOUR, ELKAN_COLOUR = "#9ca3af", "#4f46e5"
SHARE_COLOURS = ("#4f46e5", "#dc2626", "#16a34a", "#f59e0b")


def elkan_figure(
    counts: ElkanCounts, *, title: str = "Distances computed per iteration", height: int = 420
) -> go.Figure:
    """Per iteration: Lloyd's N·K distances beside the ones Elkan computed, % skipped on top.

    Parameters
    ----------
    counts : ElkanCounts
    title : str
    height : int

    Returns
    -------
    go.Figure
        Two bar traces, "Lloyd: N·K" and "Elkan: computed", one bar per iteration; the
        Elkan bars carry the share of N·K skipped as their text ("75%").
    """
    t = np.arange(1, len(counts.n_distances) + 1)
    lloyd = np.full(len(t), counts.lloyd_distances)
    share = counts.skipped_share
    fig = go.Figure([
        go.Bar(
            x=t, y=lloyd, name=f"Lloyd: N·K = {counts.lloyd_distances:,}",
            marker={"color": LLOYD_COLOUR},
            hovertemplate="iteration %{x}<br>Lloyd computes %{y:,} distances<extra></extra>",
        ),
        go.Bar(
            x=t, y=counts.n_distances, name="Elkan: computed",
            marker={"color": ELKAN_COLOUR},
            text=[f"{s:.0%}" for s in share], textposition="outside", cliponaxis=False,
            constraintext="none", textfont={"color": DARK}, customdata=share * 100,
            hovertemplate="iteration %{x}<br>Elkan computes %{y:,} distances"
                          "<br>%{customdata:.1f} % of N·K skipped<extra></extra>",
        ),
    ])  # fmt: skip
    total = counts.n_skipped.sum() / (counts.lloyd_distances * max(len(t), 1))
    notes = [f"N = {counts.n_samples:,} points × K = {counts.n_clusters} centroids. Over the "
             f"bars: the share Elkan skipped ({total:.0%} over the run)."]
    titled(fig, title, notes, height=height, bottom=60)
    fig.update_layout(barmode="group", bargap=0.25,
                      legend={"orientation": "h", "x": 0, "y": -0.18})
    fig.update_yaxes(title_text="distances computed", range=[0, counts.lloyd_distances * 1.15])
    fig.update_xaxes(title_text="iteration", **whole_number_ticks(len(t)))
    return fig


def elkan_share_figure(
    runs: Mapping[str, ElkanCounts],
    *,
    title: str = "Share of Lloyd's distances Elkan skipped",
    height: int = 380,
) -> go.Figure:
    """The share of N·K skipped per iteration, one line per named data set (names escaped)."""
    fig = go.Figure()
    longest = 1
    for i, (name, counts) in enumerate(runs.items()):
        t = np.arange(1, len(counts.n_distances) + 1)
        longest = max(longest, len(t))
        fig.add_trace(
            go.Scatter(
                x=t, y=counts.skipped_share * 100, mode="lines+markers", name=user_text(name),
                line={"color": SHARE_COLOURS[i % len(SHARE_COLOURS)], "width": 3},
                marker={"size": 9},
                hovertemplate=f"{user_text(name)}<br>iteration %{{x}}"
                              "<br>%{y:.1f} % skipped<extra></extra>",
            )
        )  # fmt: skip
    titled(fig, title, height=height, bottom=60)
    fig.update_yaxes(title_text="% of N·K skipped", range=[-3, 103])
    fig.update_xaxes(title_text="iteration", **whole_number_ticks(longest))
    fig.update_layout(legend={"orientation": "h", "x": 0, "y": -0.22})
    return fig
