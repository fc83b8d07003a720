"""Hypothesis strategies shared by the property tests: valid inputs, mixed with anything.

A property ("every label is a nearest centroid", "the table reads back its numbers") is only
tested by the examples that reach it. Drawing from "any array" or "any bytes" alone almost
never does (0-2 valid inputs in 120-300, found in issue 18), so each property test draws
mostly from a strategy of valid inputs and sometimes from anything, for the error paths, and
records which with ``hypothesis.event`` (``pytest --hypothesis-show-statistics`` shows the mix).
"""

from __future__ import annotations

import numpy as np
from hypothesis import event
from hypothesis import strategies as st

__all__ = ["VALID", "ANYTHING", "csv_files", "mostly_valid", "record"]

VALID, ANYTHING = "valid", "anything"


def mostly_valid(valid: st.SearchStrategy, anything: st.SearchStrategy) -> st.SearchStrategy:
    """``(VALID, x)`` with x from ``valid`` three draws in four, else ``(ANYTHING, x)``.

    The origin is two coin flips, anything only when both are heads: Hypothesis draws a
    boolean fairly, whereas its integers (and so ``sampled_from``/``one_of`` indices) lean to
    the ends of their range. Shrinking turns the coins to tails, so a failing valid input
    stays valid.
    """
    origin = st.tuples(st.booleans(), st.booleans()).map(
        lambda coins: ANYTHING if all(coins) else VALID
    )
    return origin.flatmap(
        lambda origin: (valid if origin == VALID else anything).map(lambda x: (origin, x))
    )


def record(origin: str, outcome: str) -> None:
    """One ``event`` per example: where its input came from and what became of it."""
    event(f"{origin}: {outcome}")


# Separators and decimal marks engine.data.read_csv_bytes accepts (a decimal comma only
# with ';' or tab separators), and the encodings it decodes.
CSV_DIALECTS = ((",", "."), (";", "."), ("\t", "."), (";", ","), ("\t", ","))
CSV_ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be")


def _cell(value: float, decimal: str) -> str:
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return text.replace(".", decimal)


@st.composite
def csv_files(draw, *, distinct_rows: bool = False, max_rows: int = 15, max_columns: int = 4):
    """``(content, numbers, has_header)``: a CSV file of 2 to ``max_rows`` rows of numbers in
    any supported dialect and encoding, and the (n_rows, n_columns) float64 array it holds."""
    n_columns = draw(st.integers(1, max_columns), label="n_columns")
    separator, decimal = draw(st.sampled_from(CSV_DIALECTS), label="dialect")
    if n_columns == 1 and decimal == ",":
        decimal = "."  # "1,5" alone on a line is two comma-separated integers: ambiguous
    values = draw(
        st.lists(
            st.lists(
                st.one_of(
                    st.integers(-(10**6), 10**6).map(float),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
                ),
                min_size=n_columns,
                max_size=n_columns,
            ),
            min_size=2,
            max_size=max_rows,
            unique_by=tuple if distinct_rows else None,
        ),
        label="values",
    )
    has_header = draw(st.booleans(), label="has_header")
    lines = [separator.join(_cell(v, decimal) for v in row) for row in values]
    if has_header:
        lines.insert(0, separator.join(f"x{j + 1}" for j in range(n_columns)))
    newline = draw(st.sampled_from(["\n", "\r\n"]), label="newline")
    text = newline.join(lines) + (newline if draw(st.booleans(), label="final_newline") else "")
    encoding = draw(st.sampled_from(CSV_ENCODINGS), label="encoding")
    numbers = np.array(values, dtype=np.float64).reshape(len(values), n_columns)
    return text.encode(encoding), numbers, has_header
