"""The Lab's one look: fonts, colours and the escaping of user text, for every chart.

Every figure builder in ``charts/`` takes its template, fonts and cluster colours from
here, so the labs look alike and a change of style is made once.
"""

from __future__ import annotations

import html

from plotly.colors import qualitative

TEMPLATE = "plotly_white"
FONT = {"family": "Source Sans Pro, sans-serif", "size": 15}
HOVER_FONT_SIZE = 14


def user_text(text: object) -> str:
    """User text (file, column and token names) made safe for Plotly's HTML subset."""
    # <, > and & only: Plotly's text has no attributes to break out of, and it decodes few
    # named entities (not &quot;), so an escaped quote would show as "&quot;".
    return html.escape(str(text), quote=False)


def cluster_colors(n_clusters: int) -> list[str]:
    """A distinct colour per cluster (Tableau 10, then Alphabet for large K)."""
    palette = list(qualitative.T10) + list(qualitative.Alphabet)
    return [palette[k % len(palette)] for k in range(n_clusters)]
