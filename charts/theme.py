"""The Lab's one look: a registered Plotly template, fonts, colours and user-text escaping.

Importing this module registers two Plotly templates and makes the first the default:

- ``"lab"`` (:data:`TEMPLATE`): the page's own font (Streamlit's Source Sans), dark text,
  tick and token labels of at least 14 px, hover labels of 15 px, a white background with
  light grid lines and the cluster colours as the colourway. Readable from the back of a
  room on a projector.
- ``"lab_present"`` (:data:`PRESENT_TEMPLATE`): the same, a quarter larger, for presenter
  mode; :func:`present` switches a finished figure to it.

Every figure builder in ``charts/`` passes ``template=TEMPLATE`` (a figure built without a
template gets it too, as the default), so every lab looks alike and a change of style is
made here, once. Builders should not set font sizes of their own: a size set on a figure
wins over the template and would not grow in presenter mode.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative

__all__ = [
    "DARK",
    "FONT",
    "FONT_FAMILY",
    "HOVER_FONT_SIZE",
    "MUTED",
    "PRESENT_SCALE",
    "PRESENT_TEMPLATE",
    "TEMPLATE",
    "TICK_FONT_SIZE",
    "cluster_colors",
    "present",
    "user_text",
]

TEMPLATE = "lab"
"""Name of the Lab's registered Plotly template: pass ``template=TEMPLATE``."""
PRESENT_TEMPLATE = "lab_present"
"""The same template with every size a quarter larger (presenter mode)."""

# Streamlit's own font, so charts and page read as one; Plotly measures text with it.
FONT_FAMILY = '"Source Sans", "Source Sans Pro", "Helvetica Neue", Arial, sans-serif'
DARK = "#1f2937"  # titles, tick and token labels: dark enough for a washed-out projector
MUTED = "#4b5563"  # notes under a title: quieter, still AA contrast on white
GRID = "#e5e7eb"

BASE_FONT_SIZE = 16
TICK_FONT_SIZE = 15  # tick and token labels: never below 14 px
HOVER_FONT_SIZE = 15
TITLE_FONT_SIZE = 19
PRESENT_SCALE = 1.25

FONT = {"family": FONT_FAMILY, "size": BASE_FONT_SIZE, "color": DARK}
"""The template's base font, for builders that must set a font explicitly."""


def user_text(text: object) -> str:
    """User text (file, column and token names) made safe for Plotly's HTML subset."""
    # <, > and & only: Plotly's text has no attributes to break out of, and it decodes few
    # named entities (not &quot;), so an escaped quote would show as "&quot;".
    return html.escape(str(text), quote=False)


def cluster_colors(n_clusters: int) -> list[str]:
    """A distinct colour per cluster (Tableau 10, then Alphabet for large K)."""
    palette = list(qualitative.T10) + list(qualitative.Alphabet)
    return [palette[k % len(palette)] for k in range(n_clusters)]


def _template(scale: float) -> go.layout.Template:
    """The Lab's template with every font size multiplied by ``scale``."""

    def size(px: float) -> int:
        return round(px * scale)

    tick = {"family": FONT_FAMILY, "size": size(TICK_FONT_SIZE), "color": DARK}
    axis = {
        "tickfont": tick,
        "title": {"font": {"size": size(BASE_FONT_SIZE), "color": DARK}, "standoff": 8},
        "gridcolor": GRID,
        "linecolor": "#9ca3af",
        "zerolinecolor": "#d1d5db",
        "automargin": True,
    }
    colorbar = {
        "tickfont": tick,
        "title": {"font": {"size": size(TICK_FONT_SIZE), "color": DARK}, "side": "top"},
        "outlinewidth": 0,
        "thickness": size(14),
    }
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.update(
        font={"family": FONT_FAMILY, "size": size(BASE_FONT_SIZE), "color": DARK},
        title={"font": {"size": size(TITLE_FONT_SIZE), "color": DARK}, "x": 0.01,
               "xanchor": "left"},
        hoverlabel={"font": {"family": FONT_FAMILY, "size": size(HOVER_FONT_SIZE)},
                    "align": "left"},
        legend={"font": {"size": size(TICK_FONT_SIZE), "color": DARK}},
        colorway=cluster_colors(10),
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=axis,
        yaxis=axis,
        coloraxis={"colorbar": colorbar},
        annotationdefaults={"font": {"size": size(TICK_FONT_SIZE), "color": DARK}},
        sliderdefaults={"font": {"size": size(TICK_FONT_SIZE), "color": DARK},
                        "currentvalue": {"font": {"size": size(BASE_FONT_SIZE), "color": DARK}}},
        updatemenudefaults={"font": {"size": size(TICK_FONT_SIZE), "color": DARK}},
    )  # fmt: skip
    # Traces that draw their own colour bar: the same ticks and title as the shared one.
    for trace in ("heatmap", "histogram2d", "contour"):
        for default in template.data[trace]:
            default.colorbar = colorbar
    return template


pio.templates[TEMPLATE] = _template(1.0)
pio.templates[PRESENT_TEMPLATE] = _template(PRESENT_SCALE)
pio.templates.default = TEMPLATE


def present(fig: go.Figure) -> go.Figure:
    """Switch a finished figure to presenter mode (in place): larger type everywhere.

    The template grows every size it sets; sizes a builder set on the figure itself (the
    base font, a title font, subplot titles) grow by the same factor. Returns ``fig``.
    """
    fig.update_layout(template=PRESENT_TEMPLATE)
    layout: Any = fig.layout
    # Sizes set on the figure (make_subplots sets its titles' size) grow by the same factor.
    for font in (layout.font, layout.title.font, *(a.font for a in layout.annotations)):
        if font.size:
            font.size = round(font.size * PRESENT_SCALE)
    if layout.height:
        layout.height = round(layout.height * 1.1)
    return fig
