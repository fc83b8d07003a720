"""Reading an uploaded CSV file: encoding, separator, decimal mark and header, worked out.

One cohesive job, which is why this module is longer than the others: students upload what
their spreadsheet wrote, so :func:`read_csv_bytes` recognises files that are not CSV at all
(spreadsheets, archives, images), decodes UTF-8 and UTF-16 with or without a BOM, sniffs the
separator, the decimal comma and the header row from a sample, then lets pandas' C parser
read the whole file and maps each of its errors to a :class:`~engine.data.errors.DataError`
that names the line to fix. The sniffers are small private functions in the order they run.
Pure Python, pandas and numpy; never streamlit or plotly.

Examples
--------
>>> table = read_csv_bytes(b"x;y\\n1,5;2,0\\n3,0;4,5\\n", filename="points.csv")
>>> table.separator, table.decimal, list(table.frame.columns)
(';', ',', ['x', 'y'])
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from engine._checks import check_int
from engine.data.dataset import MAX_COLUMNS, MAX_ROWS
from engine.data.errors import DataError, one_line
from engine.data.features import numeric_columns

__all__ = ["CsvTable", "read_csv_bytes"]

# eq=False: the fields hold arrays and frames, whose == is element-wise, so the generated
# __eq__ would raise. Instances compare by identity; compare fields explicitly.



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
    check_int("max_rows", max_rows, 2, 10**9)
    the_file = f'The file "{one_line(filename)}"' if filename else "The file"
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
        shown = ", ".join(f'"{one_line(c, 30)}"' for c in list(frame.columns)[:5])
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
