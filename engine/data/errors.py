"""The one error type of data in, and how user text is quoted inside its messages.

Everything a user can get wrong with their data (a broken file, a bad column choice, fewer
points than clusters) raises :class:`DataError`, a ``ValueError`` whose message is a plain
sentence for a student: what is wrong and what to do next. Pages catch it at their boundary
and show the message as text; file and column names inside it are user text and must never
be shown as HTML or markdown.
"""

from __future__ import annotations

import re

__all__ = ["DataError", "one_line"]


class DataError(ValueError):
    """Bad input the user can fix; the message says what is wrong and what to do next."""


def one_line(text: object, limit: int = 60) -> str:
    """User text for a message: one line, control characters replaced, long text cut.

    Examples
    --------
    >>> one_line("a\\tb\\n" + "x" * 100, limit=10)
    'a b xxxxx…'
    """
    s = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"
