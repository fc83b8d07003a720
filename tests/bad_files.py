"""Malformed, hostile and awkward CSV uploads, shared by the unit tests and the browser tests.

``CASES`` maps a case name to ``(content, expected)``: the file's bytes and a substring of the
message the user must see, or ``None`` when the file is valid and must load. The message is the
one raised by :func:`load_for_page`, the same steps the K-means page runs on an upload
(read, keep all numeric columns, clean, check there are at least K points).

``CASES`` is a read-only mapping whose big entries are built on first access and then kept,
so importing this module is instant. ``upload_name(name)`` gives the file name to upload
each case under (a renamed workbook is still called ``.csv``).

Examples
--------
>>> content, expected = CASES["ragged"]
>>> expected
'line 3 has 3 values'
"""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from engine.data import (
    MAX_COLUMNS,
    MAX_ROWS,
    Features,
    check_enough_rows,
    numeric_columns,
    prepare_features,
    read_csv_bytes,
)

PAGE_K = 4
"""K the page starts with (the blobs default); the "fewer rows than K" case relies on it."""

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert('xss')</script>"


def load_for_page(content: bytes, *, filename: str = "upload.csv", k: int = PAGE_K) -> Features:
    """What the page does with an upload: read, all numeric columns, clean, at least K rows."""
    table = read_csv_bytes(content, filename=filename)
    features = prepare_features(table.frame, numeric_columns(table.frame))
    check_enough_rows(features.X, k)
    return features


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _xlsx() -> bytes:
    """The skeleton of an .xlsx workbook: a zip whose entries name the spreadsheet parts."""
    return _zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "xl/workbook.xml": b'<?xml version="1.0"?><workbook/>',
            "xl/worksheets/sheet1.xml": b'<?xml version="1.0"?><worksheet/>',
        }
    )


def _random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size=n, dtype=np.uint8).tobytes()


def _wide(n_columns: int) -> bytes:
    header = ",".join(f"c{j}" for j in range(n_columns))
    row = ",".join(str(j % 10) for j in range(n_columns))
    return f"{header}\n{row}\n{row}\n{row}\n".encode()


def _ragged_deep() -> bytes:
    """Ragged far past the reader's 64 KiB sample, so the pandas pass must catch it."""
    lines = ["x,y"] + [f"{i},{i % 7}" for i in range(1, 20_000)] + ["1,2,3"]
    return ("\n".join(lines) + "\n").encode()


