"""Data in for the K-means lab: generated shapes, scikit-learn samples, and uploaded CSV files.

Three ways in, one way out. :func:`make_dataset` and :func:`load_sample` return a
:class:`Dataset`; an upload goes through :func:`read_csv_bytes` (bytes -> :class:`CsvTable`)
and then :func:`prepare_features` (chosen columns -> :class:`Features`). Either way the page
ends up with a float64, C-contiguous matrix ``X`` of shape ``(n_samples, n_features)``.

Everything a user can get wrong raises :class:`DataError`, a ``ValueError`` whose message is a
plain sentence for a student: what is wrong and what to do next. Messages are plain text; file
and column names inside them are user text and must be shown as text, never as HTML.

This module is pure computation: numpy, pandas and scikit-learn, never streamlit or plotly.

Examples
--------
>>> ds = make_dataset("blobs")
>>> ds.X.shape, ds.suggested_k
((300, 2), 4)
>>> table = read_csv_bytes(b"x;y\\n1,5;2,0\\n3,0;4,5\\n", filename="points.csv")
>>> table.separator, table.decimal
(';', ',')
>>> prepare_features(table.frame, ["x", "y"]).X.tolist()
[[1.5, 2.0], [3.0, 4.5]]
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn import datasets as skdatasets
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state

__all__ = [
    "GENERATED",
    "MAX_ABS_VALUE",
    "MAX_COLUMNS",
    "MAX_LABEL_CLASSES",
    "MAX_ROWS",
    "SAMPLES",
    "CsvTable",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "Features",
    "check_enough_rows",
    "content_digest",
    "label_columns",
    "load_sample",
    "make_dataset",
    "numeric_columns",
    "prepare_features",
    "read_csv_bytes",
    "to_csv_bytes",
]

MAX_ROWS = 1_000_000
"""Default row cap for uploads; larger files are refused or sampled (``sample_rows=True``)."""

MAX_COLUMNS = 1_000
"""Most columns an upload may have; more is almost certainly not a table of points."""

MAX_ABS_VALUE = 1e150
"""Largest magnitude accepted: beyond it squared distances overflow float64 to inf."""

MAX_LABEL_CLASSES = 50
"""Most distinct values a column may have to be offered as true labels."""


class DataError(ValueError):
    """Bad input the user can fix; the message says what is wrong and what to do next."""


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------

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


@dataclass(frozen=True, eq=False)
class CsvTable:
    """An uploaded CSV file parsed into a DataFrame, with how it was read.

    Attributes
    ----------
    frame : pandas.DataFrame
        The table. Column names are unique, stripped strings; the index is the 0-based number
        of each data row in the file (kept through sampling, so results can be joined back).
    filename : str
        The name the file was uploaded under (user text).
    encoding : str
        ``"utf-8"``, ``"utf-8-sig"`` (UTF-8 with BOM), ``"utf-16-le"`` or ``"utf-16-be"``.
    separator : str
        ``","``, ``";"`` or ``"\\t"``.
    decimal : str
        ``"."`` or ``","``.
    has_header : bool
        Whether the first row was read as column names; if not, columns are ``"column 1"``, ...
    n_rows_in_file : int
        Data rows in the file (before any sampling).
    sampled : bool
        True when ``frame`` is a random sample of ``max_rows`` of the file's rows.
    notes : tuple of str
        Plain sentences on anything the reader decided for the user (no header found,
        sampled rows), for the page to show.
    """

    frame: pd.DataFrame
    filename: str
    encoding: str
    separator: str
    decimal: str
    has_header: bool
    n_rows_in_file: int
    sampled: bool
    notes: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"CsvTable(filename={self.filename!r}, shape={self.frame.shape}, "
            f"separator={self.separator!r}, decimal={self.decimal!r}, "
            f"encoding={self.encoding!r}, has_header={self.has_header})"
        )


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
    mean, scale : ndarray of shape (n_features,) or None
        The standardisation applied (``X = (raw - mean) / scale``), or ``None`` if not
        standardised.
    """

    X: npt.NDArray[np.float64]
    feature_names: tuple[str, ...]
    labels: npt.NDArray[np.int64] | None
    label_names: tuple[str, ...] | None
    row_index: npt.NDArray[np.int64]
    n_rows_in: int
    n_dropped: int
    mean: npt.NDArray[np.float64] | None
    scale: npt.NDArray[np.float64] | None

    def __repr__(self) -> str:
        return (
            f"Features(X.shape={self.X.shape}, n_dropped={self.n_dropped}, "
            f"standardized={self.mean is not None})"
        )


