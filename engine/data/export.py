"""CSV downloads, safe to open: the one writer every lab's "Download" button goes through.

A cell such as ``=HYPERLINK("http://x","y")`` written as is becomes a live formula when the
file is opened in a spreadsheet (CSV formula injection). Tokens, column names and file
contents in this Lab are user text, so no lab writes CSV with ``DataFrame.to_csv`` directly:
:func:`to_csv_bytes` defuses such cells first. Pure pandas; never streamlit.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["to_csv_bytes"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """Write a DataFrame as UTF-8 CSV (with BOM, so Excel reads accents), safe to open.

    Text cells and column names that a spreadsheet would run as a formula (starting with
    ``= + - @``, tab or carriage return, and not a number) get a leading ``'``, the usual
    defence against CSV formula injection.

    Parameters
    ----------
    frame : pandas.DataFrame
        Table to export (e.g. original rows with cluster labels joined).

    Returns
    -------
    bytes
        The CSV file, comma separated, decimal point, no index column.

    Examples
    --------
    >>> to_csv_bytes(pd.DataFrame({"a": ["=1+1", "-2", "x"]})).decode("utf-8-sig").split()
    ['a', "'=1+1", '-2', 'x']
    """
    safe = frame.copy()
    safe.columns = [_defuse(str(c)) for c in safe.columns]
    for j in range(safe.shape[1]):
        column = safe.iloc[:, j]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            safe.isetitem(j, column.map(lambda v: _defuse(v) if isinstance(v, str) else v))
    return safe.to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def _defuse(text: str) -> str:
    """Prefix a formula-like text with ' so spreadsheets show it instead of running it."""
    if not text.startswith(_FORMULA_START):
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text
