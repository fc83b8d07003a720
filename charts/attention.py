"""Plotly figures for the Attention lab: engine arrays in, ``go.Figure`` out.

Three rules hold for every figure here:

- **Tokens are text, never HTML.** Plotly renders tick labels, titles and hover text
  as a small HTML dialect, so a token ``<b>`` would turn bold and ``&amp;`` would
  show as ``&``. Every user string goes through :func:`token_label` or
  :func:`charts.theme.user_text` (``html.escape``).
- **Every position is its own row/column.** A categorical axis merges equal strings,
  so a sentence with "the" twice would lose a row. Each position's category is its token
  and its position, ``"the (4)"`` (:func:`position_names`), so it stays unique, and the
  hover reads "the (4) → cat (1): 0.123" straight from the axes. Ticks show the token
  alone; long sequences label every n-th position, as many as fit, and hover names each.
- **Nothing is sent per cell but the numbers.** A hover string per cell cost 23 MB for
  a 200-word text with 4 heads; hover templates built from the axes cost nothing. Masked
  cells (causal future, padding) are a grey layer of their own per reason, whose hover
  says why.

Template, fonts and group colours come from :mod:`charts.theme`, the Lab's one look;
token labels are at least 14 px and dark, and single characters are never rotated.

Every figure here is a token-labelled map, drawn with the escaping, ticks and mask rules
defined at the top; the per-head summaries, which show no tokens, are in
:mod:`charts.attention_summary` (and importable from here too).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.attention_summary import head_metric_figure, head_similarity_figure
from charts.theme import MUTED, TEMPLATE, TICK_FONT_SIZE, user_text

__all__ = [
    "MASKED_COLOUR",
    "WEIGHT_COLOURSCALE",
    "head_focus_figure",
    "head_grid_figure",
    "head_metric_figure",
    "head_similarity_figure",
    "key_attention_figure",
    "matrix_figure",
    "position_names",
    "token_label",
]

Array = npt.NDArray[np.floating]

WEIGHT_COLOURSCALE = "Blues"
DIVERGING_COLOURSCALE = "RdBu_r"
MASKED_COLOUR = "#c8c8c8"
LABEL_PX = TICK_FONT_SIZE + 5
"""Room one tick label needs along its axis; fewer labels than that fit are every n-th."""
CHAR_PX = 0.55 * TICK_FONT_SIZE
"""Width of an average character of a tick label."""


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


def position_names(tokens: Sequence[str]) -> list[str]:
    """The categories of an axis: each token's label and its position, ``"the (4)"``."""
    return [f"{token_label(t)} ({i})" for i, t in enumerate(tokens)]


def _shown_width(token: str) -> int:
    """Characters a token's label shows (isolates and escapes take no room)."""
    return max(1, len(token))


