"""Per-head summaries of the Attention lab: a bar per head, how far apart the heads are.

No tokens here (the token-labelled maps are :mod:`charts.attention`): head names are the
only text, escaped with :func:`charts.theme.user_text`. The look is the Lab's template.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go

from charts.theme import TEMPLATE, cluster_colors, user_text

__all__ = ["head_metric_figure", "head_similarity_figure"]

Array = npt.NDArray[np.floating]


def head_metric_figure(
    values: Array,
    head_names: Sequence[str],
    *,
    metric: str,
    groups: Sequence[int] | None = None,
    value_range: tuple[float, float] | None = None,
    description: str = "",
) -> go.Figure:
    """A bar per head (entropy, sparsity, ...), coloured by similarity group if given."""
    values = np.asarray(values, dtype=float)
    names = [user_text(n) for n in head_names]
    colours = cluster_colors(1)[0]
    if groups is not None:
        palette = cluster_colors(max(groups, default=0) + 1)
        colours = [palette[g] for g in groups]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=colours,
            customdata=[f"group {g + 1}" for g in groups] if groups is not None else None,
            hovertemplate=f"%{{x}}<br>{user_text(metric)}: %{{y:.3f}}"
            + ("<br>%{customdata}" if groups is not None else "")
            + "<extra></extra>",
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
        )
    )
    fig.update_layout(
        title=dict(text=user_text(metric)),
        yaxis=dict(title=user_text(description) or None, range=value_range),
        height=320,
        margin=dict(l=10, r=10, t=50, b=10),
        template=TEMPLATE,
    )
    return fig


def head_similarity_figure(
    distances: Array, head_names: Sequence[str], groups: Sequence[int] | None = None
) -> go.Figure:
    """Jensen-Shannon distances between heads (0 = same pattern), heads ordered by group."""
    distances = np.asarray(distances, dtype=float)
    order = np.argsort(groups, kind="stable") if groups is not None else np.arange(len(distances))
    names = [user_text(head_names[i]) for i in order]
    if groups is not None:
        names = [f"{n} (g{groups[i] + 1})" for n, i in zip(names, order, strict=True)]
    d = distances[np.ix_(order, order)]
    fig = go.Figure(
        go.Heatmap(
            z=d,
            x=names,
            y=names,
            zmin=0,
            zmax=1,
            colorscale="Viridis_r",
            hovertemplate="%{y} vs %{x}: distance %{z:.2f}<extra></extra>",
            colorbar=dict(title=dict(text="distance"), len=0.8, y=0, yanchor="bottom"),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=dict(text="How different are the heads? (Jensen-Shannon distance)"),
        height=max(340, 40 * len(names) + 160),
        margin=dict(l=10, r=10, t=50, b=10),
        template=TEMPLATE,
    )
    return fig