@dataclass(frozen=True)
class DatasetInfo:
    """What the page needs to offer a data set before making it.

    Attributes
    ----------
    name : str
        Registry key.
    title : str
        Short human name.
    description : str
        One sentence on the data.
    kmeans_note : str
        Why K-means does well or struggles on it.
    parameters : tuple of str
        The keyword arguments of :func:`make_dataset` this kind uses (empty for samples), so the
        page shows only the controls that matter.
    """

    name: str
    title: str
    description: str
    kmeans_note: str
    parameters: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Generated data
# --------------------------------------------------------------------------------------------

# The stretch of scikit-learn's "Demonstration of k-means assumptions" example.
_ANISOTROPIC_TRANSFORM = np.array([[0.6, -0.6], [-0.4, 0.8]])
# Relative spread and relative size of the groups of the "varied" shape, cycled over centers.
_VARIED_STD_FACTORS = (1.0, 4.0, 0.5, 2.0)
_VARIED_SIZE_WEIGHTS = (8.0, 4.0, 2.0, 1.0)

GENERATED: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "blobs": DatasetInfo(
            "blobs",
            "Blobs",
            "Round Gaussian groups of equal spread (scikit-learn's make_blobs).",
            "Round, equally spread, well separated groups: the case K-means is built for.",
            ("n_samples", "n_features", "centers", "cluster_std", "random_state"),
        ),
        "moons": DatasetInfo(
            "moons",
            "Two moons",
            "Two interleaving half circles in the plane.",
            "K-means cuts with straight boundaries between centroids, so it slices each moon in "
            "two instead of following the curves.",
            ("n_samples", "noise", "random_state"),
        ),
        "circles": DatasetInfo(
            "circles",
            "Concentric circles",
            "A small circle inside a large one.",
            "Both rings share the same centre, so no placement of centroids separates them: "
            "K-means splits the plane into halves or wedges instead.",
            ("n_samples", "noise", "random_state"),
        ),
        "anisotropic": DatasetInfo(
            "anisotropic",
            "Stretched blobs",
            "Blobs sheared by a fixed linear map into long, tilted ellipses.",
            "K-means measures plain Euclidean distance, so it prefers round groups and cuts "
            "across the long axis of stretched ones.",
            ("n_samples", "n_features", "centers", "cluster_std", "random_state"),
        ),
        "varied": DatasetInfo(
            "varied",
            "Unequal blobs",
            "Blobs of very different spread and size.",
            "K-means places boundaries halfway between centroids, so a wide group loses its "
            "outer points to a tight neighbour, and a big group can take two centroids.",
            ("n_samples", "n_features", "centers", "cluster_std", "random_state"),
        ),
        "uniform": DatasetInfo(
            "uniform",
            "Uniform noise",
            "Points spread evenly over a square (or cube): no groups at all.",
            "There are no clusters, yet K-means always returns K of them: a low J does not "
            "prove the groups are real.",
            ("n_samples", "n_features", "random_state"),
        ),
    }
)


