"""Presenter mode and the page style every lab shares.

Presenter mode is for a lecture or a demo on a projector: the sidebar is collapsed, all
type is larger (the page's and the charts'), and each lab puts its headline chart first. It
is a toggle at the top of the sidebar, and a link with ``?present=1`` opens in it (``0``
turns it off). ``app.py`` reads the link, draws the toggle and keeps ``present=1`` in the
address while it is on; pages ask :func:`presenting` where to put their headline chart,
and :func:`app_pages.components.figures.show_figure` enlarges the charts.
"""

from __future__ import annotations

import streamlit as st

KEY = "lab_present"
"""Session-state key of the toggle (not a lab prefix: it belongs to every page)."""
URL_KEY = "present"
"""The link's key: ``?present=1``."""

# One look for every page: less empty space above the title, metrics that fit their
# columns at 1280 px, figures' toolbars kept off the charts' colour bars.
_STYLE = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; padding-bottom: 3rem; }
[data-testid="stMainBlockContainer"] h1 { padding-top: 0; padding-bottom: 0.25rem; }
[data-testid="stMainBlockContainer"] h3 { padding-top: 0.25rem; padding-bottom: 0; }
[data-testid="stMetricValue"] { font-size: 1.75rem; }
[data-testid="stSidebarUserContent"] { padding-top: 0.5rem; }
</style>
"""
# Presenter mode: every rem grows by a quarter, so text, widgets and spacing grow together.
_PRESENT_STYLE = """
<style>
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
</style>
"""


def presenting() -> bool:
    """Whether this session is in presenter mode."""
    return bool(st.session_state.get(KEY, False))


def read_link() -> None:
    """Turn presenter mode on or off from the link, once per session (before the toggle)."""
    ss = st.session_state
    if ss.get(f"{KEY}_link_read"):
        return
    ss[f"{KEY}_link_read"] = True
    value = st.query_params.get(URL_KEY)
    if value is not None:
        ss[KEY] = value.strip().lower() in ("1", "true", "yes", "on")


def sidebar_state() -> str:
    """``initial_sidebar_state`` for ``st.set_page_config``: collapsed when presenting."""
    return "collapsed" if presenting() else "expanded"


def toggle() -> None:
    """The presenter-mode switch, at the top of the sidebar."""
    st.sidebar.toggle(
        "Presenter mode", key=KEY,
        help="For a projector: larger type, the sidebar folded away and each lab's main "
        "chart first. A link with ?present=1 opens the Lab this way.",
    )  # fmt: skip


def style() -> None:
    """The page style (and presenter mode's larger type): a style tag, taking no space."""
    st.html(_STYLE + (_PRESENT_STYLE if presenting() else ""))


def keep_in_link() -> None:
    """Put ``present=1`` in the address while presenting (pages rewrite it as they run)."""
    if presenting():
        st.query_params[URL_KEY] = "1"
    elif URL_KEY in st.query_params:
        del st.query_params[URL_KEY]
