"""One parameter table per lab: it drives the lab's widgets, its URL parsing and its range checks.

A lab declares each setting once, as a :class:`Param` (name, URL key, label, default, kind,
range or choices, help). From that single row the page draws the widget with the same
bounds, reads a shared link's value with the same rule, and writes the value back into the
link. A value out of range can therefore never reach the engine from a link that the widget
itself would have refused.

>>> FIT = ParamTable("kmeans_", (Param("k", "k", "Clusters K", 4, int, low=1, high=30),))
>>> FIT.from_url({"k": ["99"]}).ignored
('k=99 (Clusters K must be between 1 and 30)',)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

_INT = re.compile(r"[+-]?\d{1,30}")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Param:
    """One setting of a lab.

    ``kind`` is ``int``, ``float``, ``str`` or ``bool``. Numbers have ``low``/``high``
    (inclusive) or a fixed tuple of ``choices``; strings always have ``choices``.
    ``url`` is the key in shared links (None: never in a link).
    """

    name: str
    url: str | None
    label: str
    default: Any
    kind: type
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    step: float | None = None
    format: str | None = None
    help: str | None = None
    format_func: Callable[[Any], str] | None = field(default=None, compare=False)

    def check(self, value: Any) -> Any:
        """``value`` if it obeys this row, else ValueError naming the setting and the rule."""
        if self.kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"{self.label} must be on or off")
            return value
        if self.choices is not None:
            if value not in self.choices:
                shown = ", ".join(self._show(c) for c in self.choices)
                raise ValueError(f"{self.label} must be one of {shown}")
            return value
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"{self.label} must be a whole number")
        if self.kind is float and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(f"{self.label} must be a finite number")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(
                f"{self.label} must be between {self._show(self.low)} and {self._show(self.high)}"
            )
        return value

    def parse(self, text: str) -> Any:
        """The value a link's text stands for, checked; ValueError says why it cannot be used."""
        text = text.strip()
        if self.kind is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(f"{self.label} must be 1 or 0")
        if self.kind is str:
            return self.check(text)
        if self.kind is int:
            if not _INT.fullmatch(text):
                raise ValueError(f"{self.label} must be a whole number")
            return self.check(int(text))
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{self.label} must be a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{self.label} must be a finite number")
        if self.choices is not None:
            # Choices written in a link lose digits ("0.0001" for 1e-4): match to the nearest.
            nearest = min(self.choices, key=lambda c: abs(c - number))
            if not math.isclose(nearest, number, rel_tol=1e-9, abs_tol=1e-300):
                return self.check(number)  # raises, naming the choices
            return nearest
        return self.check(number)

    def to_url(self, value: Any) -> str:
        if self.kind is bool:
            return "1" if value else "0"
        return str(value)

    def _show(self, value: Any) -> str:
        if self.format_func is not None:
            return self.format_func(value)
        if isinstance(value, float) and value.is_integer() and self.kind is int:
            return str(int(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)


@dataclass(frozen=True)
class UrlValues:
    """What a shared link said: the values that passed their row's check, and the rest."""

    values: dict[str, Any]
    ignored: tuple[str, ...]

    def notice(self) -> str | None:
        """One sentence naming every ignored value, or None when the link was clean."""
        if not self.ignored:
            return None
        return (
            "Some of this link's settings could not be used, so their defaults are shown: "
            + "; ".join(self.ignored)
            + "."
        )


@dataclass(frozen=True)
class ParamTable:
    """A lab's settings, keyed ``prefix + name`` in ``st.session_state``."""

    prefix: str
    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        urls = [p.url for p in self.params if p.url is not None]
        if len(set(names)) != len(names) or len(set(urls)) != len(urls):
            raise ValueError(f"duplicate names or URL keys in the {self.prefix!r} table")

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def __iter__(self):
        return iter(self.params)

    def key(self, name: str) -> str:
        return self.prefix + name

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    @property
    def url_keys(self) -> frozenset[str]:
        return frozenset(p.url for p in self.params if p.url is not None)

    def from_url(
        self, query: Mapping[str, Sequence[str]], *, known: Iterable[str] = ()
    ) -> UrlValues:
        """Read the link's values for this table: ``query`` maps each key to all its values.

        A value is kept only if its row accepts it; a repeated key is ignored (which one
        was meant?). Keys that belong to no table of the page (``known`` lists the other
        tables' keys) are named as ignored too.
        """
        values: dict[str, Any] = {}
        ignored: list[str] = []
        by_url = {p.url: p for p in self.params if p.url is not None}
        for key, texts in query.items():
            param = by_url.get(key)
            if param is None:
                if key not in known:
                    ignored.append(f"{_shown(key)} (not a setting of this page)")
                continue
            if len(texts) != 1:
                ignored.append(f"{_shown(key)} (given {len(texts)} times)")
                continue
            try:
                values[param.name] = param.parse(texts[0])
            except ValueError as exc:
                ignored.append(f"{_shown(key)}={_shown(texts[0])} ({exc})")
        return UrlValues(values, tuple(ignored))

    def to_url(self, values: Mapping[str, Any]) -> dict[str, str]:
        return {p.url: p.to_url(values[p.name]) for p in self.params if p.url and p.name in values}

    def widget(self, name: str, container: Any = st, **kwargs: Any) -> Any:
        """Draw the widget of row ``name`` in ``container``, bounded by the row's rule."""
        p = self[name]
        common = dict(key=self.key(name), help=p.help) | kwargs
        if p.kind is bool:
            return container.toggle(p.label, **common)
        if p.choices is not None:
            if p.kind is str:
                return container.selectbox(
                    p.label, p.choices, format_func=p.format_func or str, **common
                )
            return container.select_slider(
                p.label, p.choices, format_func=p.format_func or str, **common
            )
        number = dict(min_value=p.low, max_value=p.high, step=p.step, format=p.format)
        if p.kind is int:
            number = {k: (None if v is None else int(v)) if k != "format" else v
                      for k, v in number.items()}  # fmt: skip
        return container.number_input(
            p.label, **{k: v for k, v in number.items() if v is not None}, **common
        )


def query_lists(query_params: Any) -> dict[str, list[str]]:
    """``st.query_params`` (or AppTest's) as key → every value given for it."""
    get_all = getattr(query_params, "get_all", None)
    return {
        key: list(get_all(key)) if get_all else [str(query_params[key])] for key in query_params
    }


def _shown(text: str, limit: int = 40) -> str:
    """A link's text for a notice: bounded, so a 10 kB value cannot fill the page."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
