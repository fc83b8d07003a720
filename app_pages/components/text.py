"""User text on the page: shown as text, never read as Markdown, HTML, emoji or LaTeX."""

from __future__ import annotations

import re

import streamlit as st

# Every character Markdown, Streamlit's emoji shortcodes (:smile:), its colour directives or
# LaTeX ($x$) could read as syntax. "&" too: an unescaped "&amp;" would be shown as "&".
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&])")


def md_text(text: object) -> str:
    """``text`` backslash-escaped so that st.markdown, st.error and captions show it literally."""
    return _SPECIAL.sub(r"\\\1", str(text))


def show_error(message: object, *, next_step: str = "") -> None:
    """An error the user can fix: ``message`` (it may quote user text) shown literally, then
    ``next_step``, the page's own markdown saying what to do or what was kept."""
    st.error(md_text(message) + (f"  \n{next_step}" if next_step else ""), icon=":material/error:")
