"""Data in and out, shared by every lab: the one place points come from and results go to.

Three ways in, one type out: every lab works on a :class:`Dataset` (``dataset``).
:func:`make_dataset` and :func:`load_sample` (``catalog``) make one; an upload goes through
:func:`read_csv_bytes` (``csv_reader``: bytes -> :class:`CsvTable`), :func:`prepare_features`
(``features``: chosen columns -> :class:`Features`) and :meth:`Dataset.from_upload`.
:func:`standardize` is the Lab's one standardisation, its mean and scale recorded. Every
download goes out through :func:`to_csv_bytes` (``export``), which defuses spreadsheet
formulas. Everything a user can get wrong raises :class:`DataError` (``errors``), whose
message says what to do next. Pure computation: never streamlit or plotly.

Examples
--------
>>> ds = make_dataset("blobs")
>>> ds.X.shape, ds.suggested_k
((300, 2), 4)
"""

from engine.data.catalog import GENERATED, SAMPLES, DatasetInfo, load_sample, make_dataset
from engine.data.csv_reader import CsvTable, read_csv_bytes
from engine.data.dataset import (
    MAX_COLUMNS,
    MAX_ROWS,
    Dataset,
    Standardization,
    content_digest,
    standardize,
)
from engine.data.errors import DataError
from engine.data.export import labelled_rows, to_csv_bytes
from engine.data.features import (
    MAX_ABS_VALUE,
    MAX_LABEL_CLASSES,
    Features,
    check_enough_rows,
    label_columns,
    numeric_columns,
    prepare_features,
)

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
    "Standardization",
    "check_enough_rows",
    "content_digest",
    "label_columns",
    "labelled_rows",
    "load_sample",
    "make_dataset",
    "numeric_columns",
    "prepare_features",
    "read_csv_bytes",
    "standardize",
    "to_csv_bytes",
]