def make_dataset(
    kind: str = "blobs",
    *,
    n_samples: int = 300,
    n_features: int = 2,
    centers: int = 4,
    cluster_std: float = 0.60,
    noise: float = 0.05,
    random_state: int | None = 0,
) -> Dataset:
    """Generate a synthetic data set that shows where K-means works and where it fails.

    Parameters
    ----------
    kind : {"blobs", "moons", "circles", "anisotropic", "varied", "uniform"}
        The shape; ``GENERATED[kind]`` describes it and lists the parameters it uses.
    n_samples : int, default=300
        Number of points, 1 to ``MAX_ROWS``.
    n_features : int, default=2
        Dimensions (blobs, anisotropic, varied, uniform); moons and circles are always 2-D.
    centers : int, default=4
        Number of groups (blobs, anisotropic, varied); also ``suggested_k`` for uniform noise.
    cluster_std : float, default=0.60
        Standard deviation of each blob (for "varied", the base that each group scales).
    noise : float, default=0.05
        Standard deviation of Gaussian noise added to moons and circles.
    random_state : int or None, default=0
        Seed; the same seed gives the same data.

    Returns
    -------
    Dataset
        With true labels (``None`` for uniform noise) and a note on K-means for this shape.

    Raises
    ------
    ValueError
        If ``kind`` is unknown or a parameter is out of range (the message names it).

    Examples
    --------
    The default is exactly ``make_blobs(n_samples=300, centers=4, cluster_std=0.60,
    random_state=0)``:

    >>> from sklearn.datasets import make_blobs
    >>> X, y = make_blobs(n_samples=300, centers=4, cluster_std=0.60, random_state=0)
    >>> ds = make_dataset("blobs")
    >>> bool((ds.X == X).all() and (ds.labels == y).all())
    True
    """
    if kind not in GENERATED:
        raise ValueError(f"kind={kind!r} is not one of {sorted(GENERATED)}.")
    _check_int("n_samples", n_samples, 1, MAX_ROWS)
    _check_int("n_features", n_features, 1, MAX_COLUMNS)
    _check_int("centers", centers, 1, 1000)
    _check_float("cluster_std", cluster_std, 0.0)
    _check_float("noise", noise, 0.0)

    if kind == "blobs":
        X, y = skdatasets.make_blobs(
            n_samples=n_samples,
            n_features=n_features,
            centers=centers,
            cluster_std=cluster_std,
            random_state=random_state,
        )
    elif kind == "moons":
        X, y = skdatasets.make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    elif kind == "circles":
        X, y = skdatasets.make_circles(
            n_samples=n_samples, noise=noise, factor=0.5, random_state=random_state
        )
    elif kind == "anisotropic":
        X, y = skdatasets.make_blobs(
            n_samples=n_samples,
            n_features=n_features,
            centers=centers,
            cluster_std=cluster_std,
            random_state=random_state,
        )
        if n_features >= 2:  # shear the first two axes; 1-D data has nothing to stretch
            X[:, :2] = X[:, :2] @ _ANISOTROPIC_TRANSFORM
    elif kind == "varied":
        if n_samples < centers:
            raise ValueError(f"n_samples={n_samples} should be >= centers={centers}.")
        weights = np.resize(np.array(_VARIED_SIZE_WEIGHTS), centers)
        sizes = np.maximum(1, np.floor(n_samples * weights / weights.sum())).astype(int)
        sizes[0] += n_samples - sizes.sum()
        stds = cluster_std * np.resize(np.array(_VARIED_STD_FACTORS), centers)
        X, y = skdatasets.make_blobs(
            n_samples=sizes.tolist(),
            n_features=n_features,
            centers=None,
            cluster_std=stds.tolist(),
            random_state=random_state,
        )
    else:  # uniform
        rng = check_random_state(random_state)
        X, y = rng.uniform(-10.0, 10.0, size=(n_samples, n_features)), None

    info = GENERATED[kind]
    n_groups = {"moons": 2, "circles": 2}.get(kind, centers)
    return Dataset(
        name=kind,
        title=info.title,
        description=info.description,
        X=np.ascontiguousarray(X, dtype=np.float64),
        feature_names=tuple(f"x{j + 1}" for j in range(X.shape[1])),
        labels=None if y is None else np.asarray(y, dtype=np.int64),
        label_names=None if y is None else tuple(f"group {g}" for g in range(n_groups)),
        kmeans_note=info.kmeans_note,
        suggested_k=n_groups,
    )


# --------------------------------------------------------------------------------------------
# scikit-learn samples (bundled with the package: load_*, never fetch_*, so nothing downloads)
# --------------------------------------------------------------------------------------------

_SAMPLE_LOADERS: Mapping[str, Callable[[], object]] = MappingProxyType(
    {
        "iris": skdatasets.load_iris,
        "wine": skdatasets.load_wine,
        "breast_cancer": skdatasets.load_breast_cancer,
        "digits": skdatasets.load_digits,
    }
)