def _many_rows() -> bytes:
    """MAX_ROWS + 2 data rows, 2 columns (about 8 MB)."""
    return b"x,y\n" + b"1,2\n3,5\n" * (MAX_ROWS // 2 + 1)


_GOOD_TABLE = "x,y\n1.5,2\n-3,4.25\n5,6\n7,8.5\n"
_GOOD_SEMICOLON = "x;y\n1,5;2\n-3;4,25\n5;6\n7;8,5\n"

# name -> (content or a function building it, expected message substring or None)
_SPEC: dict[str, tuple[bytes | Callable[[], bytes], str | None]] = {
    # Nothing to read
    "empty": (b"", "is empty (0 bytes)"),
    "blank_lines": (b"\n\r\n   \n\t\n", "only blank lines"),
    "bom_only": (codecs.BOM_UTF8, "only blank lines"),
    "header_only": (b"x,y,z\n", "header row but no data rows"),
    "header_only_blank_after": (b"x;y\n\n\n", "header row but no data rows"),
    "one_row": (b"x,y\n1,2\n", "only one row"),
    "one_row_no_header": (b"1,2,3\n", "only one row"),
    # Not text, or not a CSV
    "binary": (bytes(range(256)) * 8, "not a text file"),
    "random_bytes": (lambda: _random_bytes(4096, seed=1), "not a text file"),
    "nul_after_text": (b"x,y\n" + b"1,2\n" * 3000 + b"\x00\x00\x00\n", "NUL bytes"),
    "xlsx_renamed": (_xlsx, "Excel workbook (.xlsx)"),
    "xls_renamed": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "old Excel spreadsheet"),
    "zip_renamed": (lambda: _zip({"data.csv": _GOOD_TABLE.encode()}), "zip archive"),
    "gzip_renamed": (lambda: gzip.compress(_GOOD_TABLE.encode(), mtime=0), "gzip"),
    "pdf_renamed": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "PDF document"),
    "png_renamed": (b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
    "latin1": ("x;y\nrésumé;1\nété;2\n".encode("latin-1"), "not valid UTF-8 on line 2"),
    # Broken structure
    "ragged": (b"x,y\n1,2\n3,4,5\n6,7\n", "line 3 has 3 values"),
    "ragged_deep": (_ragged_deep, "line 20,001 has 3 values"),
    "ragged_first_row_wider": (b"x,y\n1,2,3\n4,5,6\n", "line 2 has 3 values"),
    "unclosed_quote": (b'x,y\n1,2\n3,"4\n5,6\n', "never closed, starting on line 3"),
    "too_many_columns": (lambda: _wide(10_000), f"the limit is {MAX_COLUMNS:,}"),
    "too_many_rows": (_many_rows, f"more than {MAX_ROWS:,} rows"),
    # Nothing numeric, nothing to cluster
    "no_numeric": (b"name,city\nann,paris\nbob,rome\ncy,oslo\n", "no column of numbers"),
    "booleans_only": (b"a,b\nTrue,False\nFalse,True\nTrue,True\n", "no column of numbers"),
    "units_in_cells": (b"length,mass\n3 cm,2 kg\n4 cm,5 kg\n", "no column of numbers"),
    "formula_only": (
        b"a,b\n=cmd|' /C calc'!A0,@SUM(A1)\n=1+1,+A1\n=2,-A2\n",
        "no column of numbers",
    ),
    "html_no_numeric": (
        f"{XSS_IMG},{XSS_SCRIPT}\n{XSS_SCRIPT},{XSS_IMG}\nb,c\n".encode(),
        "no column of numbers",
    ),
    "all_identical": (b"x,y\n1,1\n1,1\n1,1\n1,1\n1,1\n", "identical"),
    "all_nan_inf": (b"x,y\nnan,1\ninf,2\n3,-inf\n,4\n", "Every one of the 4 rows"),
    "one_row_left": (b"x,y\n1,2\nnan,3\n4,inf\n", "Only one row is left"),
    "huge_values": (b"x\n1e300\n-1e300\n0\n1\n", "too large"),
    "fewer_rows_than_k": (b"x,y\n1,2\n3,4\n5,7\n", "Lower K to 3"),
    # Valid files that must load (expected None)
    "good_comma": (_GOOD_TABLE.encode(), None),
    "good_semicolon_decimal_comma": (_GOOD_SEMICOLON.encode(), None),
    "good_tab_no_header": (b"1.5\t2\n-3\t4.25\n5\t6\n7\t8.5\n", None),
    "good_utf8_bom": (codecs.BOM_UTF8 + _GOOD_SEMICOLON.encode(), None),
    "good_utf16_le": (_GOOD_SEMICOLON.encode("utf-16"), None),
    "good_utf16_be": (codecs.BOM_UTF16_BE + _GOOD_TABLE.encode("utf-16-be"), None),
    "good_crlf": (_GOOD_TABLE.replace("\n", "\r\n").encode(), None),
    "nan_inf_some_rows": (b"x,y\n1,2\nnan,3\n4,inf\n5,6\n,7\n8,9\n10,11\n12,13\n", None),
    "formula_cells": (
        b"x,y,note\n1,2,=cmd|' /C calc'!A0\n3,4,@SUM(A1)\n5,6,+1-2\n7,8,-A1\n",
        None,
    ),
    "html_in_header": (f"{XSS_IMG},{XSS_SCRIPT}\n1,2\n3,4\n5,6\n7,9\n".encode(), None),
    "html_in_cells": (
        f"x,y,name\n1,2,{XSS_IMG}\n3,4,{XSS_SCRIPT}\n5,6,<b>bold</b>\n7,8,&amp;\n".encode(),
        None,
    ),
}

_UPLOAD_NAMES = {
    "xlsx_renamed": "grades.csv",
    "xls_renamed": "grades.csv",
    "zip_renamed": "data.csv",
    "gzip_renamed": "data.csv",
    "pdf_renamed": "report.csv",
    "png_renamed": "chart.csv",
}


def upload_name(name: str) -> str:
    """The file name to upload case ``name`` under (``<name>.csv`` unless it pretends)."""
    return _UPLOAD_NAMES.get(name, f"{name}.csv")


class _LazyCases(Mapping[str, tuple[bytes, str | None]]):
    """Read-only mapping that builds each case's bytes on first access and keeps them."""

    def __init__(self, spec: dict[str, tuple[bytes | Callable[[], bytes], str | None]]):
        self._spec = spec
        self._built: dict[str, bytes] = {}

    def __getitem__(self, name: str) -> tuple[bytes, str | None]:
        content, expected = self._spec[name]
        if callable(content):
            if name not in self._built:
                self._built[name] = content()
            content = self._built[name]
        return content, expected

    def __iter__(self) -> Iterator[str]:
        return iter(self._spec)

    def __len__(self) -> int:
        return len(self._spec)


CASES: Mapping[str, tuple[bytes, str | None]] = _LazyCases(_SPEC)
BAD = tuple(name for name, (_, expected) in _SPEC.items() if expected is not None)
"""Names of the cases that must be refused with a message."""
GOOD = tuple(name for name, (_, expected) in _SPEC.items() if expected is None)
"""Names of the cases that must load."""
