"""From a table to the matrix a lab runs on: pick columns, clean rows, check what is left.

:func:`numeric_columns` and :func:`label_columns` say what a page may offer;
:func:`prepare_features` turns the chosen columns into a finite float64 matrix (dropping and
counting rows with missing values, optionally standardising); :func:`check_enough_rows`
refuses fewer points than clusters. Every problem a user can cause is a
:class:`~engine.data.errors.DataError`. Pure numpy, pandas and scikit-learn.

Examples
--------
>>> frame = pd.DataFrame({"x": [1.5, 3.0], "y": [2.0, 4.5], "kind": ["a", "b"]})
>>> prepare_features(frame, numeric_columns(frame)).X.tolist()
[[1.5, 2.0], [3.0, 4.5]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from engine.data import dataset
from engine.data.dataset import Standardization
from engine.data.errors import DataError, one_line

__all__ = [
    "MAX_ABS_VALUE",
    "MAX_LABEL_CLASSES",
    "Features",
    "check_enough_rows",
    "label_columns",
    "numeric_columns",
    "prepare_features",
]

MAX_ABS_VALUE = 1e150
"""Largest magnitude accepted: beyond it squared distances overflow float64 to inf."""

MAX_LABEL_CLASSES = 50
"""Most distinct values a column may have to be offered as true labels."""


# eq=False: the fields hold arrays and frames, whose == is element-wise, so the generated
# __eq__ would raise. Instances compare by identity; compare fields explicitly.



@dataclass(frozen=True, eq=False)
class Features:
    """The numeric matrix chosen from a table, cleaned and optionally standardised.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
        The points, all finite.
    feature_names : tuple of str
        The chosen columns, in order.
    labels : ndarray of shape (n_samples,), int64, or None
        Codes of the true-label column (``None`` if no label column was chosen).
    label_names : tuple of str or None
        Value of each label code: ``label_names[labels[i]]``.
    row_index : ndarray of shape (n_samples,), int64
        Index in the table of each kept row (the file's 0-based data-row number), to join
        cluster labels back to the original rows.
    n_rows_in : int
        Rows in the table before cleaning.
    n_dropped : int
        Rows dropped for a missing or infinite value in a chosen column, or a missing label.
    standardization : Standardization or None
        The standardisation applied (``X = (raw - mean) / scale``), or ``None`` if not
        standardised; ``mean`` and ``scale`` read its two arrays (``None`` if not).
    """

    X: npt.NDArray[np.float64]
    feature_names: tuple[str, ...]
    labels: npt.NDArray[np.int64] | None
    label_names: tuple[str, ...] | None
    row_index: npt.NDArray[np.int64]
    n_rows_in: int
    n_dropped: int
    standardization: Standardization | None

    def __repr__(self) -> str:
        return (
            f"Features(X.shape={self.X.shape}, n_dropped={self.n_dropped}, "
            f"standardized={self.standardization is not None})"
        )

    @property
    def mean(self) -> npt.NDArray[np.float64] | None:
        return None if self.standardization is None else self.standardization.mean

    @property
    def scale(self) -> npt.NDArray[np.float64] | None:
        return None if self.standardization is None else self.standardization.scale



def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Names of the columns that hold numbers (not booleans) with at least one finite value.

    Parameters
    ----------
    frame : pandas.DataFrame
        Usually ``CsvTable.frame``.

    Returns
    -------
    list of str
        In table order; the page's default choice of features.

    Examples
    --------
    >>> numeric_columns(pd.DataFrame({"x": [1.0, 2.0], "name": ["a", "b"], "ok": [True, False]}))
    ['x']
    """
    names = []
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        if np.isfinite(column.to_numpy(dtype=np.float64, na_value=np.nan)).any():
            names.append(name)
    return names


def label_columns(frame: pd.DataFrame, max_classes: int = MAX_LABEL_CLASSES) -> list[str]:
    """Columns that could hold true labels: 2 to ``max_classes`` distinct values, repeated.

    Non-numeric columns come first (a text column of class names is the likeliest label),
    then integer columns; float columns with fractional values are never labels.

    Parameters
    ----------
    frame : pandas.DataFrame
        Usually ``CsvTable.frame``.
    max_classes : int, default=MAX_LABEL_CLASSES
        Most distinct values a label column may have.

    Returns
    -------
    list of str
        Candidates, likeliest first; the page offers them with a "none" choice.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4], "kind": ["a", "b", "a", "b"]})
    >>> label_columns(df)
    ['kind']
    """
    text, integer = [], []
    for name in frame.columns:
        column = frame[name].dropna()
        n_distinct = column.nunique()
        if not 2 <= n_distinct <= max_classes or n_distinct >= len(column):
            continue
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            values = column.to_numpy(dtype=np.float64)
            if np.isfinite(values).all() and (values == np.round(values)).all():
                integer.append(name)
        else:
            text.append(name)
    return text + integer


def prepare_features(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    label_column: str | None = None,
    standardize: bool = False,
) -> Features:
    """Turn chosen columns into a clean float matrix ready for K-means.

    Rows with a missing or infinite value in any chosen column (or a missing label) are
    dropped and counted. Standardising rescales each column to mean 0 and standard deviation 1
    (a constant column is only centred).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, usually ``CsvTable.frame``.
    columns : sequence of str
        Numeric columns to cluster on, e.g. ``numeric_columns(frame)``.
    label_column : str or None, default=None
        A column of true labels to compare clusters against (any type); not a feature.
    standardize : bool, default=False
        Rescale each feature to mean 0 and standard deviation 1.

    Returns
    -------
    Features
        The matrix, label codes, kept row index and the count of dropped rows.

    Raises
    ------
    DataError
        No column chosen, an unknown or non-numeric column, the label column also chosen as a
        feature, every row dropped, one row left, every point identical, or values too large.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, float("nan"), 3.0, 5.0], "y": [2.0, 4.0, float("inf"), 6.0]})
    >>> f = prepare_features(df, ["x", "y"])
    >>> f.X.tolist(), f.n_dropped, f.row_index.tolist()
    ([[1.0, 2.0], [5.0, 6.0]], 2, [0, 3])
    """
    columns = list(columns)
    if not columns:
        raise DataError("No column is selected. Pick at least one numeric column to cluster on.")
    numeric = set(numeric_columns(frame))
    for name in columns:
        if name not in frame.columns:
            raise DataError(f'There is no column "{one_line(name)}" in the table. Pick another.')
        if name not in numeric:
            raise DataError(
                f'Column "{one_line(name)}" does not hold numbers, so K-means cannot use it. '
                "Pick numeric columns only."
            )
    if len(set(columns)) != len(columns):
        raise DataError("A column is selected twice. Pick each column once.")
    if label_column is not None:
        if label_column not in frame.columns:
            raise DataError(f'There is no column "{one_line(label_column)}" to use as labels.')
        if label_column in columns:
            raise DataError(
                f'Column "{one_line(label_column)}" is chosen both as a feature and as the true '
                "labels. Remove it from the features, or pick no label column."
            )

    raw = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)  # (n_rows, n_features)
    keep = np.isfinite(raw).all(axis=1)
    if label_column is not None:
        keep &= frame[label_column].notna().to_numpy()
    n_rows_in, n_kept = len(frame), int(keep.sum())
    if n_kept == 0:
        raise DataError(
            f"Every one of the {n_rows_in:,} rows has a missing or infinite value in the chosen "
            "columns, so no rows are left. Pick other columns or fill in the missing values."
        )
    X = np.ascontiguousarray(raw[keep])
    dropped = f" ({n_rows_in - n_kept:,} rows with missing or infinite values were dropped)"
    dropped = dropped if n_kept < n_rows_in else ""
    if n_kept == 1:
        raise DataError(
            f"Only one row is left to cluster{dropped}. Clustering needs at least two rows; "
            "pick other columns or upload more rows."
        )
    if np.abs(X).max() > MAX_ABS_VALUE:
        raise DataError(
            f"Some values are larger than {MAX_ABS_VALUE:g} in size, too large to square without "
            "overflowing. Rescale those columns (e.g. change units) and upload again."
        )
    if (X == X[0]).all():
        raise DataError(
            f"All {n_kept:,} points are identical{dropped}, so there is nothing to cluster. "
            "Pick columns whose values vary."
        )

    standardization = None
    if standardize:
        X, standardization = dataset.standardize(X)  # (the argument hides the name)

    labels = label_names = None
    if label_column is not None:
        try:
            codes, uniques = pd.factorize(frame[label_column][keep], sort=True)
        except TypeError:  # values of mixed types cannot be sorted; keep first-seen order
            codes, uniques = pd.factorize(frame[label_column][keep])
        labels = codes.astype(np.int64)
        label_names = tuple(str(u) for u in uniques)

    return Features(
        X=X,
        feature_names=tuple(str(c) for c in columns),
        labels=labels,
        label_names=label_names,
        row_index=np.asarray(frame.index[keep], dtype=np.int64),
        n_rows_in=n_rows_in,
        n_dropped=n_rows_in - n_kept,
        standardization=standardization,
    )


def check_enough_rows(X: npt.ArrayLike, k: int) -> None:
    """Raise DataError unless there are at least ``k`` points to put in ``k`` clusters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points.
    k : int
        The number of clusters asked for.

    Raises
    ------
    DataError
        If ``n_samples < k``; the message says how far to lower K.

    Examples
    --------
    >>> check_enough_rows(np.zeros((3, 2)), 4)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    engine.data.DataError: There are 3 points but K = 4: ...
    """
    n = int(np.shape(X)[0])
    if n < k:
        raise DataError(
            f"There are {n:,} points but K = {k}: K-means needs at least as many points as "
            f"clusters. Lower K to {n:,} or fewer, or use more rows."
        )