def _axis(tokens: Sequence[str], length_px: float, *, angle: int | None = None) -> dict:
    """A categorical axis over the tokens, labelled by token, every n-th when they crowd.

    ``length_px`` is the axis' length on screen; ``angle`` the labels' rotation (default:
    upright for single characters and for labels that fit side by side, else slanted).
    """
    names = position_names(tokens)
    n = len(tokens)
    step = max(1, math.ceil(n / max(1, int(length_px // LABEL_PX))))
    shown = list(range(0, n, step))
    if angle is None:
        angle = _tick_angle(tokens, length_px / max(1, len(shown)))
    return dict(
        type="category",
        categoryorder="array",
        categoryarray=names,
        tickmode="array",
        tickvals=[names[i] for i in shown],
        ticktext=[token_label(tokens[i]) for i in shown],
        tickangle=angle,
        showgrid=False,
        zeroline=False,
    )


def _tick_angle(tokens: Sequence[str], room_px: float) -> int:
    """0 (upright) when every label fits its room or is a single character; else -60."""
    widest = max((_shown_width(t) for t in tokens), default=1)
    return 0 if widest <= 1 or widest * CHAR_PX + 6 <= room_px else -60


def _label_room(tokens: Sequence[str], angle: int) -> int:
    """Pixels below an axis that its labels take (rotated labels hang down)."""
    if angle == 0:
        return LABEL_PX + 6
    widest = min(max((_shown_width(t) for t in tokens), default=1), 16)
    return int(widest * CHAR_PX * math.sin(math.radians(abs(angle)))) + LABEL_PX


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


def _gaps(n_queries: int, n_keys: int) -> dict:
    return dict(xgap=1 if n_keys <= 32 else 0, ygap=1 if n_queries <= 32 else 0)


def _heatmap(
    weights: Array,
    query_names: list[str],
    key_names: list[str],
    reasons: npt.NDArray[np.object_],
    head_name: str,
    *,
    show_values: bool = False,
    coloraxis: str = "coloraxis",
) -> list[go.Heatmap]:
    """One attention map: the weights, then one grey layer per reason cells are masked."""
    visible = reasons == ""
    z = np.where(visible, weights, np.nan).astype(float)
    gaps = _gaps(*z.shape)
    trace = go.Heatmap(
        z=z, x=key_names, y=query_names, coloraxis=coloraxis, hoverongaps=False,
        hovertemplate="%{y} → %{x}: %{z:.3f}"
        f"<br><span style='color:{MUTED}'>query → key · {user_text(head_name)}</span>"
        "<extra></extra>",
        **gaps,
    )  # fmt: skip
    if show_values:
        trace.update(
            text=np.where(visible, np.vectorize(lambda w: f"{w:.2f}")(weights), ""),
            texttemplate="%{text}",
        )
    layers = [trace]
    for reason in dict.fromkeys(reasons[~visible].tolist()):
        layers.append(go.Heatmap(
            z=np.where(reasons == reason, 1.0, np.nan), x=key_names, y=query_names,
            name=f"masked: {reason}", zmin=0, zmax=1, showscale=False, hoverongaps=False,
            colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]],
            hovertemplate=f"%{{y}} → %{{x}}: masked ({reason})<extra></extra>", **gaps,
        ))  # fmt: skip
    return layers


def _weight_axes(fig: go.Figure, query_tokens, key_tokens, side_px: float,
                 row=None, col=None) -> None:  # fmt: skip
    """Square maps (equal scales), keys along the bottom, the first query on top."""
    x = _axis(key_tokens, side_px)
    fig.update_xaxes(**x, side="bottom", constrain="domain", row=row, col=col)
    anchor = fig.get_subplot(row, col).xaxis.plotly_name.replace("axis", "") if row else "x"
    fig.update_yaxes(**_axis(query_tokens, side_px, angle=0), autorange="reversed",
                     scaleanchor=anchor, scaleratio=1, constrain="domain", row=row, col=col)


def _colour_axis(top: float, length: float) -> dict:
    """The shared weight scale; its bar starts below the figure's toolbar."""
    return dict(
        colorscale=WEIGHT_COLOURSCALE, cmin=0.0, cmax=max(top, 1e-9),
        colorbar=dict(title=dict(text="weight", side="top"), len=length, lenmode="fraction",
                      y=0, yanchor="bottom"),
    )  # fmt: skip


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
        Laid out in pixels: each row of maps has room above for its heads' titles and
        below for its key labels, so neither touches the next row's maps.
    """
    weights = np.asarray(weights, dtype=float)
    n_heads, n_q, n_k = weights.shape
    names = (
        list(head_names) if head_names is not None else [f"head {h + 1}" for h in range(n_heads)]
    )
    cols = max(1, min(cols, n_heads))
    rows = math.ceil(n_heads / cols)
    reasons = _mask_reasons(n_q, n_k, causal, key_padding, query_padding)
    side = 230 if cols >= 4 else 300 if cols == 3 else 340
    angle = _axis(key_tokens, side)["tickangle"]
    title_room, label_room = 34, _label_room(key_tokens, angle) + 10
    top, bottom = (60 if title else 30), 10  # room for the toolbar above the head titles
    plot_height = rows * (title_room + side + label_room) - title_room - label_room
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[user_text(n) for n in names],
        horizontal_spacing=min(0.04, 0.3 / cols),
        vertical_spacing=(title_room + label_room) / plot_height if rows > 1 else 0.1,
    )
    q_names, k_names = position_names(query_tokens), position_names(key_tokens)
    for h in range(n_heads):
        r, c = divmod(h, cols)
        for trace in _heatmap(weights[h], q_names, k_names, reasons, names[h]):
            fig.add_trace(trace, row=r + 1, col=c + 1)
        _weight_axes(fig, query_tokens, key_tokens, side, row=r + 1, col=c + 1)
        if c > 0:  # query labels once per row: long tokens would run into the next head
            fig.update_yaxes(showticklabels=False, row=r + 1, col=c + 1)
    for annotation in fig.layout.annotations:  # head titles: clear of the map below them
        annotation.update(yshift=6, yanchor="bottom")
    shown = weights[:, reasons == ""] if (reasons == "").any() else np.zeros(1)
    zmax_value = float(shown.max()) if zmax is None else zmax
    fig.update_layout(
        coloraxis=_colour_axis(zmax_value, min(1.0, 320 / plot_height)),
        height=plot_height + top + bottom + label_room + title_room,
        margin=dict(l=10, r=10, t=top + title_room, b=bottom + label_room),
        title=dict(text=user_text(title)) if title else None,
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
    side = min(640, max(300, 34 * max(n_q, n_k)))
    fig = go.Figure(
        _heatmap(weights, position_names(query_tokens), position_names(key_tokens), reasons,
                 name, show_values=show_values)
    )  # fmt: skip
    _weight_axes(fig, query_tokens, key_tokens, side)
    shown = weights[reasons == ""] if (reasons == "").any() else np.zeros(1)
    top = float(shown.max()) if zmax is None else zmax
    label_room = _label_room(key_tokens, fig.layout.xaxis.tickangle or 0)
    fig.update_layout(
        coloraxis=_colour_axis(top, 0.8),
        height=side + label_room + (90 if title else 50) + 40,
        margin=dict(l=10, r=10, t=60 if title else 30, b=10),
        title=dict(text=user_text(title)) if title else None,
        xaxis_title="key (attended to)",
        yaxis_title="query (attending)",
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
        ``-inf`` entries (masked scores) are drawn as a grey layer with hover "−∞ (masked)".
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
    height = height or min(520, max(240, 22 * n_rows + 150))
    plot_px = height - 120
    if row_tokens is None:  # numbered rows and dimensions: plain category names
        row_names = [str(i) for i in range(n_rows)]
        y_axis = dict(type="category", categoryorder="array", categoryarray=row_names,
                      tickmode="auto", nticks=max(2, int(plot_px // LABEL_PX)),
                      showgrid=False, zeroline=False)  # fmt: skip
    else:
        row_names = position_names(row_tokens)
        y_axis = _axis(row_tokens, plot_px, angle=0)
    if column_labels is None:
        col_names = [f"d{j}" for j in range(n_cols)]
        x_axis = dict(type="category", categoryorder="array", categoryarray=col_names,
                      tickmode="auto", nticks=12, tickangle=0, showgrid=False,
                      zeroline=False)  # fmt: skip
    else:
        col_names = position_names(column_labels)
        x_axis = _axis(column_labels, 400)
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
            z=z, x=col_names, y=row_names, hoverongaps=False,
            hovertemplate="%{y} · %{x}: %{z:.3f}<extra></extra>",
            colorbar=dict(len=0.8, y=0, yanchor="bottom"),
            showscale=bool(finite.size and np.ptp(finite) > 0), **scale,
        )
    )  # fmt: skip
    if np.isneginf(matrix).any():
        fig.add_trace(go.Heatmap(
            z=np.where(np.isneginf(matrix), 1.0, np.nan), x=col_names, y=row_names,
            name="masked", zmin=0, zmax=1, showscale=False, hoverongaps=False,
            colorscale=[[0, MASKED_COLOUR], [1, MASKED_COLOUR]],
            hovertemplate="%{y} · %{x}: −∞ (masked)<extra></extra>",
        ))  # fmt: skip
    fig.update_xaxes(**x_axis, title=column_axis)
    fig.update_yaxes(**y_axis, autorange="reversed", title=row_axis)
    fig.update_layout(
        title=dict(text=user_text(title)) if title else None,
        height=height,
        margin=dict(l=10, r=10, t=50 if title else 10, b=10),
        template=TEMPLATE,
    )
    return fig


def key_attention_figure(
    totals: Array, key_tokens: Sequence[str], *, title: str, note: str = ""
) -> go.Figure:
    """Bars over key positions: the attention that chosen queries pay each key, summed.

    ``note`` (e.g. why the chosen queries changed) is shown under the title.
    """
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
    n = len(key_tokens)
    step = max(1, math.ceil(n / max(1, int(900 // LABEL_PX))))
    shown = list(range(0, n, step))
    fig.update_xaxes(
        tickmode="array", tickvals=shown, ticktext=[labels[i] for i in shown],
        tickangle=_tick_angle(key_tokens, 900 / max(1, len(shown))), title="key",
        showgrid=False, zeroline=False,
    )  # fmt: skip
    fig.update_layout(
        title=dict(text=user_text(title),
                   subtitle=dict(text=user_text(note), font=dict(color=MUTED))),
        yaxis_title="summed weight",
        height=340,
        margin=dict(l=10, r=10, t=70 if note else 50, b=10),
        template=TEMPLATE,
    )  # fmt: skip
    return fig
