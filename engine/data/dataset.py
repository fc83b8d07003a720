"""The data a lab works on: its type, its size limits and its cache key.

Every lab (K-means today, the clustering family and clustered attention next) takes its
points from a :class:`Dataset`, wherever they came from: :mod:`engine.data.catalog` makes
generated shapes and scikit-learn's sample tables, :mod:`engine.data.csv_reader` and
:mod:`engine.data.features` turn an upload into one. :func:`content_digest` keys cached
work on every value of the points. Pure numpy; never streamlit or plotly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "Dataset", "content_digest"]

MAX_ROWS = 1_000_000
"""Default row cap for uploads; larger files are refused or sampled (``sample_rows=True``)."""

MAX_COLUMNS = 1_000
"""Most columns an upload may have; more is almost certainly not a table of points."""


# eq=False: the fields hold arrays and frames, whose == is element-wise, so the generated
# __eq__ would raise. Instances compare by identity; compare fields explicitly.


@dataclass(frozen=True, eq=False)
class Dataset:
    """A ready-to-cluster data set: generated, or a scikit-learn sample.

    Attributes
    ----------
    name : str
        Registry key (``"blobs"``, ``"iris"``, ...).
    title : str
        Short human name ("Two moons").
    description : str
        One sentence on what the data is.
    X : ndarray of shape (n_samples, n_features), float64, C-contiguous
        The points.
    feature_names : tuple of str
        One name per column of ``X``.
    labels : ndarray of shape (n_samples,), int64, or None
        True group of each point (``None`` for uniform noise, which has no groups).
    label_names : tuple of str or None
        Name of each label value: ``label_names[labels[i]]``.
    kmeans_note : str
        Why K-means does well or struggles on this shape, for the page to show.
    suggested_k : int
        A sensible starting K (number of true groups, or ``centers``).
    """

    name: str
    title: str
    description: str
    X: npt.NDArray[np.float64]
    feature_names: tuple[str, ...]
    labels: npt.NDArray[np.int64] | None
    label_names: tuple[str, ...] | None
    kmeans_note: str
    suggested_k: int

    def __repr__(self) -> str:
        shape, k = self.X.shape, self.suggested_k
        return f"Dataset(name={self.name!r}, X.shape={shape}, suggested_k={k})"


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
