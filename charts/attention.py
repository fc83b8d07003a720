"""Plotly figures for the Attention lab: engine arrays in, ``go.Figure`` out.

Two rules hold for every figure here:

- **Tokens are text, never HTML.** Plotly renders tick labels, titles and hover text
  as a small HTML dialect, so a token ``<b>`` would turn bold and ``&amp;`` would
  show as ``&``. Every user string goes through :func:`token_label` or
  :func:`charts.theme.user_text` (``html.escape``).
- **Every position is its own row/column.** A categorical axis merges equal strings,
  so a sentence with "the" twice would lose a row. Axes are integer positions with
  the tokens as ``ticktext``.

Masked cells (causal future, padding) are drawn as gaps on a grey hatched-looking
background, and their hover says why. Template, fonts and group colours come from
:mod:`charts.theme`, the Lab's one look.

This module is a little over 450 lines because it is one job: every figure here is a
token-labelled attention map or a per-head summary, drawn with the same escaping, ticks
and mask rules defined at the top; split, those helpers would have to travel between files.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.theme import FONT, TEMPLATE, cluster_colors, user_text

__all__ = [
    "MASKED_COLOUR",
    "WEIGHT_COLOURSCALE",
    "head_focus_figure",
    "head_grid_figure",
    "head_metric_figure",
    "head_similarity_figure",
    "key_attention_figure",
    "matrix_figure",
    "token_label",
]

Array = npt.NDArray[np.floating]

WEIGHT_COLOURSCALE = "Blues"
DIVERGING_COLOURSCALE = "RdBu_r"
MASKED_COLOUR = "#c8c8c8"
MAX_TICKS = 48  # beyond this, label every k-th position (hover still names each one)


def token_label(token: str) -> str:
    """A token as Plotly should display it: escaped, visible, direction-safe.

    ``<b>`` → ``&lt;b&gt;`` (shown literally), a whitespace-only token becomes visible
    (space ``␣``, tab ``⇥``, newline ``⏎``), the empty string → ``∅``; right-to-left
    text is wrapped in Unicode isolates so "query → key" keeps
    its order around Hebrew or Arabic tokens.
    """
    if token == "":
        return "∅"
    shown = token
    if not token.strip():
        shown = token.replace(" ", "␣").replace("\t", "⇥").replace("\n", "⏎")
    if any(unicodedata.bidirectional(c) in ("R", "AL") for c in shown):
        shown = "\u2068" + shown + "\u2069"
    return user_text(shown)


def _axis_ticks(tokens: Sequence[str]) -> dict:
    """Integer positions labelled with their tokens (every k-th if there are many)."""
    step = max(1, math.ceil(len(tokens) / MAX_TICKS))
    positions = list(range(0, len(tokens), step))
    return dict(
        tickmode="array",
        tickvals=positions,
        ticktext=[token_label(tokens[i]) for i in positions],
        showgrid=False,
        zeroline=False,
    )


def _mask_reasons(
    n_queries: int,
    n_keys: int,
    causal: bool,
    key_padding: Sequence[bool] | None,
    query_padding: Sequence[bool] | None,
) -> npt.NDArray[np.object_]:
    """(L_q, L_k) array: why a cell is masked ("" where it is not)."""
    reasons = np.full((n_queries, n_keys), "", dtype=object)
    if causal:
        reasons[np.triu(np.ones((n_queries, n_keys), dtype=bool), 1)] = (
            "causal mask: a future token"
        )
    if key_padding is not None:
        reasons[:, np.asarray(key_padding, dtype=bool)] = "padding key"
    if query_padding is not None:
        reasons[np.asarray(query_padding, dtype=bool), :] = "padding query (ignored)"
    return reasons


def _weight_hover(
    weights: Array,
    query_labels: list[str],
    key_labels: list[str],
    reasons: npt.NDArray[np.object_],
    head_name: str,
) -> npt.NDArray[np.object_]:
    """One hover string per cell: "query → key: weight" with positions and head."""
    n_q, n_k = weights.shape
    text = np.empty((n_q, n_k), dtype=object)
    for i in range(n_q):
        for j in range(n_k):
            value = f"masked ({reasons[i, j]})" if reasons[i, j] else f"{weights[i, j]:.3f}"
            text[i, j] = (
                f"{query_labels[i]} → {key_labels[j]}: {value}"
                f"<br><span style='color:#666'>query {i} → key {j} · {head_name}</span>"
            )
    return text


def _heatmap(
    weights: Array,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str],
    reasons: npt.NDArray[np.object_],
    head_name: str,
    *,
    show_values: bool = False,
    coloraxis: str = "coloraxis",
) -> go.Heatmap:
    """One attention map with masked cells left as gaps."""
    query_labels = [token_label(t) for t in query_tokens]
    key_labels = [token_label(t) for t in key_tokens]
    z = np.where(reasons == "", weights, np.nan).astype(float)
    trace = go.Heatmap(
        z=z,
        x=list(range(len(key_tokens))),
        y=list(range(len(query_tokens))),
        coloraxis=coloraxis,
        customdata=_weight_hover(weights, query_labels, key_labels, reasons, head_name),
        hovertemplate="%{customdata}<extra></extra>",
        hoverongaps=True,
        xgap=1 if len(key_tokens) <= 32 else 0,
        ygap=1 if len(query_tokens) <= 32 else 0,
    )
    if show_values:
        trace.update(
            text=np.where(np.isnan(z), "", np.vectorize(lambda w: f"{w:.2f}")(weights)),
            texttemplate="%{text}",
            textfont=dict(size=11),
        )
    return trace


def _tick_angle(tokens: Sequence[str]) -> int:
    """Upright labels for letters, slanted ones for words."""
    return 0 if max((len(t) for t in tokens), default=0) <= 2 and len(tokens) <= 32 else -60


def _apply_weight_axes(fig: go.Figure, query_tokens, key_tokens, row=None, col=None) -> None:
    fig.update_xaxes(
        **_axis_ticks(key_tokens),
        tickangle=_tick_angle(key_tokens),
        side="bottom",
        constrain="domain",
        row=row,
        col=col,
    )
    fig.update_yaxes(
        **_axis_ticks(query_tokens), autorange="reversed", constrain="domain", row=row, col=col
    )


def head_grid_figure(
    weights: Array,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str],
    *,
    causal: bool = False,
    key_padding: Sequence[bool] | None = None,
    query_padding: Sequence[bool] | None = None,
    head_names: Sequence[str] | None = None,
    zmax: float | None = 1.0,
    cols: int = 4,
    title: str | None = None,
) -> go.Figure:
    """One heatmap per head, queries on the rows, keys on the columns, one colour scale.

    Parameters
    ----------
    weights : ndarray of shape (H, L_q, L_k)
        Attention weights of one sequence in one layer.
    query_tokens, key_tokens : sequence of str
        Row and column tokens (padding included, if shown).
    causal : bool
        Grey out cells above the diagonal (and say so in the hover).
    key_padding, query_padding : sequence of bool, optional
        Padding positions to grey out.
    head_names : sequence of str, optional
        Subplot titles; "head 1", "head 2", ... by default.
    zmax : float or None, default=1.0
        Top of the shared colour scale; None uses the largest weight shown.
    cols : int, default=4
        Heads per row of the grid.
    title : str, optional

    Returns
    -------
    go.Figure
    """
    weights = np.asarray(weights, dtype=float)
    n_heads, n_q, n_k = weights.shape
    names = (
        list(head_names) if head_names is not None else [f"head {h + 1}" for h in range(n_heads)]
    )
    cols = max(1, min(cols, n_heads))
    rows = math.ceil(n_heads / cols)
    reasons = _mask_reasons(n_q, n_k, causal, key_padding, query_padding)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[user_text(n) for n in names],
        horizontal_spacing=min(0.04, 0.3 / cols),
        vertical_spacing=min(0.12, 0.5 / rows) if rows > 1 else 0.1,
    )
    for h in range(n_heads):
        r, c = divmod(h, cols)
        fig.add_trace(
            _heatmap(weights[h], query_tokens, key_tokens, reasons, names[h]), row=r + 1, col=c + 1
        )
        _apply_weight_axes(fig, query_tokens, key_tokens, row=r + 1, col=c + 1)
        if c > 0:  # query labels once per row: long tokens would run into the next head
            fig.update_yaxes(showticklabels=False, row=r + 1, col=c + 1)
    shown = weights[:, reasons == ""] if (reasons == "").any() else np.zeros(1)
    top = float(shown.max()) if zmax is None else zmax
    side = 230 if cols >= 4 else 320
    label_room = 40 + 6 * min(max((len(t) for t in key_tokens), default=1), 16)
    fig.update_layout(
        coloraxis=dict(
            colorscale=WEIGHT_COLOURSCALE,
            cmin=0.0,
            cmax=max(top, 1e-9),
            colorbar=dict(
                title=dict(text="weight", side="right"),
                thickness=14,
                len=min(1, 400 / (rows * side)),
            ),
        ),
        height=rows * (side + label_room) + 80,
        margin=dict(l=10, r=10, t=60 if title else 40, b=10),
        plot_bgcolor=MASKED_COLOUR,
        title=dict(text=title) if title else None,
        font=FONT,
        template=TEMPLATE,
    )
    return fig


def head_focus_figure(
    weights: Array,
    query_tokens: Sequence[str],
    key_tokens: Sequence[str],
    *,
    causal: bool = False,
    key_padding: Sequence[bool] | None = None,
    query_padding: Sequence[bool] | None = None,
    name: str = "head",
    zmax: float | None = 1.0,
    show_values: bool | None = None,
    title: str | None = None,
) -> go.Figure:
    """One attention map, large, with the weight printed in each cell when it fits.

    Parameters
    ----------
    weights : ndarray of shape (L_q, L_k)
    name : str
        Names the map in the hover ("head 3", "mean of heads", "rollout").
    show_values : bool, optional
        Print weights in the cells; by default when there are at most 16 × 16 cells.
    Other parameters as in :func:`head_grid_figure`.

    Returns
    -------
    go.Figure
    """
    weights = np.asarray(weights, dtype=float)
    n_q, n_k = weights.shape
    if show_values is None:
        show_values = max(n_q, n_k) <= 16
    reasons = _mask_reasons(n_q, n_k, causal, key_padding, query_padding)
    fig = go.Figure(
        _heatmap(
            weights, query_tokens, key_tokens, reasons, user_text(name), show_values=show_values
        )
    )
    _apply_weight_axes(fig, query_tokens, key_tokens)
    shown = weights[reasons == ""] if (reasons == "").any() else np.zeros(1)
    top = float(shown.max()) if zmax is None else zmax
    fig.update_layout(
        coloraxis=dict(
            colorscale=WEIGHT_COLOURSCALE,
            cmin=0.0,
            cmax=max(top, 1e-9),
            colorbar=dict(title=dict(text="weight", side="right"), thickness=14),
        ),
        height=min(900, max(380, 28 * n_q + 160)),
        margin=dict(l=10, r=10, t=50 if title else 20, b=10),
        plot_bgcolor=MASKED_COLOUR,
        title=dict(text=user_text(title)) if title else None,
        xaxis_title="key (attended to)",
        yaxis_title="query (attending)",
        font=FONT,
        template=TEMPLATE,
    )
    return fig


def matrix_figure(
    matrix: Array,
    row_tokens: Sequence[str] | None,
    column_labels: Sequence[str] | None = None,
    *,
    title: str = "",
    diverging: bool = True,
    column_axis: str = "dimension",
    row_axis: str = "token",
    height: int | None = None,
) -> go.Figure:
    """A matrix of the step-by-step view (Q, K, V, scores, outputs) as a heatmap.

    Parameters
    ----------
    matrix : ndarray of shape (rows, columns)
        ``-inf`` entries (masked scores) are drawn as grey gaps with hover "−∞ (masked)".
    row_tokens : sequence of str or None
        One token per row, or None for numbered rows.
    column_labels : sequence of str, optional
        Tokens (for a score matrix) or None for numbered dimensions d0, d1, ...
    diverging : bool, default=True
        Red-blue scale centred on 0 (for signed values); otherwise the weight scale.
    column_axis, row_axis : str
        Axis titles.

    Returns
    -------
    go.Figure
    """
    matrix = np.asarray(matrix, dtype=float)
    n_rows, n_cols = matrix.shape
    numbered_rows = row_tokens is None
    row_tokens = [str(i) for i in range(n_rows)] if numbered_rows else list(row_tokens)
    row_labels = [token_label(t) for t in row_tokens]
    if column_labels is None:
        col_labels = [f"d{j}" for j in range(n_cols)]
        x_ticks = dict(tickmode="auto", showgrid=False, zeroline=False)
    else:
        col_labels = [token_label(t) for t in column_labels]
        x_ticks = _axis_ticks(list(column_labels))
    hover = np.empty((n_rows, n_cols), dtype=object)
    for i in range(n_rows):
        for j in range(n_cols):
            v = matrix[i, j]
            value = "−∞ (masked)" if np.isneginf(v) else f"{v:.3f}"
            hover[i, j] = f"{row_labels[i]} · {col_labels[j]}: {value}"
    finite = matrix[np.isfinite(matrix)]
    z = np.where(np.isfinite(matrix), matrix, np.nan)
    if diverging:
        bound = float(np.abs(finite).max()) if finite.size else 0.0
        bound = bound if bound > 0 else 1.0
        scale = dict(colorscale=DIVERGING_COLOURSCALE, zmin=-bound, zmax=bound, zmid=0)
    else:
        scale = dict(
            colorscale=WEIGHT_COLOURSCALE, zmin=0, zmax=float(finite.max()) if finite.size else 1
        )
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(n_cols)),
            y=list(range(n_rows)),
            customdata=hover,
            hovertemplate="%{customdata}<extra></extra>",
            hoverongaps=True,
            colorbar=dict(thickness=10),
            showscale=bool(finite.size and np.ptp(finite) > 0),
            **scale,
        )
    )
    angle = _tick_angle(list(column_labels)) if column_labels is not None else 0
    fig.update_xaxes(**x_ticks, title=column_axis, tickangle=angle)
    y_ticks = dict(tickmode="auto") if numbered_rows else _axis_ticks(row_tokens)
    fig.update_yaxes(**y_ticks, autorange="reversed", title=row_axis)
    fig.update_layout(
        title=dict(text=user_text(title), font=dict(size=14)) if title else None,
        height=height or min(520, max(220, 22 * n_rows + 130)),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        plot_bgcolor=MASKED_COLOUR,
        font=FONT,
        template=TEMPLATE,
    )
    return fig


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
        title=dict(text=user_text(metric), font=dict(size=14)),
        yaxis=dict(title=user_text(description) or None, range=value_range),
        height=300,
        margin=dict(l=10, r=10, t=40, b=10),
        font=FONT,
        template=TEMPLATE,
    )
    return fig


def key_attention_figure(totals: Array, key_tokens: Sequence[str], *, title: str) -> go.Figure:
    """Bars over key positions: the attention that chosen queries pay each key, summed."""
    totals = np.asarray(totals, dtype=float)
    labels = [token_label(t) for t in key_tokens]
    fig = go.Figure(
        go.Bar(
            x=list(range(len(totals))),
            y=totals,
            customdata=labels,
            marker_color="#2b6cb0",
            hovertemplate="key %{x} · %{customdata}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(**_axis_ticks(list(key_tokens)), tickangle=-60, title="key")
    fig.update_layout(
        title=dict(text=user_text(title), font=dict(size=14)),
        yaxis_title="summed weight",
        height=320,
        margin=dict(l=10, r=10, t=40, b=10),
        font=FONT,
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
            colorbar=dict(title=dict(text="distance"), thickness=12),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=dict(
            text="How different are the heads? (Jensen-Shannon distance)", font=dict(size=14)
        ),
        height=max(320, 40 * len(names) + 140),
        margin=dict(l=10, r=10, t=40, b=10),
        font=FONT,
        template=TEMPLATE,
    )
    return fig