SAMPLES: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "iris": DatasetInfo(
            "iris",
            "Iris flowers",
            "150 flowers, 4 measurements in cm, 3 species.",
            "Setosa stands apart; versicolor and virginica overlap, so K-means mixes them.",
        ),
        "wine": DatasetInfo(
            "wine",
            "Wines",
            "178 wines, 13 chemical measurements, 3 cultivars.",
            "The features have very different scales (proline is in the hundreds), so without "
            "standardising K-means clusters on proline alone.",
        ),
        "breast_cancer": DatasetInfo(
            "breast_cancer",
            "Breast cancer",
            "569 tumour samples, 30 measurements of cell nuclei, benign or malignant.",
            "Two overlapping classes in 30 dimensions on very different scales: standardise "
            "first, and expect the clusters to match the diagnosis only roughly.",
        ),
        "digits": DatasetInfo(
            "digits",
            "Handwritten digits",
            "1,797 images of digits 0-9, 8x8 pixels (64 features, values 0-16).",
            "Ten groups in 64 dimensions: K-means finds some digits cleanly and confuses "
            "look-alikes such as 1, 7 and 9.",
        ),
    }
)


def load_sample(name: str) -> Dataset:
    """Load a real data set that ships inside scikit-learn (no download).

    Parameters
    ----------
    name : {"iris", "wine", "breast_cancer", "digits"}
        Key in ``SAMPLES``.

    Returns
    -------
    Dataset
        With the true classes as ``labels`` and their names as ``label_names``.

    Raises
    ------
    ValueError
        If ``name`` is not in ``SAMPLES``.

    Examples
    --------
    >>> iris = load_sample("iris")
    >>> iris.X.shape, iris.label_names
    ((150, 4), ('setosa', 'versicolor', 'virginica'))
    """
    if name not in _SAMPLE_LOADERS:
        raise ValueError(f"name={name!r} is not one of {sorted(_SAMPLE_LOADERS)}.")
    bunch = _SAMPLE_LOADERS[name]()
    info = SAMPLES[name]
    label_names = tuple(str(t) for t in bunch.target_names)
    return Dataset(
        name=name,
        title=info.title,
        description=info.description,
        X=np.ascontiguousarray(bunch.data, dtype=np.float64),
        feature_names=tuple(str(f) for f in bunch.feature_names),
        labels=np.asarray(bunch.target, dtype=np.int64),
        label_names=label_names,
        kmeans_note=info.kmeans_note,
        suggested_k=len(label_names),
    )


# --------------------------------------------------------------------------------------------
# CSV upload
# --------------------------------------------------------------------------------------------

# Magic numbers of files people rename to .csv, and what to tell them.
_XLSX_HINT = "In Excel or LibreOffice use File > Save As > CSV, then upload that file."
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel spreadsheet (.xls), not a CSV file"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"\x89PNG", "a PNG image, not a CSV file"),
    (b"\xff\xd8\xff", "a JPEG image, not a CSV file"),
    (b"GIF8", "a GIF image, not a CSV file"),
    (b"\x1f\x8b", "a gzip-compressed file, not a CSV file"),
    (b"BZh", "a bzip2-compressed file, not a CSV file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive, not a CSV file"),
    (b"Rar!", "a RAR archive, not a CSV file"),
    (b"PAR1", "a Parquet file, not a CSV file"),
    (b"SQLite format 3\x00", "an SQLite database, not a CSV file"),
)
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SEPARATORS = ("\t", ";", ",")  # priority when several fit: "1,5;2,7" is ';' with decimal ','
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_SAMPLE_CHARS = 64 * 1024
_SAMPLE_CHARS_MAX = 8 * 1024 * 1024  # a wide header may need more than 64 KiB to see 3 lines
_NUMBER = {
    ".": re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.I),
    ",": re.compile(r"[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.I),
}
_DECIMAL_COMMA = re.compile(r"[+-]?(\d+,\d*|,\d+)([eE][+-]?\d+)?")
_DECIMAL_POINT = re.compile(r"[+-]?(\d+\.\d*|\.\d+)([eE][+-]?\d+)?")
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_CONTROL = frozenset(range(0x00, 0x09)) | frozenset(range(0x0E, 0x20)) | {0x7F}
_FIX_CSV = "Save the table as CSV (UTF-8) with one row per line and try again."


