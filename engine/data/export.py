"""CSV downloads, safe to open: the one writer every lab's "Download" button goes through.

A cell such as ``=HYPERLINK("http://x","y")`` written as is becomes a live formula when the
file is opened in a spreadsheet (CSV formula injection). Tokens, column names and file
contents in this Lab are user text, so no lab writes CSV with ``DataFrame.to_csv`` directly:
:func:`to_csv_bytes` defuses such cells first. Pure pandas; never streamlit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from engine.data.dataset import Dataset

__all__ = ["labelled_rows", "to_csv_bytes"]

NOISE = "noise"
"""What the ``cluster`` column says of a point a method left out of every cluster (label −1)."""

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


def labelled_rows(data: Dataset, labels: npt.ArrayLike) -> pd.DataFrame:
    """The user's rows with their cluster joined: the table every lab's labels download writes.

    ``labels`` holds one 0-based cluster per point of ``data`` (−1: noise, as DBSCAN and
    HDBSCAN say it). An uploaded table comes back whole, in its own columns, with a
    ``cluster`` column (1-based; ``"noise"``; empty for rows the fit never saw: rows dropped
    for missing values, or left out of a sample); generated data comes back as its
    features, its true group when known, and ``cluster``.

    Examples
    --------
    >>> from engine.data import Dataset
    >>> data = Dataset.from_points([[0.0, 0.0], [1.0, 1.0], [9.0, 9.0]])
    >>> labelled_rows(data, [0, 0, -1])["cluster"].tolist()
    [1, 1, 'noise']
    """
    labels = np.asarray(labels)
    named = pd.Series(labels + 1, dtype=object).where(labels >= 0, NOISE)  # (n_samples,)
    if data.table is not None:
        out = data.table.copy()
        cluster = pd.Series(pd.NA, index=out.index, dtype=object)
        cluster.loc[data.row_index] = named.to_numpy()
        if (labels >= 0).all():
            cluster = cluster.astype("Int64")  # whole numbers, not 1.0, in the spreadsheet
        out["cluster"] = cluster
        return out
    out = pd.DataFrame(data.raw, columns=list(data.feature_names))
    if data.labels is not None:
        names = data.label_names or tuple(str(v) for v in np.unique(data.labels))
        out["true label"] = [names[v] for v in data.labels]
    out["cluster"] = named.to_numpy() if (labels < 0).any() else labels + 1
    return out
