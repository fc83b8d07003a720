"""Showing a figure: the one way every lab page puts a Plotly figure on screen.

:func:`show_figure` draws with the Lab's own template (``theme=None``: Streamlit's chart theme
would restyle it), a toolbar without the buttons a class never needs, and presenter mode's
larger type. :func:`prefetch_chart_library` starts the browser on Plotly's script early.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from app_pages.components.present import presenting
from charts import theme

CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
"""Plotly's toolbar: zoom, pan, reset and save as PNG (at twice the size, for slides)."""


def show_figure(fig: go.Figure, *, key: str, container: Any = None, **kwargs: Any) -> None:
    """Draw ``fig`` in ``container`` (the current one by default) with the Lab's look."""
    if presenting():
        theme.present(fig)
    (container or st).plotly_chart(fig, key=key, theme=None, config=CONFIG, **kwargs)


# Plotly's script (4.6 MB) is fetched and compiled only when the first chart reaches the
# browser, after the page's heavy work. One tiny hidden chart sent first, on a session's
# first run, lets the browser do that while the server still computes; the page removes it
# when it is done (the script, once asked for, stays loaded).
_HIDDEN = "<style>.st-key-lab_chart_prefetch { display: none; }</style>"


def prefetch_chart_library() -> Callable[[], None]:
    """On a session's first run, send a hidden one-point chart before anything heavy.

    Returns what removes it again: call it when the page has run.
    """
    ss = st.session_state
    if ss.get("lab_chart_prefetched"):
        return lambda: None
    ss["lab_chart_prefetched"] = True
    st.html(_HIDDEN)
    slot = st.empty()
    with slot.container(key="lab_chart_prefetch", height=1, border=False):
        st.plotly_chart({"data": [{"type": "scatter", "x": [0], "y": [0]}],
                         "layout": {"height": 10}},
                        key="lab_prefetch_chart", theme=None, config={"staticPlot": True})
    return slot.empty
