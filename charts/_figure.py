"""Layout helpers the figure modules share: a titled figure with notes, whole-number axes.

Private to ``charts/``: the look itself (fonts, colours, sizes) is the template in
:mod:`charts.theme`; these helpers only place a figure's title, its notes and its margins
the same way in every lab, and give iteration axes whole-number ticks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from charts.theme import MUTED, TEMPLATE, user_text


def titled(
    fig: go.Figure,
    title: str,
    notes: Sequence[str] = (),
    *,
    height: int,
    bottom: int = 50,
) -> go.Figure:
    """Give ``fig`` the Lab's template, a height, an escaped title and notes under it.

    The notes (how the points are drawn, what a zero means) are the title's subtitle, so
    they sit above the plot area and never on the data. Returns ``fig``.
    """
    top = 20 + (34 if title else 0) + 22 * len(notes)
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        margin={"l": 10, "r": 10, "t": max(top, 30), "b": bottom},
        title={
            "text": user_text(title),
            "subtitle": {"text": "<br>".join(user_text(n) for n in notes),
                         "font": {"color": MUTED}},
            "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12},
        },
    )  # fmt: skip
    return fig


def whole_number_ticks(n: int, *, first: int = 1, most: int = 12) -> dict:
    """Axis settings that tick whole numbers from ``first`` over ``n`` values: every 1, 2, 5,
    10, 20, 50, ... so that at most ``most`` ticks show."""
    step = next(s for s in _one_two_five() if math.ceil(max(n, 1) / s) <= most)
    return {"tickmode": "linear", "tick0": first, "dtick": step, "tickformat": "d"}


def _one_two_five():
    decade = 1
    while True:
        yield from (decade, 2 * decade, 5 * decade)
        decade *= 10
