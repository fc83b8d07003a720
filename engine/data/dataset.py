"""The data a lab works on: one type for every lab, its standardisation, its cache key.

Every lab (K-means today, the clustering family and clustered attention next) takes its
points from a :class:`Dataset`, wherever they came from: :mod:`engine.data.catalog` makes
generated shapes and scikit-learn's sample tables, and :meth:`Dataset.from_upload` wraps the
columns :mod:`engine.data.features` chose from an upload read by :mod:`engine.data.csv_reader`.
:func:`standardize` is the Lab's one standardisation: it records the mean and scale, so results
(centroids) go back to original units with :meth:`Standardization.inverse_transform`.
:func:`content_digest` keys cached work on every value of the points.
Pure numpy and scikit-learn; never streamlit or plotly.

Examples
--------
>>> from engine.data import make_dataset
>>> ds = make_dataset("blobs").with_standardized_features()
>>> ds
Dataset(name='blobs', X.shape=(300, 2), source='generated', standardized=True)
>>> bool(np.allclose(ds.standardization.inverse_transform(ds.X), ds.raw))
True
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.preprocessing import StandardScaler

if TYPE_CHECKING:  # only for annotations: csv_reader and features import this module
    from engine.data.csv_reader import CsvTable
    from engine.data.features import Features

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "Dataset",
    "Standardization",
    "content_digest",
    "standardize",
]

MAX_ROWS = 1_000_000
"""Default row cap for uploads; larger files are refused or sampled (``sample_rows=True``)."""

MAX_COLUMNS = 1_000
"""Most columns an upload may have; more is almost certainly not a table of points."""

_STANDARDIZED_NOTE = "Each feature was standardised to mean 0 and standard deviation 1."


# --------------------------------------------------------------------------------------------
# Standardisation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Standardization:
    """How each feature was rescaled: ``Z = (X - mean) / scale``, and back.

    Attributes
    ----------
    mean : ndarray of shape (n_features,)
        The mean of each feature.
    scale : ndarray of shape (n_features,)
        Its standard deviation (1 for a constant feature, which is only centred).
    """

    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]

    def transform(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Points in original units -> standardised, shape (n, n_features)."""
        return np.ascontiguousarray((np.asarray(X, dtype=np.float64) - self.mean) / self.scale)

    def inverse_transform(self, Z: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Standardised points (or centroids) -> original units, shape (n, n_features)."""
        return np.ascontiguousarray(np.asarray(Z, dtype=np.float64) * self.scale + self.mean)


def standardize(X: npt.ArrayLike) -> tuple[npt.NDArray[np.float64], Standardization]:
    """Rescale each column to mean 0 and standard deviation 1, recording how.

    The mean and scale are scikit-learn's ``StandardScaler``'s, which also treats a
    (nearly) constant column as constant: it is only centred, never divided by ~0.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite points.

    Returns
    -------
    Z : ndarray of shape (n_samples, n_features), float64, C-contiguous
        The standardised points.
    standardization : Standardization
        The mean and scale, to standardise more points or to go back to original units.

    Examples
    --------
    >>> Z, s = standardize([[1.0, 5.0], [3.0, 5.0]])
    >>> Z.tolist(), s.mean.tolist(), s.scale.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [2.0, 5.0], [1.0, 1.0])
    """
    scaler = StandardScaler().fit(X)
    standardization = Standardization(mean=scaler.mean_, scale=scaler.scale_)
    return standardization.transform(X), standardization


# --------------------------------------------------------------------------------------------
# The data a lab works on
# --------------------------------------------------------------------------------------------

# eq=False: the fields hold arrays and frames, whose == is element-wise, so the generated
# __eq__ would raise. Instances compare by identity; compare fields explicitly.


@dataclass(frozen=True, eq=False)
class Dataset:
    """Points a lab works on, wherever they came from, with what it takes to show and export them.

    Made by :func:`~engine.data.make_dataset`, :func:`~engine.data.load_sample`,
    :meth:`from_upload` or :meth:`from_points`; :meth:`with_standardized_features` rescales it.

    Attributes
    ----------
    name : str
        Registry key (``"blobs"``, ``"iris"``, ...), or ``"upload"``.
    title : str
        Short human name ("Two moons", or the uploaded file's name: user text).
    description : str
        One sentence on what the data is.
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
        The points every lab runs on (standardised when ``standardization`` is set).
    feature_names : tuple of str
        One name per column of ``X`` (user text for uploads).
    labels : ndarray of shape (n_samples,), int64, or None
        True group of each point, to compare clusters against (``None``: no groups known).
    label_names : tuple of str or None
        Name of each label value: ``label_names[labels[i]]``.
    kmeans_note : str
        Why K-means does well or struggles on this data ("" when nothing is known).
    suggested_k : int or None
        A sensible starting K (number of true groups, or ``centers``), if one is known.
    source : {"generated", "sample", "upload", "points"}
        Where the points came from ("points": :meth:`from_points`, e.g. in a notebook).
    raw : ndarray of shape (n_samples, n_features), float64
        The same points in their original units, to export. ``X`` itself unless
        standardised; construct with ``None`` (the default) when ``X`` is in original units.
    standardization : Standardization or None
        How ``X`` was standardised from ``raw``, or ``None``.
    table : pandas.DataFrame or None
        The uploaded table, to join results back to its rows.
    row_index : ndarray of shape (n_samples,), int64
        Row of ``table`` of each point (``0..n-1`` when constructing with ``None``).
    notes : tuple of str
        Plain sentences on what was done to the data (rows dropped, sampled, standardised).
    digest : str
        :func:`content_digest` of ``X``, computed on construction: the cache key of work on
        these points.
    """

    name: str
    title: str
    description: str
    X: npt.NDArray[np.float64]
    feature_names: tuple[str, ...]
    labels: npt.NDArray[np.int64] | None
    label_names: tuple[str, ...] | None
    kmeans_note: str
    suggested_k: int | None
    source: str = "generated"
    raw: npt.NDArray[np.float64] | None = None
    standardization: Standardization | None = None
    table: pd.DataFrame | None = None
    row_index: npt.NDArray[np.int64] | None = None
    notes: tuple[str, ...] = ()
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        # The dataclass is frozen: fields that default to something computed from X are
        # filled in with object.__setattr__, once, here.
        n_samples = len(self.X)
        if self.raw is None:
            object.__setattr__(self, "raw", self.X)
        if self.row_index is None:
            object.__setattr__(self, "row_index", np.arange(n_samples, dtype=np.int64))
        if np.ndim(self.X) != 2 or self.raw.shape != self.X.shape:
            raise ValueError(
                f"X should be 2-D with raw of the same shape, got X.shape={np.shape(self.X)} "
                f"and raw.shape={np.shape(self.raw)}."
            )
        if len(self.row_index) != n_samples:
            raise ValueError(f"row_index has {len(self.row_index)} rows, X has {n_samples}.")
        object.__setattr__(self, "digest", content_digest(self.X))

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, X.shape={self.X.shape}, source={self.source!r}, "
            f"standardized={self.standardized})"
        )

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def standardized(self) -> bool:
        return self.standardization is not None

    def with_standardized_features(self) -> Dataset:
        """This data with each feature rescaled to mean 0 and standard deviation 1.

        ``raw`` keeps the original units; standardising standardised data changes nothing.
        """
        if self.standardized:
            return self
        X, standardization = standardize(self.X)
        notes = (*self.notes, _STANDARDIZED_NOTE)
        return replace(self, X=X, raw=self.X, standardization=standardization, notes=notes)

    @classmethod
    def from_points(
        cls,
        X: npt.ArrayLike,
        labels: npt.ArrayLike | None = None,
        *,
        name: str = "points",
        title: str = "Points",
    ) -> Dataset:
        """Points from a notebook, and their true groups if known, as a Dataset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Finite points.
        labels : array-like of shape (n_samples,), optional
            True group of each point, any values; they are numbered 0, 1, ... in sorted
            order and their values kept as ``label_names``.
        name, title : str
            Key and short human name.

        Examples
        --------
        >>> ds = Dataset.from_points([[0, 0], [0, 1], [5, 5]], ["a", "a", "b"])
        >>> ds.feature_names, ds.labels.tolist(), ds.label_names
        (('x1', 'x2'), [0, 0, 1], ('a', 'b'))
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise ValueError(f"X should be a 2-D array of finite numbers, got shape {X.shape}.")
        codes = label_names = None
        if labels is not None:
            values, codes = np.unique(np.asarray(labels), return_inverse=True)
            if len(codes) != len(X):
                raise ValueError(f"labels has {len(codes)} entries, X has {len(X)} rows.")
            codes, label_names = codes.astype(np.int64), tuple(str(v) for v in values)
        return cls(
            name=name,
            title=title,
            description=f"{X.shape[0]:,} points × {X.shape[1]} features.",
            X=X,
            feature_names=tuple(f"x{j + 1}" for j in range(X.shape[1])),
            labels=codes,
            label_names=label_names,
            kmeans_note="",
            suggested_k=None if label_names is None else len(label_names),
            source="points",
        )

    @classmethod
    def from_upload(cls, table: CsvTable, features: Features) -> Dataset:
        """The columns chosen from an uploaded table (already cleaned by prepare_features)."""
        notes = list(table.notes)
        if features.n_dropped:
            notes.append(
                f"{features.n_dropped:,} of {features.n_rows_in:,} rows had a missing or "
                "infinite value and were dropped."
            )
        raw = features.X
        if features.standardization is not None:
            raw = features.standardization.inverse_transform(features.X)
            notes.append(_STANDARDIZED_NOTE)
        n_samples, n_features = features.X.shape
        return cls(
            name="upload",
            title=table.filename or "Uploaded table",
            description=(
                f"{n_samples:,} rows × {n_features} numeric columns from an uploaded CSV file."
            ),
            X=features.X,
            feature_names=features.feature_names,
            labels=features.labels,
            label_names=features.label_names,
            kmeans_note="",
            suggested_k=len(features.label_names) if features.label_names else None,
            source="upload",
            raw=raw,
            standardization=features.standardization,
            table=table.frame,
            row_index=features.row_index,
            notes=tuple(notes),
        )


# --------------------------------------------------------------------------------------------
# Cache key
# --------------------------------------------------------------------------------------------


def content_digest(X: npt.ArrayLike) -> str:
    """A digest of every value of an array, its shape and dtype, to key cached fits.

    Streamlit's ``st.cache_data`` hashes large arrays from a sample of their values, so two
    data sets differing outside that sample would share a cache entry; pass this digest as an
    argument of the cached function instead (and hide the array with a leading underscore).

    Parameters
    ----------
    X : array-like
        Numeric array (object arrays are refused: their bytes are pointers, not values).

    Returns
    -------
    str
        32 hex characters (BLAKE2b, 16-byte digest).

    Raises
    ------
    TypeError
        If ``X`` has object dtype.

    Examples
    --------
    >>> a = np.zeros(1_000_000)
    >>> b = a.copy(); b[123_457] = 1e-12
    >>> content_digest(a) == content_digest(b)
    False
    """
    array = np.ascontiguousarray(X)
    if array.dtype.hasobject:
        raise TypeError("content_digest needs a numeric array, not dtype=object.")
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{array.dtype.str}|{array.shape}|".encode())
    h.update(array.reshape(-1).view(np.uint8))
    return h.hexdigest()