def read_csv_bytes(
    data: bytes,
    *,
    filename: str = "",
    max_rows: int = MAX_ROWS,
    sample_rows: bool = False,
    random_state: int | None = 0,
) -> CsvTable:
    """Read an uploaded CSV file, working out its encoding, separator, decimal and header.

    Accepted: UTF-8 with or without BOM, UTF-16 (LE or BE, with BOM, or recognised without);
    comma, semicolon or tab separated; decimal point or decimal comma (with ``;`` or tab
    separators); with or without a header row. A header is assumed when some column has a
    non-number on the first row and numbers below it; otherwise the columns are named
    ``"column 1"``, ``"column 2"``, ... Rows shorter than the header are padded with missing
    values (dropped later by :func:`prepare_features`); longer rows are an error.

    Parameters
    ----------
    data : bytes
        The file's content.
    filename : str, default=""
        The uploaded name, used only in messages (as plain text).
    max_rows : int, default=MAX_ROWS
        Most data rows accepted. Without ``sample_rows`` only ``max_rows + 1`` rows are parsed,
        so an oversized file is refused without being read whole.
    sample_rows : bool, default=False
        If the file has more than ``max_rows`` rows, keep a uniform random sample of
        ``max_rows`` of them (in file order) instead of refusing it.
    random_state : int or None, default=0
        Seed of that sample.

    Returns
    -------
    CsvTable
        The DataFrame and how it was read.

    Raises
    ------
    DataError
        Empty file, header only, one row, binary or spreadsheet or archive, undecodable bytes,
        ragged rows (with the line number), more than ``MAX_COLUMNS`` columns, no numeric
        column, or more than ``max_rows`` rows without ``sample_rows``.

    Examples
    --------
    >>> t = read_csv_bytes(b"1\\t2\\n3\\t4\\n")
    >>> t.separator == "\\t", t.has_header, list(t.frame.columns)
    (True, False, ['column 1', 'column 2'])
    """
    _check_int("max_rows", max_rows, 2, 10**9)
    the_file = f'The file "{_shown(filename)}"' if filename else "The file"
    data = bytes(data)
    encoding, payload = _decode(data, the_file)
    text_sample, truncated = _sample_text(payload)
    if not text_sample.strip():
        raise DataError(
            f"{the_file} contains no data, only blank lines. Choose a CSV file with a header "
            "row and at least two rows of numbers."
        )
    separator, rows = _sniff_separator(text_sample, truncated)
    if not rows:
        raise DataError(
            f"{the_file} could not be split into rows and columns (a cell is extremely long, "
            f"or a quote is never closed). {_FIX_CSV}"
        )
    n_columns = len(rows[0][1]) if rows else 1
    if n_columns > MAX_COLUMNS:
        raise DataError(
            f"{the_file} has {n_columns:,} columns; the limit is {MAX_COLUMNS:,}. Keep only the "
            "columns you want to cluster and upload again."
        )
    decimal = _sniff_decimal(rows, separator)
    has_header, names = _sniff_header(rows, decimal, the_file, n_columns)
    frame = _parse(payload, separator, decimal, has_header, names, max_rows, sample_rows, the_file)

    n_rows_in_file = len(frame)
    notes: list[str] = []
    if not has_header:
        notes.append(
            "The first row holds only numbers, so it was read as data and the columns are "
            'named "column 1", "column 2", ...'
        )
    sampled = False
    if n_rows_in_file > max_rows:
        if not sample_rows:
            raise DataError(
                f"{the_file} has more than {max_rows:,} rows, the most this page accepts. "
                f"Use a random sample of {max_rows:,} rows, or upload a shorter file."
            )
        keep = check_random_state(random_state).choice(n_rows_in_file, max_rows, replace=False)
        frame = frame.iloc[np.sort(keep)]
        sampled = True
        notes.append(
            f"The file has {n_rows_in_file:,} rows; a random sample of {max_rows:,} of them "
            "is used."
        )
    if len(frame) == 1:
        raise DataError(
            f"{the_file} has only one row of data. Clustering needs at least two rows "
            "(and at least K); upload a file with more rows."
        )
    if not numeric_columns(frame):
        shown = ", ".join(f'"{_shown(c, 30)}"' for c in list(frame.columns)[:5])
        more = ", ..." if frame.shape[1] > 5 else ""
        raise DataError(
            f"{the_file} has no column of numbers (columns: {shown}{more}). K-means needs "
            "numeric columns; check that numbers use a decimal point or comma and no units "
            "or text in the cells."
        )
    return CsvTable(
        frame=frame,
        filename=filename,
        encoding=encoding,
        separator=separator,
        decimal=decimal,
        has_header=has_header,
        n_rows_in_file=n_rows_in_file,
        sampled=sampled,
        notes=tuple(notes),
    )


