"""Checks of scalar arguments, shared by every lab: one wording for one mistake.

Validation happens once, at the boundary of a public function (scikit-learn's habit), and the
message names the parameter, the value and the rule: ``n_clusters=0 should be >= 1.``
Private to the engine: labs and ``engine.data`` import it; a notebook user never needs it.

Examples
--------
>>> check_int("n_clusters", 3, 1)
>>> check_int("n_samples", 0, 1, 1_000_000)
Traceback (most recent call last):
...
ValueError: n_samples=0 should be between 1 and 1,000,000.
>>> check_float("noise", float("nan"), 0.0)
Traceback (most recent call last):
...
ValueError: noise=nan should be a finite number >= 0.0.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["check_float", "check_int"]


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """Raise unless ``value`` is an integer (a bool is not) in ``low..high`` (no upper end
    when ``high`` is None): TypeError for the wrong type, ValueError for out of range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__}).")
    if high is None:
        if value < low:
            raise ValueError(f"{name}={value} should be >= {low}.")
    elif not low <= value <= high:
        raise ValueError(f"{name}={value} should be between {low:,} and {high:,}.")


def check_float(name: str, value: object, low: float) -> None:
    """Raise unless ``value`` is a finite real number (a bool is not) with ``value >= low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__}).")
    if not (math.isfinite(value) and value >= low):
        raise ValueError(f"{name}={value} should be a finite number >= {low}.")