def _decode(data: bytes, the_file: str) -> tuple[str, bytes]:
    """Return (encoding name, UTF-8 bytes without BOM); refuse binaries and bad bytes."""
    if not data:
        raise DataError(
            f"{the_file} is empty (0 bytes). Choose a CSV file with a header row and at least "
            "two rows of numbers."
        )
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        head = data[:4096] + data[-65536:]  # entry names sit in local headers and the directory
        if b"xl/" in head or b"[Content_Types].xml" in head:
            what = "an Excel workbook (.xlsx) renamed or saved with the wrong extension"
        elif b"opendocument.spreadsheet" in head:
            what = "a LibreOffice spreadsheet (.ods)"
        else:
            raise DataError(
                f"{the_file} is a zip archive, not a CSV file. Unzip it and upload the CSV "
                "file inside."
            )
        raise DataError(f"{the_file} is {what}, not a CSV file. {_XLSX_HINT}")
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            hint = _XLSX_HINT if "Excel" in what else "Upload a CSV text file instead."
            raise DataError(f"{the_file} is {what}. {hint}")

    encoding = "utf-8"
    body = data
    for bom, name in _BOMS:
        if data.startswith(bom):
            encoding, body = name, data[len(bom) :]
            break
    else:
        encoding = _utf16_without_bom(data) or "utf-8"
    if encoding.startswith("utf-16"):
        try:
            return encoding, body.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{the_file} looks like UTF-16 text but has bytes that are not valid UTF-16 "
                f"(at byte {exc.start + len(data) - len(body):,}). {_FIX_CSV}"
            ) from None

    head = body[:8192]
    if b"\x00" in head or sum(b in _CONTROL for b in head) > max(2, len(head) // 20):
        raise DataError(
            f"{the_file} is not a text file (it contains binary data). Upload a CSV file: "
            "plain text with one row of values per line."
        )
    bad = _first_invalid_utf8(body)
    if bad is not None:
        line = body.count(b"\n", 0, bad) + 1
        raise DataError(
            f"{the_file} has bytes that are not valid UTF-8 on line {line:,} (byte "
            f"{bad + len(data) - len(body):,}). It was probably saved in an older encoding; "
            "save it again as CSV UTF-8 (in Excel: File > Save As > CSV UTF-8) and upload that."
        )
    if b"\x00" in body:
        raise DataError(
            f"{the_file} is not a text file (it contains NUL bytes). Upload a CSV file: plain "
            "text with one row of values per line."
        )
    return encoding, body


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess UTF-16 without BOM from NULs in every other byte (ASCII text in UTF-16)."""
    head = data[:4096]
    half = len(head) // 2
    if half < 2:
        return None
    even_nul = head[0 : 2 * half : 2].count(0) / half
    odd_nul = head[1 : 2 * half : 2].count(0) / half
    if odd_nul > 0.4 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.4 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def _first_invalid_utf8(body: bytes) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None; decodes 1 MiB at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    chunk = 1 << 20
    for start in range(0, len(body) + 1, chunk):
        pending = len(decoder.getstate()[0])  # bytes of a character cut by the last chunk
        try:
            decoder.decode(view[start : start + chunk], final=start + chunk >= len(body))
        except UnicodeDecodeError as exc:
            return start - pending + exc.start
    return None


def _sample_text(payload: bytes) -> tuple[str, bool]:
    """Decoded head of the file with at least 3 whole lines when possible; (text, truncated)."""
    end = _SAMPLE_CHARS
    while end < len(payload) and payload.count(b"\n", 0, end) < 3 and end < _SAMPLE_CHARS_MAX:
        end *= 2
    head = payload[:end]
    truncated = end < len(payload)
    if truncated and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # drop the partial last line
    return head.decode("utf-8", errors="ignore"), truncated


def _split_rows(text: str, separator: str) -> list[tuple[int, list[str]]] | None:
    """Non-blank rows of ``text`` as (line number, fields); None if csv cannot split it."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, skipinitialspace=True)
    rows = []
    try:
        line = 1
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((line, fields))
            line = reader.line_num + 1
    except csv.Error:
        return None
    return rows


def _sniff_separator(text: str, truncated: bool) -> tuple[str, list[tuple[int, list[str]]]]:
    """Pick the separator that splits the most rows into the same number of fields.

    csv.Sniffer guesses ',' for "1,5;2,7" (decimal comma). Counting rows of the modal
    width, with ties going to tab, then semicolon, then comma, gets that right - and a
    wrong separator that swallows the file into one quoted field (a header such as
    ``"x","y;"`` split on ';') scores one row, not all of them.
    """
    best: tuple[int, str, list[tuple[int, list[str]]]] | None = None
    fallback: list[tuple[int, list[str]]] | None = None
    for separator in _SEPARATORS:
        rows = _split_rows(text, separator)
        if rows is None:
            continue
        if separator == ",":
            fallback = rows
        if truncated and len(rows) > 1:
            rows = rows[:-1]  # the last row may be cut mid-quote
        counts = [len(f) for _, f in rows]
        if not counts:
            continue
        width = max(set(counts), key=counts.count)  # modal field count
        if width < 2:
            continue
        consistent = counts.count(width)
        if best is None or consistent > best[0]:  # strict: earlier separators win ties
            best = (consistent, separator, rows)
    if best is not None:
        return best[1], best[2]
    return ",", fallback or []


def _sniff_decimal(rows: list[tuple[int, list[str]]], separator: str) -> str:
    """',' when the sample's numbers mostly use a decimal comma (never with ',' separators)."""
    if separator == ",":
        return "."
    commas = points = 0
    for _, fields in rows[:200]:
        for field in fields:
            f = field.strip()
            commas += bool(_DECIMAL_COMMA.fullmatch(f))
            points += bool(_DECIMAL_POINT.fullmatch(f))
    return "," if commas > points else "."


def _sniff_header(
    rows: list[tuple[int, list[str]]], decimal: str, the_file: str, n_columns: int
) -> tuple[bool, list[str]]:
    """Decide whether the first row is a header; return (has_header, column names).

    Like csv.Sniffer.has_header: a header has some column whose first cell is not a number
    while the cells below it are. In a table with no numbers at all, a first row of only
    words is taken as a header (so the "no numeric column" message names the real columns).
    """
    number = _NUMBER[decimal]

    def kind(cell: str) -> str:
        cell = cell.strip()
        return "empty" if not cell else ("number" if number.fullmatch(cell) else "text")

    first = rows[0][1] if rows else []
    first_kinds = [kind(c) for c in first]
    if len(rows) <= 1:
        if "text" in first_kinds:
            raise DataError(
                f"{the_file} has a header row but no data rows. Add rows of numbers below the "
                "column names."
            )
        raise DataError(
            f"{the_file} has only one row of data. Clustering needs at least two rows (and at "
            "least K); upload a file with more rows."
        )
    for line, fields in rows[1:]:
        if len(fields) > n_columns:
            raise _ragged(the_file, line, n_columns, len(fields))

    has_header = False
    for j, first_kind in enumerate(first_kinds):
        if first_kind != "text":
            continue
        below = [kind(f[j]) for _, f in rows[1:] if j < len(f)]
        numbers = below.count("number")
        if numbers and numbers >= below.count("text"):
            has_header = True
            break
    if not has_header and first_kinds and all(k == "text" for k in first_kinds):
        # No column of numbers to tell by: a first row of nothing but words is a header.
        below = [kind(c) for _, f in rows[1:] for c in f]
        has_header = below.count("number") == 0
    if not has_header:
        return False, [f"column {j + 1}" for j in range(n_columns)]

    names: list[str] = []
    seen: set[str] = set()
    for j, raw in enumerate(first):
        name = raw.strip() or f"column {j + 1}"
        base, k = name, 2
        while name in seen:
            name, k = f"{base} ({k})", k + 1
        seen.add(name)
        names.append(name)
    return True, names


def _ragged(the_file: str, line: int, expected: int, saw: int) -> DataError:
    return DataError(
        f"{the_file} has rows of different lengths: line {line:,} has {saw} values but the "
        f"first row has {expected}. Check that line for an extra separator or an unquoted "
        f"text with a separator in it. {_FIX_CSV}"
    )


def _parse(
    payload: bytes,
    separator: str,
    decimal: str,
    has_header: bool,
    names: list[str],
    max_rows: int,
    sample_rows: bool,
    the_file: str,
) -> pd.DataFrame:
    """Run pandas' C parser over the whole payload and map its errors to DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(
                io.BytesIO(payload),
                sep=separator,
                decimal=decimal,
                header=0 if has_header else None,
                names=names,
                index_col=False,
                skipinitialspace=True,
                skip_blank_lines=True,
                encoding="utf-8",
                engine="c",
                nrows=None if sample_rows else max_rows + 1,
            )
    except pd.errors.ParserError as exc:
        message = str(exc)
        if match := _RAGGED.search(message):
            expected, line, saw = (int(g) for g in match.groups())
            raise _ragged(the_file, line, expected, saw) from None
        if match := _OPEN_QUOTE.search(message):
            raise DataError(
                f'{the_file} has a quote (") that is never closed, starting on line '
                f"{int(match.group(1)) + 1:,}. Remove the stray quote or close it. {_FIX_CSV}"
            ) from None
        raise DataError(
            f"{the_file} could not be read as a table ({message.strip()}). {_FIX_CSV}"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{the_file} contains no data. Choose a CSV file with a header row and at least two "
            "rows of numbers."
        ) from None
    except (pd.errors.ParserWarning, ValueError, csv.Error, UnicodeError) as exc:
        raise DataError(f"{the_file} could not be read as a table ({exc}). {_FIX_CSV}") from None
    if frame.empty:
        raise DataError(
            f"{the_file} has a header row but no data rows. Add rows of numbers below the column "
            "names."
        )
    return frame


# --------------------------------------------------------------------------------------------
# From table to feature matrix
# --------------------------------------------------------------------------------------------


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
            raise DataError(f'There is no column "{_shown(name)}" in the table. Pick another.')
        if name not in numeric:
            raise DataError(
                f'Column "{_shown(name)}" does not hold numbers, so K-means cannot use it. '
                "Pick numeric columns only."
            )
    if len(set(columns)) != len(columns):
        raise DataError("A column is selected twice. Pick each column once.")
    if label_column is not None:
        if label_column not in frame.columns:
            raise DataError(f'There is no column "{_shown(label_column)}" to use as labels.')
        if label_column in columns:
            raise DataError(
                f'Column "{_shown(label_column)}" is chosen both as a feature and as the true '
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

    mean = scale = None
    if standardize:
        scaler = StandardScaler().fit(X)
        X = np.ascontiguousarray(scaler.transform(X), dtype=np.float64)
        mean, scale = scaler.mean_, scaler.scale_

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
        mean=mean,
        scale=scale,
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


# --------------------------------------------------------------------------------------------
# Cache key and export
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


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _shown(text: object, limit: int = 60) -> str:
    """User text for a message: one line, control characters replaced, long text cut."""
    s = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip()
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} should be an int, got {type(value).__name__}.")
    if not low <= value <= high:
        raise ValueError(f"{name}={value} should be between {low:,} and {high:,}.")


def _check_float(name: str, value: object, low: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} should be a number, got {type(value).__name__}.")
    if not (np.isfinite(value) and value >= low):
        raise ValueError(f"{name}={value} should be a finite number >= {low}.")
